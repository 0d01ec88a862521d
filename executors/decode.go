package executors

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// decodeWork parses a dispatched subtask. It reads the fields with gjson,
// which is several times cheaper than encoding/json on this hot path, and
// is as strict about types: a field of the wrong type is an error.
func decodeWork(data []byte) (task.Work, error) {
	if !gjson.ValidBytes(data) {
		return task.Work{}, errors.New("the subtask is not valid JSON")
	}
	doc := gjson.ParseBytes(data)
	if !doc.IsObject() {
		return task.Work{}, errors.New("the subtask is not a JSON object")
	}
	var w task.Work
	var err error
	doc.ForEach(func(k, v gjson.Result) bool {
		err = setWorkField(&w, k.Str, v)
		return err == nil
	})
	return w, err
}

func setWorkField(w *task.Work, key string, v gjson.Result) error {
	str := func(dst *string) error {
		if v.Type != gjson.String {
			return errors.New("field " + key + " must be a string")
		}
		*dst = v.Str
		return nil
	}
	switch key {
	case "request_id":
		return str(&w.RequestID)
	case "subtask_id":
		return str(&w.SubtaskID)
	case "model":
		return str(&w.Model)
	case "capability":
		return str(&w.Capability)
	case "input":
		return str(&w.Input)
	case "traceparent":
		return str(&w.Traceparent)
	case "attempt":
		if v.Type != gjson.Number {
			return errors.New("field attempt must be a number")
		}
		w.Attempt = int(v.Int())
	case "stream":
		if v.Type != gjson.True && v.Type != gjson.False {
			return errors.New("field stream must be true or false")
		}
		w.Stream = v.Bool()
	case "args":
		return decodeArgs(w, v)
	case "context":
		return decodeMessages(&w.Context, key, v)
	case "after":
		return decodeMessages(&w.After, key, v)
	case "tools":
		return decodeChecked(&w.Tools, key, v)
	case "sampling":
		return decodeChecked(&w.Sampling, key, v)
	case "deadline":
		var s string
		if err := str(&s); err != nil {
			return err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return errors.New("field deadline must be an RFC 3339 time")
		}
		w.Deadline = t
	}
	return nil // unknown fields are ignored, as encoding/json does
}

func decodeArgs(w *task.Work, v gjson.Result) error {
	if v.Type == gjson.Null {
		return nil
	}
	if !v.IsObject() {
		return errors.New("field args must be an object of strings")
	}
	w.Args = map[string]string{}
	var err error
	v.ForEach(func(k, a gjson.Result) bool {
		if a.Type != gjson.String {
			err = errors.New("args." + k.Str + " must be a string")
			return false
		}
		w.Args[k.Str] = a.Str
		return true
	})
	return err
}

// decodeChecked reads an object that only the step writing an answer
// carries (tools, sampling) the plain way, and checks it as the router
// did, since any producer may publish work. JSON null leaves it nil.
func decodeChecked[T any, PT interface {
	*T
	Check() error
}](dst *PT, key string, v gjson.Result) error {
	if v.Type == gjson.Null {
		return nil
	}
	x := PT(new(T))
	if err := json.Unmarshal([]byte(v.Raw), x); err != nil {
		return errors.New("field " + key + ": " + err.Error())
	}
	if err := x.Check(); err != nil {
		return err
	}
	*dst = x
	return nil
}

// decodeMessages reads a list of conversation messages into dst.
func decodeMessages(dst *[]task.Message, key string, v gjson.Result) error {
	if v.Type == gjson.Null {
		return nil
	}
	if !v.IsArray() {
		return errors.New("field " + key + " must be a list of messages")
	}
	var err error
	v.ForEach(func(_, m gjson.Result) bool {
		role, content := m.Get("role"), m.Get("content")
		if !m.IsObject() || role.Type != gjson.String || content.Type != gjson.String {
			err = errors.New(key + " messages need string role and content")
			return false
		}
		msg := task.Message{Role: role.Str, Content: content.Str, ToolCallID: m.Get("tool_call_id").Str, Name: m.Get("name").Str}
		if tc := m.Get("tool_calls"); tc.Exists() && tc.Type != gjson.Null {
			if !tc.IsArray() {
				err = errors.New(key + " message tool_calls must be an array")
				return false
			}
			msg.ToolCalls = json.RawMessage(tc.Raw)
		}
		*dst = append(*dst, msg)
		return true
	})
	return err
}
