package openai

import (
	"errors"
	"strings"

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
	// ended is set by a finish_reason or usage, after which a clean end of
	// the stream is a complete answer.
	ended bool
}

// add reads one chunk's JSON and returns the new text of choice 0. It
// walks the chunk once instead of looking each field up from the start.
func (col *collector) add(raw []byte) (string, error) {
	if !gjson.ValidBytes(raw) {
		return "", errMalformedChunk
	}
	delta := ""
	gjson.ParseBytes(raw).ForEach(func(key, v gjson.Result) bool {
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

// addChoice records a choice's finish_reason and returns its text, for
// choice 0 only.
func (col *collector) addChoice(ch gjson.Result) string {
	var index int64
	var content, finish string
	ch.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "index":
			index = v.Int()
		case "delta":
			content = v.Get("content").String()
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
	if finish != "" {
		col.finish = finish
		col.ended = true
	}
	return content
}
