package llm

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// The reference forms models write, each capturing the referred id.
var (
	// refAny matches, in one pass so that no id is mapped twice, {{id}}
	// (group 1), HuggingGPT's <GENERATED>-id and <resource>-id (group 2)
	// and LLMCompiler's $id or ${id} (group 3).
	refAny = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}` +
		`|(?i:<(?:generated|resource)>-([A-Za-z0-9_\-]+))` +
		`|\$\{?([A-Za-z0-9_]+)\}?`)
	refBraces = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}`)
	idPattern = regexp.MustCompile(`^[A-Za-z0-9_\-]{1,64}$`)
)

// normaliser turns raw tasks into the project's plan form.
type normaliser struct {
	ids      map[string]string // the model's id -> plan id
	pos      map[string]int    // plan id -> position
	warnings []string
}

// normalise assigns plan ids, rewrites every reference form into {{id}},
// drops self and forward references with a warning, and adds the
// dependencies that references imply.
func normalise(raws []rawTask) (task.Plan, []string) {
	n := &normaliser{ids: map[string]string{}, pos: map[string]int{}}
	keep := keepIDs(raws)
	plan := task.Plan{Tasks: make([]task.Subtask, len(raws))}
	for i, rt := range raws {
		id := "t" + strconv.Itoa(i+1)
		if keep {
			id = rt.ID
		}
		if _, dup := n.ids[rt.ID]; !dup {
			n.ids[rt.ID] = id
		}
		n.pos[id] = i
		plan.Tasks[i] = task.Subtask{ID: id, Capability: rt.Capability}
	}
	for i, rt := range raws {
		plan.Tasks[i] = n.subtask(plan.Tasks[i], i, rt)
	}
	return plan, n.warnings
}

// keepIDs reports whether the model's ids can stay: all valid, unique and
// not bare numbers (which read badly as {{1}}).
func keepIDs(raws []rawTask) bool {
	seen := map[string]bool{}
	numeric := true
	for _, rt := range raws {
		if !idPattern.MatchString(rt.ID) || seen[rt.ID] {
			return false
		}
		seen[rt.ID] = true
		if _, err := strconv.Atoi(rt.ID); err != nil {
			numeric = false
		}
	}
	return !numeric
}

func (n *normaliser) subtask(s task.Subtask, i int, rt rawTask) task.Subtask {
	s.Input = n.rewrite(s.ID, i, rt.Input)
	if len(rt.Args) > 0 {
		s.Args = make(map[string]string, len(rt.Args))
		for k, v := range rt.Args {
			s.Args[k] = n.rewrite(s.ID, i, v)
		}
	}
	s.Deps = []string{}
	for _, d := range rt.Deps {
		id, ok := n.ids[d]
		if !ok {
			id = d // unknown: left for validation to report
		}
		if p, known := n.pos[id]; known && p >= i {
			n.warn("subtask %s: dropped dependency on %s, which does not come before it", s.ID, id)
			continue
		}
		if !slices.Contains(s.Deps, id) {
			s.Deps = append(s.Deps, id)
		}
	}
	for _, r := range s.References() {
		if !slices.Contains(s.Deps, r) && !n.isAttachment(r) {
			s.Deps = append(s.Deps, r)
		}
	}
	return s
}

// rewrite turns every reference form in text into {{id}} with plan ids,
// and removes references to the subtask itself or to later ones.
func (n *normaliser) rewrite(self string, i int, text string) string {
	if !strings.ContainsAny(text, "{<$") {
		return text
	}
	text = refAny.ReplaceAllStringFunc(text, n.mapRef)
	return refBraces.ReplaceAllStringFunc(text, func(m string) string {
		id := refBraces.FindStringSubmatch(m)[1]
		if p, ok := n.pos[id]; ok && p >= i {
			n.warn("subtask %s: dropped reference to %s, which does not come before it", self, id)
			return ""
		}
		return m
	})
}

// mapRef maps one reference to {{plan id}}. An unknown $id stays as
// written (a "$5" in prose is money, not a reference); other unknown ids
// become {{id}} so that validation reports them.
func (n *normaliser) mapRef(m string) string {
	g := refAny.FindStringSubmatch(m)
	raw, dollar := g[1]+g[2], g[3] != ""
	if dollar {
		raw = g[3]
	}
	if id, ok := n.ids[raw]; ok {
		return "{{" + id + "}}"
	}
	if _, ok := n.pos[raw]; ok || !dollar {
		return "{{" + raw + "}}"
	}
	return m
}

func (n *normaliser) warn(format string, args ...any) {
	n.warnings = append(n.warnings, fmt.Sprintf(format, args...))
}
