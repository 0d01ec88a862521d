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
// pointer to tools. Other fields (logit_bias, logprobs, user, ...) are not
// read: a remote model the request names gets the whole body as sent (see
// task.Request.Body), and taskrouter's planned answers have no use for
// them. taskrouter's own extensions ride as extra body fields: planner,
// policy, prefer_local and max_cost.
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
	// choices is n, how many answers the client asks for: a remote model
	// named by the request gives them (see checkNamed), taskrouter one.
	choices int
	// media is the type of the first content part that is not text, and
	// mediaAt where it is: only a remote model named by the request takes
	// such parts (see checkMedia).
	media, mediaAt string
	// memory is the conversation, memory scope and cache setting.
	memory memoryFields
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
		if ok && (v.Num < 1 || v.Num != float64(int(v.Num))) {
			return badRequest("invalid_value", fmt.Sprintf("n is %s; it must be an integer of at least 1.", v.Raw)).withParam("n")
		}
		c.choices = int(v.Num)
	case "planner":
		c.planner, ok = str(v)
	case "conversation":
		c.memory.conversation, ok = str(v)
	case "memory_scope":
		c.memory.scope, ok = str(v)
	case "cache":
		var on bool
		on, ok = boolean(v)
		c.memory.cache = &on
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
		var media string
		if msg, media, e = readMessage(i, m); e == nil {
			c.messages = append(c.messages, msg)
		}
		if media != "" && c.media == "" {
			c.media, c.mediaAt = media, fmt.Sprintf("messages[%d].content", i)
		}
		return e == nil
	})
	return e
}

// readMessage reads one message; media is the type of its first content
// part that is not text, if any.
func readMessage(i int, m gjson.Result) (task.Message, string, *apiError) {
	param := fmt.Sprintf("messages[%d]", i)
	if !m.IsObject() {
		return task.Message{}, "", badRequest("invalid_type", param+" must be an object with role and content.").withParam(param)
	}
	role := m.Get("role")
	if role.Type != gjson.String || !roles[role.Str] {
		return task.Message{}, "", badRequest("invalid_role", fmt.Sprintf("%s.role %q must be one of system, developer, user, assistant, tool.", param, role.String())).withParam(param + ".role")
	}
	text, parts, media, bad := content(m.Get("content"))
	if bad != "" {
		return task.Message{}, "", badRequest("invalid_content", param+".content"+bad).withParam(param + ".content")
	}
	msg := task.Message{Role: role.Str, Content: text, Parts: parts}
	if e := readToolParts(&msg, param, m); e != nil {
		return task.Message{}, "", e
	}
	return msg, media, nil
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

// content reads a message's content: a string, null, or an array of
// parts, kept as sent for a model the request names, whose text parts are
// joined by a newline for taskrouter's own use. Each part needs a type,
// and a text part a string text. bad, when not empty, says what is wrong,
// after the content's name; media is the type of the first part that is
// not text, if any.
func content(v gjson.Result) (text string, parts json.RawMessage, media string, bad string) {
	switch {
	case v.Type == gjson.String:
		return v.Str, nil, "", ""
	case !v.Exists() || v.Type == gjson.Null:
		return "", nil, "", ""
	case !v.IsArray():
		return "", nil, "", " must be a string or an array of content parts."
	}
	var texts []string
	i := 0
	v.ForEach(func(_, p gjson.Result) bool {
		t := p.Get("type")
		switch {
		case !p.IsObject() || t.Type != gjson.String || t.Str == "":
			bad = fmt.Sprintf("[%d] must be a content part: an object with a type, such as {\"type\": \"text\", \"text\": \"...\"}.", i)
		case t.Str != "text":
			if media == "" {
				media = t.Str
			}
		case p.Get("text").Type != gjson.String:
			bad = fmt.Sprintf("[%d] is a text part without a string 'text'.", i)
		default:
			texts = append(texts, p.Get("text").Str)
		}
		i++
		return bad == ""
	})
	return strings.Join(texts, task.PartSeparator), json.RawMessage(v.Raw), media, bad
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
	if e := c.checkRemote(c.model != ModelTaskrouter); e != nil {
		return e
	}
	for _, m := range c.messages {
		if m.Role == "user" && (strings.TrimSpace(m.Content) != "" || m.Media() != "" && c.model != ModelTaskrouter) {
			return nil
		}
	}
	return badRequest("missing_user_message", "'messages' must include a user message with text; the last one is the request.").withParam("messages")
}

// checkRemote refuses what only a remote model named by the request can
// do, when the request is for taskrouter's planned steps or a built-in
// local model: content parts other than text for a built-in model (it
// reads text, and would answer as if the image or audio were not there;
// taskrouter takes them as attachments) and n > 1 (they answer once).
func (c *chat) checkRemote(remote bool) *apiError {
	// Model "taskrouter" takes media parts as the request's attachments.
	media := c.media != "" && c.model != ModelTaskrouter
	if remote || !media && c.choices <= 1 {
		return nil
	}
	who := `Model "taskrouter" plans the request and answers once`
	if c.model != ModelTaskrouter {
		who = "Model '" + c.model + "' is a built-in local model: it reads text and answers once"
	}
	if media {
		return badRequest("unsupported_content", who+"; "+c.mediaAt+" has a part of type '"+c.media+
			"'. Send it to a remote model that takes it, named in 'model', or send text parts only.").withParam(c.mediaAt)
	}
	return badRequest("unsupported_n", who+"; n above 1 needs a remote model, named in 'model'.").withParam("n")
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
