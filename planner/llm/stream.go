package llm

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// A plan streams in one of two shapes: a JSON list of task objects (the
// project's {"tasks": [...]}, HuggingGPT's [{"task": ...}], amid prose or
// in a fence), or LLMCompiler's numbered calls. A streamReader reads
// either as it grows and yields each task the moment its object closes or
// its call's parenthesis does; what it cannot read as it streams (one
// task object without a list) is left to Parse once the answer is whole.

// streamForm is the shape a streamed answer turned out to have.
type streamForm int

const (
	formUnknown streamForm = iota
	formJSON
	formCompiler
)

// jsonListStart finds the start of a list of objects: the task list.
var jsonListStart = regexp.MustCompile(`\[\s*\{`)

// replanCall is the call that ends a plan declaring that it may need
// another round, as LLMCompiler's joiner would decide.
const replanCall = "replan"

// streamReader reads the tasks of an answer while the model writes it.
// It is not safe for concurrent use.
type streamReader struct {
	buf    []byte
	form   streamForm
	cursor int // where the next task may start
	obj    bracketScan
	inObj  bool // obj scans the object starting at cursor
	tasks  int  // tasks read so far
	ended  bool // the list closed, or join() or <END_OF_PLAN> was read
	broken bool // the list holds something other than task objects
	replan bool
}

// feed adds a piece of the answer and returns the tasks it completed.
func (sr *streamReader) feed(delta string) ([]rawTask, error) {
	if len(sr.buf)+len(delta) > maxAnswerBytes {
		return nil, task.Errorf(task.CodeInvalidPlan, "the answer is over %d bytes; a plan is a short JSON object", maxAnswerBytes)
	}
	sr.buf = append(sr.buf, delta...)
	if sr.ended || sr.broken {
		return nil, nil
	}
	if sr.form == formUnknown && (!strings.ContainsAny(delta, "{(") || !sr.detect()) {
		return nil, nil
	}
	if sr.form == formJSON {
		return sr.objects(), nil
	}
	if !strings.ContainsAny(delta, ")>") {
		return nil, nil // a call ends with ")"; "<END_OF_PLAN>" with ">"
	}
	return sr.calls(false)
}

// finish reads what the end of the answer completes. A task list left
// open, or a call that cannot be read, is an error now that no more text
// can come.
func (sr *streamReader) finish() ([]rawTask, error) {
	switch sr.form {
	case formCompiler:
		return sr.calls(true)
	case formJSON:
		raws := sr.objects()
		switch {
		case sr.broken:
			return raws, task.Errorf(task.CodeInvalidPlan, "the task list holds something other than a task object after task %d; "+
				`reply with one object {"tasks": [...]} whose list holds task objects only`, sr.tasks)
		case !sr.ended:
			return raws, task.Errorf(task.CodeInvalidPlan, "the answer ends inside the task list, after task %d; close the list", sr.tasks)
		}
		sr.replan = jsonReplan(string(sr.buf))
		return raws, nil
	}
	return nil, nil
}

// detect decides the form from whichever comes first: a list of objects
// or a numbered call at the start of a line.
func (sr *streamReader) detect() bool {
	list := jsonListStart.FindIndex(sr.buf)
	call := firstCall(sr.buf, 0)
	switch {
	case list != nil && (call == nil || list[0] < call[0]):
		sr.form, sr.cursor = formJSON, list[0]+1
	case call != nil:
		sr.form, sr.cursor = formCompiler, call[0]
	default:
		return false
	}
	return true
}

// firstCall returns the submatch indexes of the first numbered call at
// or after from that starts a line, or nil.
func firstCall(buf []byte, from int) []int {
	for from < len(buf) {
		m := compilerStep.FindSubmatchIndex(buf[from:])
		if m == nil {
			return nil
		}
		for k := range m {
			m[k] += from
		}
		if m[0] == 0 || buf[m[0]-1] == '\n' {
			return m
		}
		from = m[0] + 1 // "^" matched where the slice began, mid-line
	}
	return nil
}

// objects reads the task objects the JSON list completed since the last
// call.
func (sr *streamReader) objects() []rawTask {
	var out []rawTask
	for !sr.ended && !sr.broken {
		if !sr.inObj {
			for sr.cursor < len(sr.buf) && strings.IndexByte(" \t\r\n,", sr.buf[sr.cursor]) >= 0 {
				sr.cursor++
			}
			if sr.cursor >= len(sr.buf) {
				return out
			}
			switch sr.buf[sr.cursor] {
			case ']':
				sr.ended = true
				return out
			case '{':
				sr.obj, sr.inObj = bracketScan{at: sr.cursor}, true
			default:
				sr.broken = true
				return out
			}
		}
		end := sr.obj.advance(sr.buf)
		if end < 0 {
			return out
		}
		obj := stripTrailingCommas(string(sr.buf[sr.cursor : end+1]))
		sr.cursor, sr.inObj = end+1, false
		if task.CheckJSONDepth([]byte(obj), task.MaxJSONDepth) != nil || !gjson.Valid(obj) {
			sr.broken = true
			return out
		}
		out = append(out, readTask(gjson.Parse(obj), sr.tasks))
		sr.tasks++
	}
	return out
}

// calls reads the numbered calls completed since the last call. Until
// the answer is whole (final), a call that does not read yet is waited
// for: its closing parenthesis may be on its way.
func (sr *streamReader) calls(final bool) ([]rawTask, error) {
	region := sr.buf
	endMarked := false
	if i := bytes.Index(sr.buf[sr.cursor:], []byte(endOfPlan)); i >= 0 {
		region, endMarked = sr.buf[:sr.cursor+i], true
	}
	var out []rawTask
	for !sr.ended {
		m := firstCall(region, sr.cursor)
		if m == nil {
			sr.ended = endMarked
			return out, nil
		}
		n, _ := strconv.Atoi(string(region[m[2]:m[3]]))
		tool := capabilityName(string(region[m[4]:m[5]]))
		if tool == "join" || tool == "finish" || tool == replanCall {
			sr.ended, sr.replan = true, tool == replanCall
			return out, nil
		}
		sc := &argScanner{s: string(region[m[1]:])}
		args, err := sc.items(')')
		if err != nil {
			if final || endMarked {
				return out, task.Errorf(task.CodeInvalidPlan,
					`reading step %d, %s(...): %v; write each step as N. tool("input", name="value")`, n, tool, err)
			}
			return out, nil
		}
		sr.cursor = m[1] + sc.i
		out = append(out, callTask(strconv.Itoa(n), tool, args))
		sr.tasks++
	}
	return out, nil
}

// jsonReplan reports whether the plan JSON of a whole answer declares
// that it may need another round: "replan": true beside its task list.
func jsonReplan(answer string) bool {
	js, _ := extract(answer)
	return js != "" && gjson.Get(js, "replan").Bool()
}

// bracketScan finds, across calls as text arrives, the bracket that
// closes the one at its start, skipping brackets inside JSON strings.
type bracketScan struct {
	at       int // the next byte to read
	depth    int
	inString bool
	escaped  bool
}

// advance reads buf from where the last call stopped and returns the
// index of the closing bracket, or -1 when it has not arrived.
func (b *bracketScan) advance(buf []byte) int {
	for ; b.at < len(buf); b.at++ {
		c := buf[b.at]
		switch {
		case b.inString:
			switch {
			case b.escaped:
				b.escaped = false
			case c == '\\':
				b.escaped = true
			case c == '"':
				b.inString = false
			}
		case c == '"':
			b.inString = true
		case c == '{' || c == '[':
			b.depth++
		case c == '}' || c == ']':
			b.depth--
			if b.depth == 0 {
				end := b.at
				b.at++
				return end
			}
		}
	}
	return -1
}
