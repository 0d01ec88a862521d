package llm

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// rawTask is one task as the model wrote it, before ids and references
// are normalised. ID is the model's id, or the 0-based position when the
// model gave none.
type rawTask struct {
	ID         string
	Capability string
	Input      string
	Args       map[string]string
	Deps       []string
}

// Keys under which models put the parts of a task, most common first.
var (
	listKeys       = []string{"tasks", "plan", "steps", "subtasks"}
	capabilityKeys = []string{"capability", "task", "tool", "action"}
	depKeys        = []string{"deps", "dep", "dependencies", "depends_on"}
	// inputArgKeys are args that HuggingGPT-style plans use for the input.
	inputArgKeys = []string{"input", "text", "query", "prompt", "question"}
)

// taskList returns the list of tasks in v: v itself when it is an array,
// else the first list under a known key.
func taskList(v gjson.Result) gjson.Result {
	if v.IsArray() {
		return v
	}
	if v.IsObject() {
		for _, k := range listKeys {
			if r := v.Get(gjson.Escape(k)); r.IsArray() {
				return r
			}
		}
	}
	return gjson.Result{}
}

func capabilityOf(t gjson.Result) string {
	for _, k := range capabilityKeys {
		if r := t.Get(k); r.Type == gjson.String && strings.TrimSpace(r.Str) != "" {
			return capabilityName(r.Str)
		}
	}
	return ""
}

// capabilityName maps the task or tool name a model wrote to a capability
// name. Every plan form maps names through it, so that a name the catalog
// lacks fails validation the same way whatever the form.
func capabilityName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// rawTasks reads the tasks of a plan-shaped value.
func rawTasks(v gjson.Result) []rawTask {
	items := []gjson.Result{v}
	if list := taskList(v); list.IsArray() {
		items = list.Array()
	}
	out := make([]rawTask, 0, len(items))
	for i, it := range items {
		out = append(out, readTask(it, i))
	}
	return out
}

func readTask(t gjson.Result, pos int) rawTask {
	rt := rawTask{ID: scalar(t.Get("id")), Capability: capabilityOf(t)}
	if rt.ID == "" {
		rt.ID = strconv.Itoa(pos)
	}
	if in := t.Get("input"); in.Exists() {
		rt.Input = scalar(in)
	}
	if args := t.Get("args"); args.IsObject() {
		rt.Args = map[string]string{}
		args.ForEach(func(k, v gjson.Result) bool {
			rt.Args[k.String()] = scalar(v)
			return true
		})
	}
	if rt.Input == "" {
		rt.Input = takeInputArg(rt.Args)
	}
	for _, k := range depKeys {
		if d := t.Get(k); d.Exists() {
			rt.Deps = readDeps(d)
			break
		}
	}
	return rt
}

// takeInputArg moves the first input-like arg out of args and returns it.
func takeInputArg(args map[string]string) string {
	for _, k := range inputArgKeys {
		if v, ok := args[k]; ok {
			delete(args, k)
			return v
		}
	}
	return ""
}

// readDeps reads a dependency list or a single dependency; HuggingGPT's
// -1 ("none") is dropped.
func readDeps(d gjson.Result) []string {
	items := []gjson.Result{d}
	if d.IsArray() {
		items = d.Array()
	}
	var deps []string
	for _, it := range items {
		s := strings.TrimPrefix(scalar(it), "$")
		if s == "" || s == "-1" {
			continue
		}
		deps = append(deps, s)
	}
	return deps
}

// scalar renders a JSON value as text: strings as they are, numbers in
// their shortest form, anything else as its raw JSON.
func scalar(v gjson.Result) string {
	switch v.Type {
	case gjson.String:
		return v.Str
	case gjson.Null:
		return ""
	case gjson.Number:
		if v.Num == float64(int64(v.Num)) {
			return strconv.FormatInt(int64(v.Num), 10)
		}
		return v.Raw
	}
	return strings.TrimSpace(v.Raw)
}
