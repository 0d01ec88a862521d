package rules

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
	"go.yaml.in/yaml/v3"
)

func dbgCatalog(t *testing.T) *task.Catalog {
	data, _ := os.ReadFile("../testdata/catalog.yaml")
	var doc struct{ Capabilities []task.Capability }
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	cat, err := task.BuiltinCatalog().With(doc.Capabilities...)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func TestDebug(t *testing.T) {
	f := os.Getenv("DBG")
	if f == "" {
		t.Skip()
	}
	p, err := New(dbgCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(f)
	for _, in := range strings.Split(string(data), "\n%%\n") {
		in = strings.TrimSpace(in)
		if in == "" {
			continue
		}
		fmt.Printf("=== %s\n", in)
		r := p.parseRequest(in)
		for _, pl := range r.payloads {
			fmt.Printf("  payload %q typ=%s shared=%v\n", pl.text, pl.typ, pl.shared)
		}
		fmt.Printf("  instr=%q\n", r.masked[:r.end])
		toks := tokenize(r.masked[:r.end], nil)
		for _, fr := range split(r.masked[:r.end]) {
			sc := p.ix.score(tokensIn(toks, fr.start, fr.end), keepAll, nil)
			type cs struct {
				n string
				s float32
			}
			var top []cs
			for i, s := range sc {
				top = append(top, cs{p.ix.caps[i].Name, s})
			}
			for i := range top {
				for j := i + 1; j < len(top); j++ {
					if top[j].s > top[i].s {
						top[i], top[j] = top[j], top[i]
					}
				}
			}
			fmt.Printf("  frag %q seq=%v hard=%v top=%v\n", r.masked[fr.start:fr.end], fr.seq, fr.hard, top[:3])
		}
		for _, s := range p.steps(r) {
			fmt.Printf("  step %q cap=%s score=%.2f refs=%v\n", r.text[s.start:s.end], p.ix.caps[s.capability].Name, s.score, s.refs)
		}
		plan, err := p.Plan(context.Background(), task.Request{Input: in})
		if err != nil {
			fmt.Println("  ERR", err)
			continue
		}
		b, _ := task.CanonicalJSON(plan)
		fmt.Printf("  %s\n", b)
	}
}
