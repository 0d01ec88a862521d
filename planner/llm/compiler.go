package llm

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// LLMCompiler's own plan form is not JSON but numbered calls, with
// Thought lines between them and a join at the end:
//
//	Thought: I need both populations.
//	1. search("population of France")
//	2. search("population of Germany")
//	3. math("sum of $1 and $2", ["$1", "$2"])
//	4. join()<END_OF_PLAN>
//
// Models prompted LLMCompiler-style answer in it even when asked for JSON.

// compilerStep matches the start of a numbered call, capturing the step
// number and the tool.
var compilerStep = regexp.MustCompile(`(?m)^[ \t]*(\d{1,6})\.[ \t]*([A-Za-z_][A-Za-z0-9_\-]*)\(`)

const (
	// endOfPlan is the marker LLMCompiler's prompt ends a plan with.
	endOfPlan = "<END_OF_PLAN>"
	// maxNesting bounds how deep lists nest, so that "[[[[..." cannot
	// exhaust the stack.
	maxNesting = 8
)

// compilerTasks reads the numbered calls of an answer up to join, finish,
// replan (which also reports that the plan may need another round) or
// <END_OF_PLAN>. It returns no tasks when the answer has no such call,
// and an error naming the step when a call cannot be read: dropping the
// step would leave its $N references dangling in a plan that validates.
func compilerTasks(answer string) ([]rawTask, bool, error) {
	answer, _, _ = strings.Cut(answer, endOfPlan)
	var raws []rawTask
	end := 0
	for _, m := range compilerStep.FindAllStringSubmatchIndex(answer, -1) {
		if m[0] < end {
			continue // a line inside the previous call's arguments
		}
		n, _ := strconv.Atoi(answer[m[2]:m[3]])
		tool := capabilityName(answer[m[4]:m[5]])
		if tool == "join" || tool == "finish" || tool == replanCall {
			return raws, tool == replanCall, nil
		}
		sc := &argScanner{s: answer[m[1]:]}
		args, err := sc.items(')')
		if err != nil {
			return nil, false, task.Errorf(task.CodeInvalidPlan,
				`reading step %d, %s(...): %v; write each step as N. tool("input", name="value")`, n, tool, err)
		}
		end = m[1] + sc.i
		raws = append(raws, callTask(strconv.Itoa(n), tool, args))
	}
	return raws, false, nil
}

// callArg is one argument of a call; name is set for name=value.
type callArg struct {
	name, value string
	quoted      bool
}

// callTask makes a task of a call. The first quoted positional argument
// is the input and the other positional ones follow it, a line each,
// since a subtask has one input; name=value arguments are args, and an
// input-like one (query=, text=, ...) is the input when nothing else is.
func callTask(id, tool string, args []callArg) rawTask {
	rt := rawTask{ID: id, Capability: tool}
	var pos []string
	first := -1
	for _, a := range args {
		if a.name != "" {
			if rt.Args == nil {
				rt.Args = map[string]string{}
			}
			rt.Args[a.name] = a.value
			continue
		}
		if first < 0 && a.quoted {
			first = len(pos)
		}
		pos = append(pos, a.value)
	}
	if first > 0 {
		in := pos[first]
		pos = slices.Insert(slices.Delete(pos, first, first+1), 0, in)
	}
	rt.Input = strings.Join(pos, "\n")
	if rt.Input == "" {
		rt.Input = takeInputArg(rt.Args)
	}
	return rt
}

// argScanner reads Python-ish arguments: strings in single, double or
// triple quotes with backslash escapes, lists, name=value, and anything
// else ($1, 42, None) as its raw text.
type argScanner struct {
	s     string
	i     int
	depth int
}

// pyEscapes undoes the escapes models write; others stay as written.
var pyEscapes = strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\t`, "\t", `\r`, "\r", `\"`, `"`, `\'`, `'`)

// items reads comma-separated values up to close, which it consumes.
// Names are read only in calls.
func (sc *argScanner) items(close byte) ([]callArg, error) {
	var out []callArg
	for {
		sc.space()
		if sc.i < len(sc.s) && sc.s[sc.i] == close {
			sc.i++
			return out, nil
		}
		if sc.i >= len(sc.s) {
			return nil, fmt.Errorf("no closing %q", close)
		}
		var a callArg
		if close == ')' {
			a.name = sc.keyword()
		}
		var err error
		if a.value, a.quoted, err = sc.value(); err != nil {
			return nil, err
		}
		out = append(out, a)
		sc.space()
		if sc.i < len(sc.s) && sc.s[sc.i] != close && sc.s[sc.i] != ',' {
			return nil, fmt.Errorf("unexpected %.20q after argument %d", sc.s[sc.i:], len(out))
		}
		if sc.i < len(sc.s) && sc.s[sc.i] == ',' {
			sc.i++
		}
	}
}

func (sc *argScanner) value() (string, bool, error) {
	if sc.i >= len(sc.s) {
		return "", false, errors.New("an argument is missing")
	}
	switch sc.s[sc.i] {
	case '"', '\'':
		s, err := sc.str()
		return s, true, err
	case '[':
		if sc.depth >= maxNesting {
			return "", false, errors.New("lists nest too deep")
		}
		sc.depth++
		sc.i++
		items, err := sc.items(']')
		sc.depth--
		vals := make([]string, len(items))
		for i, it := range items {
			vals[i] = it.value
		}
		return strings.Join(vals, ", "), false, err
	}
	start, depth := sc.i, 0
	for ; sc.i < len(sc.s) && (depth > 0 || !strings.ContainsRune(",)]}\n", rune(sc.s[sc.i]))); sc.i++ {
		switch sc.s[sc.i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
	}
	raw := strings.TrimSpace(sc.s[start:sc.i])
	if raw == "" {
		return "", false, errors.New("an argument is empty")
	}
	return raw, false, nil
}

// str reads a quoted string; only triple-quoted ones span lines.
func (sc *argScanner) str() (string, error) {
	q := sc.s[sc.i : sc.i+1]
	if strings.HasPrefix(sc.s[sc.i:], q+q+q) {
		q += q + q
	}
	start := sc.i + len(q)
	for j := start; j < len(sc.s); j++ {
		switch {
		case sc.s[j] == '\\':
			j++
		case sc.s[j] == '\n' && len(q) == 1:
			return "", errors.New("a string is not closed on its line")
		case strings.HasPrefix(sc.s[j:], q):
			sc.i = j + len(q)
			return pyEscapes.Replace(sc.s[start:j]), nil
		}
	}
	return "", errors.New("a string is not closed")
}

// keyword reads "name=" and returns the name, or reads nothing and
// returns "".
func (sc *argScanner) keyword() string {
	j := sc.i
	for j < len(sc.s) && (sc.s[j] == '_' || sc.s[j] >= 'a' && sc.s[j] <= 'z' || sc.s[j] >= 'A' && sc.s[j] <= 'Z' ||
		j > sc.i && sc.s[j] >= '0' && sc.s[j] <= '9') {
		j++
	}
	k := j
	for k < len(sc.s) && (sc.s[k] == ' ' || sc.s[k] == '\t') {
		k++
	}
	if j == sc.i || k >= len(sc.s) || sc.s[k] != '=' || strings.HasPrefix(sc.s[k:], "==") {
		return ""
	}
	name := sc.s[sc.i:j]
	sc.i = k + 1
	return name
}

func (sc *argScanner) space() {
	for sc.i < len(sc.s) && strings.ContainsRune(" \t\r\n", rune(sc.s[sc.i])) {
		sc.i++
	}
}
