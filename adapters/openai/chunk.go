package openai

import (
	"errors"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// errMalformedChunk is a stream chunk that is not valid JSON.
var errMalformedChunk = errors.New("a stream chunk is not valid JSON")

// collector assembles an answer from the chunks of a stream. It reads the
// few fields it needs with gjson, which costs a fraction of decoding each
// chunk into go-openai's full response type.
type collector struct {
	text   strings.Builder
	usage  task.Usage
	finish string
	calls  []partCall
	// ended is set by a finish_reason or usage, after which a clean end of
	// the stream is a complete answer.
	ended bool
}

// add reads one chunk's JSON and returns the new text of choice 0. It
// walks the chunk once instead of looking each field up from the start.
func (col *collector) add(raw []byte) (string, error) {
	if err := checkChunk(raw); err != nil {
		return "", err
	}
	if !gjson.ValidBytes(raw) {
		return "", errMalformedChunk
	}
	delta := ""
	// Read in place, without a copy per chunk: raw is not written while
	// this reads it, and what the collector keeps of it is cloned
	// (finish, the calls' id, type and name). The delta returned is
	// valid until raw is overwritten, as the chunk is.
	gjson.Parse(unsafe.String(unsafe.SliceData(raw), len(raw))).ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "usage":
			col.addUsage(v)
		case "choices":
			v.ForEach(func(_, ch gjson.Result) bool {
				delta += col.addChoice(ch)
				return true
			})
		}
		return true
	})
	col.text.WriteString(delta)
	return delta, nil
}

func (col *collector) addUsage(u gjson.Result) {
	if !u.IsObject() {
		return // servers send "usage": null on every chunk but the last
	}
	col.usage = task.Usage{PromptTokens: int(u.Get("prompt_tokens").Int()), CompletionTokens: int(u.Get("completion_tokens").Int())}
	col.ended = true
}

// addChoice records a choice's finish_reason and tool call fragments and
// returns its text, for choice 0 only.
func (col *collector) addChoice(ch gjson.Result) string {
	var index int64
	var content, finish string
	var calls gjson.Result
	ch.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "index":
			index = v.Int()
		case "text": // a legacy completions chunk
			if v.Type == gjson.String {
				content = v.Str
			}
		case "delta":
			v.ForEach(func(key, v gjson.Result) bool {
				switch key.Str {
				case "content":
					content = v.String()
				case "tool_calls":
					calls = v
				}
				return true
			})
		case "finish_reason":
			if v.Type == gjson.String {
				finish = v.Str
			}
		}
		return true
	})
	if index != 0 {
		return ""
	}
	if calls.IsArray() {
		calls.ForEach(func(_, tc gjson.Result) bool {
			col.addCall(tc)
			return true
		})
	}
	if finish != "" {
		col.finish = strings.Clone(finish)
		col.ended = true
	}
	return content
}

// partCall is a tool call being streamed: its first fragment has the
// index, id and name, and every fragment a piece of the arguments.
type partCall struct {
	index    int64
	id, typ  string
	name     string
	args     []byte
	hasIndex bool
}

// addCall adds one fragment of delta.tool_calls to the call at its index.
// A fragment without an index, as a few servers send whole calls, joins
// the last call unless it names a new id.
func (col *collector) addCall(tc gjson.Result) {
	var f partCall
	tc.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "index":
			f.index, f.hasIndex = v.Int(), v.Type == gjson.Number
		case "id":
			f.id = strings.Clone(v.String())
		case "type":
			f.typ = strings.Clone(v.String())
		case "function":
			f.name = strings.Clone(v.Get("name").String())
			f.args = append(f.args, v.Get("arguments").String()...)
		}
		return true
	})
	c := col.call(f)
	if c == nil {
		col.calls = append(col.calls, f)
		return
	}
	if f.id != "" {
		c.id = f.id
	}
	if f.typ != "" {
		c.typ = f.typ
	}
	if c.name == "" {
		c.name = f.name
	}
	c.args = append(c.args, f.args...)
}

// call returns the call a fragment continues, or nil for a new call.
func (col *collector) call(f partCall) *partCall {
	n := len(col.calls)
	if !f.hasIndex {
		if n > 0 && (f.id == "" || f.id == col.calls[n-1].id) {
			return &col.calls[n-1]
		}
		return nil
	}
	for i := range col.calls {
		if c := &col.calls[i]; c.hasIndex && c.index == f.index {
			return c
		}
	}
	return nil
}

// toolCalls returns the streamed calls, in the order they started.
func (col *collector) toolCalls() []call {
	calls := make([]call, len(col.calls))
	for i, c := range col.calls {
		calls[i].ID, calls[i].Type = c.id, c.typ
		calls[i].Function.Name, calls[i].Function.Arguments = c.name, string(c.args)
	}
	return calls
}
