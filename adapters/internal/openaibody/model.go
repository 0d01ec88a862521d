// Package openaibody edits OpenAI request and response bodies in place,
// for the adapters that relay them: the body a client sent goes upstream
// as it came, and the upstream's answer comes back as it came, but for
// the model's name, which differs on each side of the gateway.
package openaibody

import (
	"encoding/json"

	"github.com/tidwall/gjson"
)

// SetModel returns body, a JSON object, with the value of its top-level
// "model" key replaced by model, or with "model" added first when it has
// none. Every other byte is kept. A key written twice, or with escapes
// ("mod\u0065l"), is replaced wherever it is, so that no reader, whichever
// duplicate it takes, sees the name it was sent.
func SetModel(body []byte, model string) []byte {
	name, _ := json.Marshal(model) // a string: cannot fail
	var spans [][2]int
	keys := 0
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		keys++
		if k.Str == "model" && v.Index > 0 {
			spans = append(spans, [2]int{v.Index, v.Index + len(v.Raw)})
		}
		return true
	})
	if len(spans) == 0 {
		return insertModel(body, name, keys > 0)
	}
	grow := len(body)
	for _, s := range spans {
		grow += len(name) - (s[1] - s[0])
	}
	out := make([]byte, 0, grow)
	at := 0
	for _, s := range spans {
		out = append(out, body[at:s[0]]...)
		out = append(out, name...)
		at = s[1]
	}
	return append(out, body[at:]...)
}

// insertModel adds "model" as the first key of the object body.
func insertModel(body, name []byte, more bool) []byte {
	open := -1
	for i, c := range body {
		if c == '{' {
			open = i
			break
		}
	}
	if open < 0 {
		return body // not an object: the caller checked it is one
	}
	out := make([]byte, 0, len(body)+len(name)+10)
	out = append(out, body[:open+1]...)
	out = append(out, `"model":`...)
	out = append(out, name...)
	if more {
		out = append(out, ',')
	}
	return append(out, body[open+1:]...)
}
