package router

import (
	"bytes"
	"encoding/json"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// memoryFields are taskrouter's own fields of a chat body, which no
// upstream has: they leave a body that gets a conversation's memory.
var memoryFields = map[string]bool{"conversation": true, "memory_scope": true, "cache": true}

// bodyWith returns the passthrough body with mem before the caller's
// messages. Without memory it is the caller's body, byte for byte.
func (ru *run) bodyWith(mem []task.Message) json.RawMessage {
	if len(mem) == 0 || ru.req.Conversation == "" {
		return ru.body
	}
	out, ok := spliceMessages(ru.body, mem)
	if !ok {
		return ru.body
	}
	return out
}

// spliceMessages rewrites a chat body's top-level object with mem first
// in its "messages" and without taskrouter's memory fields, every other
// field as sent; ok is false when the body is not such an object.
func spliceMessages(body json.RawMessage, mem []task.Message) (json.RawMessage, bool) {
	if !gjson.ValidBytes(body) {
		return nil, false
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() || !root.Get("messages").IsArray() {
		return nil, false
	}
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	root.ForEach(func(k, v gjson.Result) bool {
		if memoryFields[k.Str] {
			return true
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(k.Raw)
		b.WriteByte(':')
		if k.Str != "messages" {
			b.WriteString(v.Raw)
			return true
		}
		b.WriteByte('[')
		for i, m := range mem {
			if i > 0 {
				b.WriteByte(',')
			}
			data, _ := json.Marshal(m)
			b.Write(data)
		}
		v.ForEach(func(_, e gjson.Result) bool {
			b.WriteByte(',')
			b.WriteString(e.Raw)
			return true
		})
		b.WriteByte(']')
		return true
	})
	b.WriteByte('}')
	return b.Bytes(), true
}
