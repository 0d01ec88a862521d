package executors

import (
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// decodeWork parses a dispatched subtask. It reads the fields with gjson,
// which is several times cheaper than encoding/json on this hot path, and
// is as strict about types: a field of the wrong type is an error. Any
// producer may publish work, so its nesting is bounded before gjson's
// validator, which recurses once per level, reads it.
func decodeWork(data []byte) (task.Work, error) {
	if err := task.CheckJSONDepth(data, task.MaxWireJSONDepth); err != nil {
		return task.Work{}, errors.New(task.AsError(err).Message) // onWork gives it its code
	}
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
		if !utf8.ValidString(v.Str) {
			// encoding/json, which the router's side speaks, makes each
			// invalid byte U+FFFD; gjson keeps them. Into a string of
			// its own, so that the work does not move to the heap.
			var s string
			err := json.Unmarshal([]byte(v.Raw), &s)
			*dst = s
			return err
		}
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
	case "body":
		return decodeBody(w, v)
	case "api":
		if err := str(&w.API); err != nil {
			return err
		}
		switch w.API {
		case "", task.APIChat, task.APICompletions, task.APIEmbeddings, task.APIImages, task.APITranscriptions, task.APISpeech:
		default:
			return errors.New("field api must be chat, completions, embeddings, images, transcriptions or speech")
		}
	case "artifacts":
		return decodeArtifacts(w, v)
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

// decodeBody keeps the caller's OpenAI request body as sent; it must be
// an object, since the model sets its "model".
func decodeBody(w *task.Work, v gjson.Result) error {
	if v.Type == gjson.Null {
		return nil
	}
	if !v.IsObject() {
		return errors.New("field body must be a JSON object: an OpenAI request body")
	}
	w.Body = json.RawMessage(v.Raw)
	return nil
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
		role := m.Get("role")
		if !m.IsObject() || role.Type != gjson.String {
			err = errors.New(key + " messages need a string role")
			return false
		}
		msg := task.Message{Role: role.Str, ToolCallID: m.Get("tool_call_id").Str, Name: m.Get("name").Str}
		if err = setContent(&msg, m.Get("content")); err != nil {
			err = errors.New(key + " message content: " + err.Error())
			return false
		}
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

// setContent reads a message's content: a string (the common case, read
// here), null, or an array of content parts, which task checks.
func setContent(msg *task.Message, c gjson.Result) error {
	switch c.Type {
	case gjson.String:
		msg.Content = c.Str
		return nil
	case gjson.Null:
		return nil
	}
	if !c.Exists() {
		return nil
	}
	return msg.SetContent(json.RawMessage(c.Raw))
}

// decodeArtifacts reads the artifacts a work reads: references by id,
// each an object with a valid artifact id and a size.
func decodeArtifacts(w *task.Work, v gjson.Result) error {
	if v.Type == gjson.Null {
		return nil
	}
	if !v.IsArray() {
		return errors.New("field artifacts must be a list of artifact references")
	}
	var err error
	v.ForEach(func(_, a gjson.Result) bool {
		ref, ok := artifactRef(a)
		if !ok {
			err = errors.New("artifacts must be {\"id\": \"art_...\", \"mime\", \"size\", \"ref\"} objects")
			return false
		}
		w.Artifacts = append(w.Artifacts, ref)
		return true
	})
	return err
}

// artifactRef reads one artifact reference in a pass over its keys.
func artifactRef(a gjson.Result) (task.ArtifactRef, bool) {
	if !a.IsObject() {
		return task.ArtifactRef{}, false
	}
	var ref task.ArtifactRef
	sized := false
	a.ForEach(func(k, f gjson.Result) bool {
		switch k.Str {
		case "id":
			ref.ID = f.Str
		case "mime":
			ref.MIME = f.Str
		case "size":
			ref.Size, sized = f.Int(), f.Type == gjson.Number && f.Num >= 0
		case "sha256":
			ref.SHA256 = f.Str
		case "name":
			ref.Name = f.Str
		case "ref":
			ref.Ref = f.Str
		}
		return true
	})
	return ref, sized && task.ValidArtifactID(ref.ID)
}
