package llm

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// maxStarts bounds how many opening brackets extract tries, so a long
// answer full of braces costs linear time.
const maxStarts = 32

// extract finds the plan JSON in a model's answer: the first JSON value,
// inside a code fence or amid prose, that parses once trailing commas are
// removed and has the shape of a plan. It returns "" when there is none,
// with an error when a candidate was passed over for nesting deeper than
// task.MaxJSONDepth, which gjson's validator would walk recursively.
func extract(answer string) (string, error) {
	var tooDeep error
	for _, c := range candidates(answer) {
		c = stripTrailingCommas(c)
		if err := task.CheckJSONDepth([]byte(c), task.MaxJSONDepth); err != nil {
			if tooDeep == nil {
				tooDeep = task.Errorf(task.CodeInvalidPlan, "the plan JSON is nested more than %d levels deep; "+
					`reply with one object {"tasks": [...]} whose tasks hold strings`, task.MaxJSONDepth)
			}
			continue
		}
		if gjson.Valid(c) && planShaped(gjson.Parse(c)) {
			return c, nil
		}
	}
	return "", tooDeep
}

// candidates returns the bodies of code fences first, then every balanced
// bracketed span of the answer, outermost first.
func candidates(answer string) []string {
	var out []string
	rest := answer
	for {
		i := strings.Index(rest, "```")
		if i < 0 {
			break
		}
		body := rest[i+3:]
		if nl := strings.IndexByte(body, '\n'); nl >= 0 && !strings.ContainsAny(body[:nl], "{[") {
			body = body[nl+1:] // drop the fence's language tag
		}
		end := strings.Index(body, "```")
		if end < 0 {
			out = append(out, body)
			break
		}
		out = append(out, body[:end])
		rest = body[end+3:]
	}
	starts := 0
	for i := 0; i < len(answer) && starts < maxStarts; i++ {
		if answer[i] != '{' && answer[i] != '[' {
			continue
		}
		starts++
		if end := matchBracket(answer, i); end > i {
			out = append(out, answer[i:end+1])
		}
	}
	return out
}

// matchBracket returns the index of the bracket closing the one at start,
// skipping brackets inside JSON strings, or -1.
func matchBracket(s string, start int) int {
	var stack []byte
	inString, escaped := false, false
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{':
			stack = append(stack, '}')
		case c == '[':
			stack = append(stack, ']')
		case c == '}' || c == ']':
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return -1
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return i
			}
		}
	}
	return -1
}

// stripTrailingCommas removes commas that directly precede a closing
// bracket, outside strings: `[1,2,]` becomes `[1,2]`.
func stripTrailingCommas(s string) string {
	if !strings.Contains(s, ",") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inString {
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
			b.WriteByte(c)
			continue
		}
		if c == '"' {
			inString = true
		}
		if c == ',' && closesNext(s, i+1) {
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func closesNext(s string, i int) bool {
	for ; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '}', ']':
			return true
		}
		return false
	}
	return false
}

// planShaped reports whether v looks like a plan: an object with a task
// list, a list of task objects, or one task object.
func planShaped(v gjson.Result) bool {
	if list := taskList(v); list.IsArray() {
		arr := list.Array()
		return len(arr) > 0 && arr[0].IsObject()
	}
	return v.IsObject() && capabilityOf(v) != ""
}
