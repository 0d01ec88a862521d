package task

import (
	"encoding/json"
	"regexp"
)

// Tools are functions the caller offers the model that writes the answer
// to call, in OpenAI's terms (function calling). They need a request that
// names its model: the model's tool calls come back in the Response
// instead of an answer, and the caller runs the functions and sends the
// results in a later request, as with OpenAI's API.
type Tools struct {
	// Functions is OpenAI's tools array as sent: [{"type": "function",
	// "function": {"name": ..., "description": ..., "parameters": {...}}}].
	Functions json.RawMessage `json:"functions"`
	// Choice is OpenAI's tool_choice as sent: "none", "auto", "required",
	// or {"type": "function", "function": {"name": ...}}.
	Choice json.RawMessage `json:"choice,omitempty"`
	// Parallel is OpenAI's parallel_tool_calls.
	Parallel *bool `json:"parallel,omitempty"`
}

// Limits of Tools.
const (
	MaxTools      = 128
	maxToolsBytes = 256 << 10
)

var functionName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Check reports what is wrong with the tools, naming the field; a nil
// Tools is fine.
func (t *Tools) Check() error {
	if t == nil {
		return nil
	}
	if len(t.Functions)+len(t.Choice) > maxToolsBytes {
		return Errorf(CodeInvalidRequest, "tools are %d bytes, more than the limit of %d", len(t.Functions)+len(t.Choice), maxToolsBytes)
	}
	var fns []struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(t.Functions, &fns); err != nil || len(fns) == 0 {
		return Errorf(CodeInvalidRequest, "tools must be a non-empty array of {\"type\": \"function\", \"function\": {\"name\": ...}} objects")
	}
	if len(fns) > MaxTools {
		return Errorf(CodeInvalidRequest, "tools has %d functions; at most %d are allowed", len(fns), MaxTools)
	}
	names := map[string]bool{}
	for i, f := range fns {
		if f.Type != "function" || f.Function == nil || !functionName.MatchString(f.Function.Name) {
			return Errorf(CodeInvalidRequest, "tools[%d] must be {\"type\": \"function\", \"function\": {\"name\": ...}} with a name of 1 to 64 letters, digits, _ or -", i)
		}
		names[f.Function.Name] = true
	}
	if len(t.Choice) == 0 {
		return nil
	}
	var mode string
	if json.Unmarshal(t.Choice, &mode) == nil {
		if mode != "none" && mode != "auto" && mode != "required" {
			return Errorf(CodeInvalidRequest, "tool_choice %q: use none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}", mode)
		}
		return nil
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(t.Choice, &named); err != nil || named.Type != "function" {
		return Errorf(CodeInvalidRequest, "tool_choice must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}")
	}
	if !names[named.Function.Name] {
		return Errorf(CodeInvalidRequest, "tool_choice names function %q, which tools do not list", named.Function.Name)
	}
	return nil
}

// checkMessage reports what is wrong with the tool parts of one message.
func checkMessage(i int, m Message) error {
	if len(m.ToolCalls) > 0 {
		var calls []json.RawMessage
		if m.Role != "assistant" || json.Unmarshal(m.ToolCalls, &calls) != nil {
			return Errorf(CodeInvalidRequest, "messages[%d]: tool_calls belong to an assistant message and must be an array", i)
		}
	}
	if m.Role == "tool" && m.ToolCallID == "" {
		return Errorf(CodeInvalidRequest, "messages[%d]: a tool message needs the tool_call_id of the call it answers", i)
	}
	return nil
}
