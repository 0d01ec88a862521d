package planner

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// A scored case is a request and the steps a careful planner gives it:
// the capability of each step and the steps it takes the results of. The
// files of testdata/f1 hold them as
//
//	> the request, on one line
//	= capability; capability<1; capability<1,2
//
// where <1,2 lists the 1-based steps a step depends on, and a|b accepts
// either capability where the catalog itself allows both. Lines starting
// with # are comments.
type scoredCase struct {
	line    int
	request string
	nodes   []string
	edges   [][2]string // capability pairs, from -> to
}

// readScored reads the scored cases of a file of testdata/f1.
func readScored(t *testing.T, file string) []scoredCase {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []scoredCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "> "):
			out = append(out, scoredCase{line: n, request: line[2:]})
		case strings.HasPrefix(line, "= "):
			if len(out) == 0 || out[len(out)-1].nodes != nil {
				t.Fatalf("%s:%d: a plan line with no request before it", file, n)
			}
			c := &out[len(out)-1]
			c.nodes, c.edges = parseScoredPlan(t, fmt.Sprintf("%s:%d", file, n), line[2:])
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			t.Fatalf("%s:%d: want a line starting with '> ', '= ' or '#'", file, n)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func parseScoredPlan(t *testing.T, where, text string) ([]string, [][2]string) {
	t.Helper()
	var nodes []string
	var edges [][2]string
	for i, item := range strings.Split(text, ";") {
		name, deps, _ := strings.Cut(strings.TrimSpace(item), "<")
		nodes = append(nodes, name)
		if deps == "" {
			continue
		}
		for _, d := range strings.Split(deps, ",") {
			k, err := strconv.Atoi(strings.TrimSpace(d))
			if err != nil || k < 1 || k > i {
				t.Fatalf("%s: step %d depends on %q, which is no earlier step", where, i+1, d)
			}
			edges = append(edges, [2]string{nodes[k-1], name})
		}
	}
	return nodes, edges
}

// f1Count accumulates true positives, and the sizes of the predicted and
// expected sets, over many cases: micro-averaged F1.
type f1Count struct{ tp, predicted, expected int }

func (c *f1Count) add(predicted, expected []string) {
	left := slices.Clone(expected)
	for _, p := range predicted {
		if k := slices.IndexFunc(left, func(e string) bool { return matches(p, e) }); k >= 0 {
			left = slices.Delete(left, k, k+1)
			c.tp++
		}
	}
	c.predicted += len(predicted)
	c.expected += len(expected)
}

// matches reports whether a predicted node or edge is the expected one,
// where "calc|reason" accepts either capability.
func matches(predicted, expected string) bool {
	p, e := strings.Split(predicted, " -> "), strings.Split(expected, " -> ")
	if len(p) != len(e) {
		return false
	}
	for i := range p {
		if !slices.Contains(strings.Split(e[i], "|"), p[i]) {
			return false
		}
	}
	return true
}

func (c f1Count) f1() float64 {
	if c.predicted+c.expected == 0 {
		return 1
	}
	return 2 * float64(c.tp) / float64(c.predicted+c.expected)
}

// planGraph returns a plan's nodes (capabilities) and edges (capability
// pairs along its dependencies).
func planGraph(plan task.Plan) (nodes, edges []string) {
	byID := map[string]string{}
	for _, s := range plan.Tasks {
		byID[s.ID] = s.Capability
		nodes = append(nodes, s.Capability)
	}
	for _, s := range plan.Tasks {
		for _, d := range s.Deps {
			edges = append(edges, byID[d]+" -> "+s.Capability)
		}
	}
	return nodes, edges
}

// scoredSuite is one catalog and the requests scored over it, with the
// node and edge F1 it must reach.
type scoredSuite struct {
	name    string
	catalog func(t testing.TB) *task.Catalog
	minNode float64
	minEdge float64
	// multiStepOnly scores only requests of two or more expected steps;
	// the others must then be planned exactly.
	multiStepOnly bool
}

// userCatalog is a catalog of testdata/catalogs alone, without the
// built-in entries: what --catalog-only plans over.
func userCatalog(name string) func(t testing.TB) *task.Catalog {
	return func(t testing.TB) *task.Catalog {
		t.Helper()
		caps, err := LoadCatalogFile(filepath.Join("testdata", "catalogs", name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		cat, err := task.NewCatalog(caps...)
		if err != nil {
			t.Fatal(err)
		}
		return cat
	}
}

// TestPlanF1 scores the rules planner's plans against the expected steps
// of testdata/f1, by node F1 (capabilities) and edge F1 (dependencies
// between capabilities), and holds each suite to its floor. Run with -v
// to print the figures.
func TestPlanF1(t *testing.T) {
	suites := []scoredSuite{
		{name: "builtin", catalog: testCatalog, minNode: 0.9, minEdge: 0.8, multiStepOnly: true},
		{name: "builtin_heldout", catalog: testCatalog, minNode: 0.9, minEdge: 0.8, multiStepOnly: true},
		{name: "hftasks", catalog: userCatalog("hftasks"), minNode: 0.69, minEdge: 0.33},
		{name: "media", catalog: userCatalog("media"), minNode: 0.73, minEdge: 0.44},
		{name: "hftasks_heldout", catalog: userCatalog("hftasks"), minNode: 0.69, minEdge: 0.33},
		{name: "media_heldout", catalog: userCatalog("media"), minNode: 0.73, minEdge: 0.44},
		{name: "helpdesk", catalog: userCatalog("helpdesk"), minNode: 0.73, minEdge: 0.44},
		{name: "helpdesk_heldout", catalog: userCatalog("helpdesk"), minNode: 0.73, minEdge: 0.44},
		{name: "datateam", catalog: userCatalog("datateam"), minNode: 0.73, minEdge: 0.44},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			p, err := New(ModeRules, s.catalog(t))
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join("testdata", "f1", s.name+".txt")
			cases := readScored(t, file)
			if len(cases) < 12 {
				t.Fatalf("%s holds %d scored requests, want at least 12", file, len(cases))
			}
			var nodes, edges f1Count
			scored := 0
			for _, c := range cases {
				plan, err := p.Plan(context.Background(), task.Request{Input: c.request})
				if err != nil {
					// a refusal (nothing in the catalog matches) plans nothing: a miss
					t.Logf("%s:%d: planning %q: %v", file, c.line, c.request, err)
				}
				gotNodes, gotEdges := planGraph(plan)
				wantEdges := make([]string, len(c.edges))
				for i, e := range c.edges {
					wantEdges[i] = e[0] + " -> " + e[1]
				}
				if s.multiStepOnly && len(c.nodes) < 2 {
					if !sameBag(gotNodes, c.nodes) {
						t.Errorf("%s:%d: %q planned as %v, want %v alone", file, c.line, c.request, gotNodes, c.nodes)
					}
					continue
				}
				scored++
				nodes.add(gotNodes, c.nodes)
				edges.add(gotEdges, wantEdges)
				if testing.Verbose() && (!sameBag(gotNodes, c.nodes) || !sameBag(gotEdges, wantEdges)) {
					t.Logf("%s:%d: %q\n\tgot  %v %v\n\twant %v %v", file, c.line, c.request, gotNodes, gotEdges, c.nodes, wantEdges)
				}
			}
			t.Logf("%s: %d requests, node F1 %.3f, edge F1 %.3f", s.name, scored, nodes.f1(), edges.f1())
			fmt.Printf("F1 %-16s requests=%d node=%.3f edge=%.3f\n", s.name, scored, nodes.f1(), edges.f1())
			if nodes.f1() < s.minNode || edges.f1() < s.minEdge {
				t.Errorf("%s: node F1 %.3f, edge F1 %.3f; want at least %.2f and %.2f", s.name, nodes.f1(), edges.f1(), s.minNode, s.minEdge)
			}
		})
	}
}

func sameBag(a, b []string) bool {
	var c f1Count
	c.add(a, b)
	return c.tp == len(a) && c.tp == len(b)
}
