package task

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// PartSeparator joins the text parts of a content array into a message's
// Content, so that "Hello" and "world" read as two lines, not "Helloworld".
const PartSeparator = "\n"

// Message is one turn of a conversation, in OpenAI's roles. On the wire
// its content is a string, or OpenAI's array of content parts.
type Message struct {
	Role string `json:"role"`
	// Content is the message's text: the content string, or the text
	// parts of a content array joined by PartSeparator. It is what the
	// router's own subtasks and the built-in models read.
	Content string `json:"content"`
	// Parts is the content array as the caller sent it, when it sent one:
	// [{"type": "text", "text": ...}, {"type": "image_url", ...}]. A model
	// the caller named gets it as sent; on the wire it is the content.
	Parts json.RawMessage `json:"-"`
	// ToolCalls are an assistant's calls of the caller's functions, as
	// OpenAI's tool_calls array.
	ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
	// ToolCallID is the call a tool message answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// Name is an optional name of the participant.
	Name string `json:"name,omitempty"`
}

// messageJSON is Message on the wire, its content as sent.
type messageJSON struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  json.RawMessage `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
	Name       string          `json:"name,omitempty"`
}

// MarshalJSON writes the content as the parts sent, else as the text.
func (m Message) MarshalJSON() ([]byte, error) {
	content := m.Parts
	if len(content) == 0 {
		var err error
		if content, err = json.Marshal(m.Content); err != nil {
			return nil, err
		}
	}
	return json.Marshal(messageJSON{Role: m.Role, Content: content, ToolCalls: m.ToolCalls, ToolCallID: m.ToolCallID, Name: m.Name})
}

// UnmarshalJSON reads a message strictly (an unknown field is an error),
// with content a string, null, or an array of content parts.
func (m *Message) UnmarshalJSON(data []byte) error {
	var mj messageJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mj); err != nil {
		return err
	}
	*m = Message{Role: mj.Role, ToolCalls: mj.ToolCalls, ToolCallID: mj.ToolCallID, Name: mj.Name}
	return m.SetContent(mj.Content)
}

// SetContent sets Content, and Parts for an array, from content as sent:
// a JSON string, null (no text), or an array of content parts (see
// ContentText). The message keeps its own copy of raw.
func (m *Message) SetContent(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	m.Content, m.Parts = "", nil
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil
	case raw[0] == '"':
		return json.Unmarshal(raw, &m.Content)
	case raw[0] == '[':
		text, err := ContentText(raw)
		if err != nil {
			return err
		}
		m.Content, m.Parts = text, bytes.Clone(raw)
		return nil
	}
	return errors.New("content must be a string, null or an array of content parts")
}

// contentPart is what taskrouter reads of one content part; the rest of
// it (image_url, input_audio, file, ...) goes to the model as sent.
type contentPart struct {
	Type *string `json:"type"`
	Text *string `json:"text"`
}

// ContentText checks an array of OpenAI content parts, each an object
// with a type, a "text" part with a string text, and returns the text of
// its text parts joined by PartSeparator.
func ContentText(parts []byte) (string, error) {
	var ps []contentPart
	if err := json.Unmarshal(parts, &ps); err != nil {
		return "", fmt.Errorf("content must be a string or an array of {\"type\": ...} parts: %w", err)
	}
	texts := make([]string, 0, len(ps))
	for i, p := range ps {
		switch {
		case p.Type == nil || *p.Type == "":
			return "", fmt.Errorf("content part %d has no type; text parts are {\"type\": \"text\", \"text\": \"...\"}", i)
		case *p.Type != "text":
		case p.Text == nil:
			return "", fmt.Errorf("content part %d is of type text but has no string text", i)
		default:
			texts = append(texts, *p.Text)
		}
	}
	return strings.Join(texts, PartSeparator), nil
}

// Media returns the type of the first content part that is not text
// ("image_url", "input_audio", ...), or "" when the message is text only.
func (m Message) Media() string {
	if len(m.Parts) == 0 {
		return ""
	}
	var ps []contentPart
	if json.Unmarshal(m.Parts, &ps) != nil {
		return ""
	}
	for _, p := range ps {
		if p.Type != nil && *p.Type != "text" {
			return *p.Type
		}
	}
	return ""
}
