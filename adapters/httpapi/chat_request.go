package httpapi

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// chat is a checked chat completion request: the part of OpenAI's request
// taskrouter reads. Besides model, messages, stream, stream_options and n
// (1 only), that is the generation settings, for the model that writes the
// answer: temperature, top_p, max_tokens or max_completion_tokens, stop,
// seed, presence_penalty, frequency_penalty and response_format (see
// samplingReader), and function calling: tools, tool_choice and
// parallel_tool_calls, passed as sent to the model the request names (see
// checkTools). The older functions and function_call are refused with a
// pointer to tools. Other fields (logit_bias, logprobs, user, ...) are
// accepted and ignored, as OpenAI-compatible servers do for what they do
// not change. taskrouter's own extensions ride as extra body fields:
// planner, policy, prefer_local and max_cost.
type chat struct {
	model        string
	messages     []task.Message
	stream       bool
	includeUsage bool
	hints        task.Hints
	planner      string
	sampling     samplingReader
	// functions, tool_choice and parallel_tool_calls as sent; tools is
	// built from them by check, nil when the request offers no function.
	functions  gjson.Result
	toolChoice gjson.Result
	parallel   *bool
	tools      *task.Tools
	// legacy names the older function-calling field sent, if any.
	legacy string
}

var roles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true}

// decodeChat parses and checks a chat completion request body. It reads
// the fields it needs in one pass with gjson instead of decoding the whole
// body by reflection: this is the hot path of every completion.
func decodeChat(body []byte) (chat, *apiError) {
	if e := checkDepth(body); e != nil {
		return chat{}, e
	}
	if !gjson.ValidBytes(body) {
		return chat{}, badRequest("invalid_json", "We could not parse the JSON body of your request: it is not valid JSON.")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return chat{}, badRequest("invalid_json", "The request body must be a JSON object.")
	}
	var c chat
	var e *apiError
	root.ForEach(func(k, v gjson.Result) bool {
		e = c.field(k.Str, v)
		return e == nil
	})
	if e != nil {
		return chat{}, e
	}
	return c, c.check()
}

// field reads one top-level field; JSON null leaves a field unset.
func (c *chat) field(name string, v gjson.Result) *apiError {
	if v.Type == gjson.Null {
		return nil
	}
	var ok bool
	switch name {
	case "model":
		c.model, ok = str(v)
	case "messages":
		return c.readMessages(v)
	case "stream":
		c.stream, ok = boolean(v)
	case "stream_options":
		ok = v.IsObject()
		if u := v.Get("include_usage"); ok && u.Exists() && u.Type != gjson.Null {
			c.includeUsage, ok = boolean(u)
		}
	case "n":
		ok = v.Type == gjson.Number
		if ok && v.Num != 1 {
			return badRequest("unsupported_n", "Only n=1 is supported.").withParam("n")
		}
	case "planner":
		c.planner, ok = str(v)
	case "policy":
		c.hints.Policy, ok = str(v)
	case "prefer_local":
		c.hints.PreferLocal, ok = boolean(v)
	case "max_cost":
		c.hints.MaxCostUSD, ok = v.Num, v.Type == gjson.Number
	case "tools":
		c.functions, ok = v, v.IsArray()
	case "tool_choice":
		c.toolChoice, ok = v, v.Type == gjson.String || v.IsObject()
	case "parallel_tool_calls":
		var p bool
		p, ok = boolean(v)
		c.parallel = &p
	case "functions", "function_call":
		if c.legacy == "" || name == "functions" {
			c.legacy = name
		}
		return nil
	case "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed",
		"presence_penalty", "frequency_penalty", "response_format":
		return c.sampling.field(name, v)
	default:
		return nil
	}
	if !ok {
		return badRequest("invalid_type", fmt.Sprintf("%q has the wrong type; see the OpenAI chat completions reference.", name)).withParam(name)
	}
	return nil
}

func str(v gjson.Result) (string, bool)   { return v.Str, v.Type == gjson.String }
func boolean(v gjson.Result) (bool, bool) { return v.Type == gjson.True, v.IsBool() }

func (c *chat) readMessages(v gjson.Result) *apiError {
	if !v.IsArray() {
		return badRequest("invalid_type", "'messages' must be an array of {role, content} objects.").withParam("messages")
	}
	var e *apiError
	v.ForEach(func(_, m gjson.Result) bool {
		i := len(c.messages)
		var msg task.Message
		if msg, e = readMessage(i, m); e == nil {
			c.messages = append(c.messages, msg)
		}
		return e == nil
	})
	return e
}

func readMessage(i int, m gjson.Result) (task.Message, *apiError) {
	param := fmt.Sprintf("messages[%d]", i)
	if !m.IsObject() {
		return task.Message{}, badRequest("invalid_type", param+" must be an object with role and content.").withParam(param)
	}
	role := m.Get("role")
	if role.Type != gjson.String || !roles[role.Str] {
		return task.Message{}, badRequest("invalid_role", fmt.Sprintf("%s.role %q must be one of system, developer, user, assistant, tool.", param, role.String())).withParam(param + ".role")
	}
	text, err := content(m.Get("content"))
	if err != "" {
		return task.Message{}, badRequest("invalid_content", param+".content "+err).withParam(param + ".content")
	}
	msg := task.Message{Role: role.Str, Content: text}
	if e := readToolParts(&msg, param, m); e != nil {
		return task.Message{}, e
	}
	return msg, nil
}

// readToolParts reads what a message carries for function calling: an
// assistant's tool_calls, a tool message's tool_call_id (which it must
// have), and any message's name.
func readToolParts(msg *task.Message, param string, m gjson.Result) *apiError {
	if v := m.Get("name"); v.Exists() && v.Type != gjson.Null {
		if v.Type != gjson.String {
			return wrongType(param+".name", "a string")
		}
		msg.Name = v.Str
	}
	calls := m.Get("tool_calls")
	switch {
	case msg.Role == "assistant":
		return readToolCalls(msg, param+".tool_calls", calls)
	case calls.Exists() && calls.Type != gjson.Null:
		return badRequest("invalid_value", param+" carries tool_calls, which only an assistant message may.").withParam(param + ".tool_calls")
	case msg.Role == "tool":
		id := m.Get("tool_call_id")
		if id.Type != gjson.String || id.Str == "" {
			return badRequest("missing_tool_call_id", param+" is a tool message: it needs 'tool_call_id', the id of the call it answers.").
				withParam(param + ".tool_call_id")
		}
		msg.ToolCallID = id.Str
	}
	return nil
}

// readToolCalls reads an assistant's tool_calls, each {"id", "type":
// "function", "function": {"name", "arguments"}}, and keeps them as sent
// for the model; an empty array is as if absent.
func readToolCalls(msg *task.Message, param string, v gjson.Result) *apiError {
	if !v.Exists() || v.Type == gjson.Null {
		return nil
	}
	if !v.IsArray() {
		return wrongType(param, "an array of tool calls")
	}
	n, bad := 0, false
	v.ForEach(func(_, call gjson.Result) bool {
		bad = call.Get("id").Type != gjson.String || call.Get("function.name").Type != gjson.String
		if !bad {
			n++
		}
		return !bad
	})
	if bad {
		at := fmt.Sprintf("%s[%d]", param, n)
		return badRequest("invalid_value", at+` must be {"id": ..., "type": "function", "function": {"name": ..., "arguments": ...}}, as the model sent it.`).withParam(at)
	}
	if n > 0 {
		msg.ToolCalls = json.RawMessage(v.Raw)
	}
	return nil
}

// content reads a message's content: a string, null, or an array of parts
// whose text parts are joined. Other parts (images, audio) are refused: no
// taskrouter model takes them. The second result says what is wrong.
func content(v gjson.Result) (string, string) {
	switch {
	case v.Type == gjson.String:
		return v.Str, ""
	case !v.Exists() || v.Type == gjson.Null:
		return "", ""
	case !v.IsArray():
		return "", "must be a string or an array of text parts."
	}
	var sb strings.Builder
	bad := ""
	v.ForEach(func(_, p gjson.Result) bool {
		if t := p.Get("type"); t.Str != "text" || t.Type != gjson.String {
			bad = fmt.Sprintf("has a part of type %q; only text parts are supported.", t.String())
			return false
		}
		sb.WriteString(p.Get("text").Str)
		return true
	})
	return sb.String(), bad
}

// check reports what the request lacks.
func (c *chat) check() *apiError {
	if c.model == "" {
		return badRequest("missing_model", "You must provide a model parameter: \"taskrouter\" or a name from GET /v1/models.").withParam("model")
	}
	if e := c.checkTools(); e != nil {
		return e
	}
	if len(c.messages) == 0 {
		return badRequest("missing_messages", "'messages' must be a non-empty array ending with a user message.").withParam("messages")
	}
	for _, m := range c.messages {
		if m.Role == "user" && strings.TrimSpace(m.Content) != "" {
			return nil
		}
	}
	return badRequest("missing_user_message", "'messages' must include a user message with text; the last one is the request.").withParam("messages")
}

// checkTools builds the request's Tools from tools, tool_choice and
// parallel_tool_calls, checked one field at a time so that an error names
// its field. An empty tools list offers nothing: it is as if absent, and
// then so are the other two. Model "taskrouter" refuses tools, since a
// planned answer is text and never tool calls, unless tool_choice "none"
// says they may not be called, which is what a planned answer does.
func (c *chat) checkTools() *apiError {
	if c.legacy != "" {
		return badRequest("unsupported_functions", "'"+c.legacy+"' is OpenAI's deprecated form of function calling: "+
			`send the functions as 'tools' ([{"type": "function", "function": {...}}]) and the choice as 'tool_choice'.`).withParam(c.legacy)
	}
	if c.functions.Get("#").Int() == 0 {
		return nil
	}
	if c.model == ModelTaskrouter {
		if c.toolChoice.Type == gjson.String && c.toolChoice.Str == "none" {
			return nil
		}
		return badRequest("tools_need_model", `Model "taskrouter" plans the request and answers with text, never with tool calls: `+
			"to offer 'tools', name the model that may call them, one from GET /v1/models.").withParam("tools")
	}
	t := &task.Tools{Functions: json.RawMessage(c.functions.Raw), Parallel: c.parallel}
	if err := t.Check(); err != nil {
		return badRequest("invalid_value", task.AsError(err).Message+".").withParam("tools")
	}
	if c.toolChoice.Exists() {
		t.Choice = json.RawMessage(c.toolChoice.Raw)
		if err := t.Check(); err != nil {
			return badRequest("invalid_value", task.AsError(err).Message+".").withParam("tool_choice")
		}
	}
	c.tools = t
	return nil
}
