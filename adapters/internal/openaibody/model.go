// Package openaibody edits OpenAI request and response bodies in place,
// for the adapters that relay them: the body a client sent goes upstream
// as it came, and the upstream's answer comes back as it came, but for
// the model's name, which differs on each side of the gateway.
package openaibody

import (
	"bytes"
	"encoding/json"
	"unsafe"

	"github.com/tidwall/gjson"
)

// SetModel returns body, a JSON object, with the value of its top-level
// "model" key replaced by model, or with "model" added first when it has
// none. Every other byte is kept. A key written twice, or with escapes
// ("mod\u0065l"), is replaced wherever it is, so that no reader, whichever
// duplicate it takes, sees the name it was sent.
func SetModel(body []byte, model string) []byte {
	return AppendModel(make([]byte, 0, len(body)+len(model)+16), body, QuoteModel(model))
}

// QuoteModel is model as a JSON string, as json.Marshal writes it: the
// name AppendModel takes, quoted once for all the chunks of a stream.
func QuoteModel(model string) []byte {
	name, _ := json.Marshal(model) // a string: cannot fail
	return name
}

// AppendModel appends to dst what SetModel returns for body, with name,
// a JSON string (QuoteModel), as the model. It allocates nothing when
// dst has room: a relayed stream rewrites every chunk with it.
func AppendModel(dst, body, name []byte) []byte {
	at, keys := 0, 0
	// gjson reads a string; body is not written while it reads, and no
	// part of the result is kept, only offsets into body.
	gjson.Parse(unsafe.String(unsafe.SliceData(body), len(body))).ForEach(func(k, v gjson.Result) bool {
		keys++
		if k.Str == "model" && v.Index > 0 {
			dst = append(dst, body[at:v.Index]...)
			dst = append(dst, name...)
			at = v.Index + len(v.Raw)
		}
		return true
	})
	if at == 0 {
		return insertModel(dst, body, name, keys > 0)
	}
	return append(dst, body[at:]...)
}

// insertModel appends the object body to dst with "model" as its first
// key.
func insertModel(dst, body, name []byte, more bool) []byte {
	open := bytes.IndexByte(body, '{')
	if open < 0 {
		return append(dst, body...) // not an object: the caller checked it is one
	}
	dst = append(dst, body[:open+1]...)
	dst = append(dst, `"model":`...)
	dst = append(dst, name...)
	if more {
		dst = append(dst, ',')
	}
	return append(dst, body[open+1:]...)
}
