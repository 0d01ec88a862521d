package httpapi

import (
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
// samplingReader). Function calling is refused: a request with tools (or
// the older functions) that the model may call gets a 400 rather than an
// answer that silently never calls them; tool_choice "none" makes them
// harmless, and an empty list is none. Other fields (logit_bias, logprobs,
// user, ...) are accepted and ignored, as OpenAI-compatible servers do for
// what they do not change. taskrouter's own extensions ride as extra body
// fields: planner, policy, prefer_local and max_cost.
type chat struct {
	model        string
	messages     []task.Message
	stream       bool
	includeUsage bool
	hints        task.Hints
	planner      string
	sampling     samplingReader
	// tools names the field that offers the model functions to call
	// ("tools" or "functions"), and toolChoiceNone says they may not be.
	tools          string
	toolChoiceNone bool
}

var roles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true}

// decodeChat parses and checks a chat completion request body. It reads
// the fields it needs in one pass with gjson instead of decoding the whole
// body by reflection: this is the hot path of every completion.
func decodeChat(body []byte) (chat, *apiError) {
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
	case "tools", "functions":
		ok = v.IsArray()
		if ok && len(v.Array()) > 0 {
			c.tools = name
		}
	case "tool_choice", "function_call":
		c.toolChoiceNone = v.Str == "none"
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
	return task.Message{Role: role.Str, Content: text}, nil
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
	if c.tools != "" && !c.toolChoiceNone {
		return badRequest("unsupported_tools", "Function calling is not supported: taskrouter answers with text and never returns tool_calls. "+
			"Leave '"+c.tools+"' out (or set tool_choice to \"none\"), or call the model's own API for function calling.").withParam(c.tools)
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
