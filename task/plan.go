// Package task is the contract of taskrouter: requests, plans, subtasks,
// results, events and errors, the NATS subjects and headers that carry them,
// and plan validation. It holds pure data and pure functions only.
package task

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Plan is a DAG of subtasks. Subtasks refer to the outputs of their
// dependencies with {{id}} references in their input or args.
type Plan struct {
	Tasks []Subtask `json:"tasks"`
	// Planner names the planner that made the plan, "llm" or "rules", when
	// the auto planner had an LLM planner to choose from, so that an
	// operator can tell which one a response's plan came from. It is
	// informational: validation and execution ignore it.
	Planner string `json:"planner,omitempty"`
	// FallbackReason says why the auto planner fell back to the rules: the
	// LLM planner's error, or why its plan was invalid, on one short line.
	FallbackReason string `json:"fallback_reason,omitempty"`
	// MadeBy names the planner mode that made the plan in this process
	// (rules, llm or single), for metrics and traces; empty for a plan a
	// request carried. It is not on the wire.
	MadeBy string `json:"-"`
	// Replan says the plan may need another round once it has run, as an
	// LLMCompiler plan ending in replan() declares: the planner is then
	// asked again with the results so far.
	Replan bool `json:"replan,omitempty"`
}

// Subtask is one typed unit of work in a plan.
type Subtask struct {
	ID         string            `json:"id"`
	Capability string            `json:"capability"`
	Input      string            `json:"input"`
	Args       map[string]string `json:"args,omitempty"`
	Deps       []string          `json:"deps"`
}

// Limits bound the size and shape of plans and requests.
type Limits struct {
	MaxSubtasks   int // subtasks per plan
	MaxDepth      int // longest dependency chain, counted in subtasks
	MaxInputBytes int // bytes of one subtask's input plus args, and of a request
	// MaxArtifactBytes bounds one artifact (artifacts.max_bytes); a
	// request on tr.v1.req may be larger than its text by this much, in
	// base64, for inline attachments. Zero allows no inline attachment
	// beyond the text's limit.
	MaxArtifactBytes int64
}

// DefaultLimits are the limits used when a config sets none.
var DefaultLimits = Limits{MaxSubtasks: 64, MaxDepth: 16, MaxInputBytes: 256 << 10}

// nextRef finds the first {{id}} reference in text at or after from, with
// optional spaces inside the braces. It returns the id and the reference's
// span, or ok false.
func nextRef(text string, from int) (id string, start, end int, ok bool) {
	for {
		i := strings.Index(text[from:], "{{")
		if i < 0 {
			return "", 0, 0, false
		}
		start = from + i
		j := start + 2
		for j < len(text) && text[j] == ' ' {
			j++
		}
		k := j
		for k < len(text) && isRefByte(text[k]) {
			k++
		}
		e := k
		for e < len(text) && text[e] == ' ' {
			e++
		}
		if k > j && strings.HasPrefix(text[e:], "}}") {
			return text[j:k], start, e + 2, true
		}
		from = start + 1
	}
}

func isRefByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// validID reports whether id is 1-64 letters, digits, '_' or '-'.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// References returns the subtask ids that s refers to with {{id}} in its
// input or args, in order of first appearance and without duplicates.
func (s Subtask) References() []string {
	var refs []string
	seen := map[string]bool{}
	add := func(text string) {
		for from := 0; ; {
			id, _, end, ok := nextRef(text, from)
			if !ok {
				return
			}
			if !seen[id] {
				seen[id] = true
				refs = append(refs, id)
			}
			from = end
		}
	}
	add(s.Input)
	if len(s.Args) > 0 {
		for _, k := range slices.Sorted(maps.Keys(s.Args)) {
			add(s.Args[k])
		}
	}
	return refs
}

// Substitute replaces every {{id}} reference in text by outputs[id].
// References to ids missing from outputs are left as they are.
func Substitute(text string, outputs map[string]string) string {
	var b strings.Builder
	last := 0
	for from := 0; ; {
		id, start, end, ok := nextRef(text, from)
		if !ok {
			break
		}
		if out, found := outputs[id]; found {
			b.WriteString(text[last:start])
			b.WriteString(out)
			last = end
		}
		from = end
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// Validate checks a plan before anything is dispatched: at least one subtask,
// valid and unique ids, known capabilities, existing dependencies, references
// only to dependencies, no cycles, and the limits. known may be nil to accept
// any capability. The error is a *Error with CodeInvalidPlan naming the
// offending subtask.
func (p Plan) Validate(lim Limits, known func(capability string) bool) error {
	lim = lim.withDefaults()
	if len(p.Tasks) == 0 {
		return planErr("", "the plan has no subtasks; a plan needs at least one")
	}
	if len(p.Tasks) > lim.MaxSubtasks {
		return planErr("", "the plan has %d subtasks, more than the limit of %d; split the request", len(p.Tasks), lim.MaxSubtasks)
	}
	index := make(map[string]int, len(p.Tasks))
	for i, s := range p.Tasks {
		if !validID(s.ID) {
			return planErr(s.ID, "subtask %d has id %q; ids are 1-64 letters, digits, '_' or '-'", i+1, s.ID)
		}
		if _, dup := index[s.ID]; dup {
			return planErr(s.ID, "subtask id %q is used twice; ids must be unique", s.ID)
		}
		index[s.ID] = i
	}
	for _, s := range p.Tasks {
		if err := s.validate(index, lim, known); err != nil {
			return err
		}
	}
	depth, err := p.depths(index)
	if err != nil {
		return err
	}
	for i, d := range depth {
		if d > lim.MaxDepth {
			id := p.Tasks[i].ID
			return planErr(id, "subtask %q sits %d levels deep, more than the limit of %d", id, d, lim.MaxDepth)
		}
	}
	return nil
}

func (s Subtask) validate(index map[string]int, lim Limits, known func(string) bool) error {
	if s.Capability == "" {
		return planErr(s.ID, "subtask %q has no capability", s.ID)
	}
	if known != nil && !known(s.Capability) {
		return planErr(s.ID, "subtask %q asks for capability %q, which the catalog does not have", s.ID, s.Capability)
	}
	size := len(s.Input)
	for k, v := range s.Args {
		size += len(k) + len(v)
	}
	if size > lim.MaxInputBytes {
		return planErr(s.ID, "subtask %q has %d bytes of input, more than the limit of %d", s.ID, size, lim.MaxInputBytes)
	}
	deps := make(map[string]bool, len(s.Deps))
	for _, d := range s.Deps {
		if d == s.ID {
			return planErr(s.ID, "subtask %q depends on itself", s.ID)
		}
		if _, ok := index[d]; !ok {
			return planErr(s.ID, "subtask %q depends on %q, which is not in the plan", s.ID, d)
		}
		if deps[d] {
			return planErr(s.ID, "subtask %q lists dependency %q twice", s.ID, d)
		}
		deps[d] = true
	}
	for _, r := range s.References() {
		if _, isTask := index[r]; !isTask && attachmentIndex(r) >= 0 {
			continue // an attachment: CheckTypes checks that it exists
		}
		if !deps[r] {
			return planErr(s.ID, "subtask %q refers to {{%s}}, which is not one of its dependencies %v", s.ID, r, s.Deps)
		}
	}
	return nil
}

// depths returns each subtask's depth, in plan order (1 for a subtask
// without deps), or an error naming a subtask on a cycle.
func (p Plan) depths(index map[string]int) ([]int, error) {
	// depth[i] is 0 until subtask i is visited, -1 while it is being.
	depth := make([]int, len(p.Tasks))
	var visit func(i int) error
	visit = func(i int) error {
		switch {
		case depth[i] > 0:
			return nil
		case depth[i] < 0:
			return planErr(p.Tasks[i].ID, "subtask %q is part of a dependency cycle", p.Tasks[i].ID)
		}
		depth[i] = -1
		d := 1
		for _, dep := range p.Tasks[i].Deps {
			j := index[dep]
			if err := visit(j); err != nil {
				return err
			}
			d = max(d, depth[j]+1)
		}
		depth[i] = d
		return nil
	}
	for i := range p.Tasks {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return depth, nil
}

// Dependents returns, for each subtask id, the ids of the subtasks that
// depend on it, in plan order.
func (p Plan) Dependents() map[string][]string {
	out := make(map[string][]string, len(p.Tasks))
	for _, s := range p.Tasks {
		for _, d := range s.Deps {
			out[d] = append(out[d], s.ID)
		}
	}
	return out
}

// Sinks returns the subtasks no other subtask depends on, in plan order:
// the ones whose results make up the answer.
func (p Plan) Sinks() []Subtask {
	var out []Subtask
	for _, s := range p.Tasks {
		if p.IsSink(s.ID) {
			out = append(out, s)
		}
	}
	return out
}

// OnlySink returns the plan's sink when it has exactly one, as most do.
func (p Plan) OnlySink() (Subtask, bool) {
	var only Subtask
	n := 0
	for _, s := range p.Tasks {
		if p.IsSink(s.ID) {
			only, n = s, n+1
		}
	}
	return only, n == 1
}

// IsSink reports whether no subtask of the plan depends on id. It looks
// at every dependency: plans are small, and a map of dependents would cost
// more than the scan on a request's path.
func (p Plan) IsSink(id string) bool {
	for _, s := range p.Tasks {
		if slices.Contains(s.Deps, id) {
			return false
		}
	}
	return true
}

// CanonicalJSON encodes v as compact JSON with object keys sorted and no
// HTML escaping, so equal values always encode to equal bytes.
func CanonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil { // maps encode with sorted keys
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// DecodePlan parses a plan in the project's JSON form strictly: unknown
// fields are errors. It does not validate the plan.
func DecodePlan(data []byte) (Plan, error) {
	if err := CheckJSONDepth(data, MaxJSONDepth); err != nil {
		return Plan{}, planErr("", "decoding plan: %s", AsError(err).Message)
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Plan{}, Errorf(CodeInvalidPlan, "decoding plan: %v", err)
	}
	if dec.More() {
		return Plan{}, Errorf(CodeInvalidPlan, "decoding plan: trailing data after the plan object")
	}
	for i := range p.Tasks {
		if p.Tasks[i].Deps == nil {
			p.Tasks[i].Deps = []string{}
		}
	}
	return p, nil
}

// maxRequestBytes is the most a request document may take: twice the
// input's limit (JSON escapes), plus the base64 of one artifact.
func (l Limits) maxRequestBytes() int {
	return l.MaxInputBytes*2 + int(l.MaxArtifactBytes/3*4)
}

func (l Limits) withDefaults() Limits {
	if l.MaxSubtasks <= 0 {
		l.MaxSubtasks = DefaultLimits.MaxSubtasks
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxInputBytes <= 0 {
		l.MaxInputBytes = DefaultLimits.MaxInputBytes
	}
	return l
}

func planErr(subtask, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidPlan, Subtask: subtask, Message: fmt.Sprintf(format, args...)}
}
