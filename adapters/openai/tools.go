package openai

import (
	"encoding/json"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/taskrouter/taskrouter/task"
)

// noParameters stands in for a function without parameters: go-openai
// always sends the parameters key, and null is refused where an empty
// object schema is what OpenAI documents leaving it out to mean.
var noParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// function is one entry of OpenAI's tools array as a caller sends it.
type function struct {
	Type     goopenai.ToolType `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      bool            `json:"strict"`
	} `json:"function"`
}

// applyTools sets the caller's functions, tool_choice and
// parallel_tool_calls on req. The parameter schemas go out as the caller
// wrote them, as json.RawMessage, for the reason responseFormat gives. A
// nil t leaves req without tools.
func (m *Model) applyTools(req *goopenai.ChatCompletionRequest, t *task.Tools) error {
	if t == nil {
		return nil
	}
	var fns []function
	if err := json.Unmarshal(t.Functions, &fns); err != nil {
		return task.Errorf(task.CodeInvalidRequest, "model %q: tools is not an array of function objects: %v", m.spec.Name, err)
	}
	req.Tools = make([]goopenai.Tool, len(fns))
	for i, f := range fns {
		params := f.Function.Parameters
		if len(params) == 0 || string(params) == "null" {
			params = noParameters
		}
		req.Tools[i] = goopenai.Tool{Type: f.Type, Function: &goopenai.FunctionDefinition{
			Name: f.Function.Name, Description: f.Function.Description, Strict: f.Function.Strict, Parameters: params,
		}}
	}
	if len(t.Choice) > 0 {
		choice, err := m.toolChoice(t.Choice)
		if err != nil {
			return err
		}
		req.ToolChoice = choice
	}
	if t.Parallel != nil {
		req.ParallelToolCalls = *t.Parallel
	}
	return nil
}

// toolChoice maps a caller's tool_choice to go-openai's: a mode as a
// string, a named function as a goopenai.ToolChoice.
func (m *Model) toolChoice(raw json.RawMessage) (any, error) {
	var mode string
	if json.Unmarshal(raw, &mode) == nil {
		return mode, nil
	}
	var named goopenai.ToolChoice
	if err := json.Unmarshal(raw, &named); err != nil {
		return nil, task.Errorf(task.CodeInvalidRequest, "model %q: tool_choice is neither a string nor an object: %v", m.spec.Name, err)
	}
	return named, nil
}

// toolCalls decodes the tool_calls of a conversation message. OpenAI
// requires each call's type, which callers may leave out.
func toolCalls(raw json.RawMessage) ([]goopenai.ToolCall, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var calls []goopenai.ToolCall
	if err := json.Unmarshal(raw, &calls); err != nil {
		return nil, err
	}
	for i := range calls {
		calls[i].Index = nil
		if calls[i].Type == "" {
			calls[i].Type = goopenai.ToolTypeFunction
		}
	}
	return calls, nil
}

// call is one tool call of an answer in OpenAI's shape. Unlike
// goopenai.ToolCall it always has every field, arguments included, as
// OpenAI's answers do.
type call struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// callsJSON encodes an answer's tool calls as OpenAI's tool_calls array;
// none give nil.
func callsJSON(calls []call) json.RawMessage {
	if len(calls) == 0 {
		return nil
	}
	for i := range calls {
		if calls[i].Type == "" {
			calls[i].Type = string(goopenai.ToolTypeFunction)
		}
	}
	b, _ := json.Marshal(calls) // strings only: cannot fail
	return b
}

// fromToolCalls converts the tool calls of an unstreamed answer.
func fromToolCalls(tcs []goopenai.ToolCall) []call {
	calls := make([]call, len(tcs))
	for i, tc := range tcs {
		calls[i].ID, calls[i].Type = tc.ID, string(tc.Type)
		calls[i].Function.Name, calls[i].Function.Arguments = tc.Function.Name, tc.Function.Arguments
	}
	return calls
}

// finishReason puts an upstream's finish_reason in OpenAI's words, or ""
// when it has none of them (some local servers say "eos"). The legacy
// "function_call" is a tool call.
func finishReason(reason string) string {
	switch reason {
	case "stop", "length", "tool_calls", "content_filter":
		return reason
	case "function_call":
		return "tool_calls"
	}
	return ""
}

// estimateCalls estimates the tokens of tool calls, for upstreams that
// report no usage.
func estimateCalls(calls []call) int {
	var b strings.Builder
	for _, c := range calls {
		b.WriteString(c.Function.Name)
		b.WriteString(c.Function.Arguments)
	}
	return task.EstimateTokens(b.String())
}
