package openai

import (
	"slices"
	"sort"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/taskrouter/taskrouter/task"
)

// maxArgLen bounds an argument's value inside the system message.
const maxArgLen = 200

// instruction is the system message of one capability: a function of the
// work's args, and the args it consumes (the rest are listed after it).
type instruction struct {
	text func(args map[string]string) string
	uses []string
}

func fixed(s string) instruction {
	return instruction{text: func(map[string]string) string { return s }}
}

// instructions holds the capabilities this backend knows how to phrase;
// any other capability gets a generic instruction naming it.
var instructions = map[string]instruction{
	"chat":      fixed("You are a helpful assistant. Answer the user's message."),
	"translate": {text: translateInstruction, uses: []string{"target_lang", "source_lang"}},
	"summarize": fixed("Summarize the user's text. Reply with the summary only."),
	"classify":  {text: classifyInstruction, uses: []string{"labels"}},
	"sentiment": fixed("Classify the sentiment of the user's text as positive, negative or neutral. Reply with the label only."),
	"extract":   fixed("Extract the facts the user's text asks for, or its key facts. Reply with JSON only."),
	"code":      fixed("Write the code the user asks for. Reply with the code and a short explanation."),
	"qa":        fixed("Answer the user's question accurately and briefly."),
	"rewrite":   fixed("Rewrite the user's text as asked, keeping its meaning. Reply with the rewritten text only."),
	"plan":      fixed("You plan tasks. Follow the instructions in the user's message and reply with the plan JSON only."),
	"caption":   fixed("Describe the image in one or two sentences: what it shows, its main colours and its setting. Reply with the description only."),
	"vqa":       fixed("Answer the user's question about the image accurately and briefly."),
	"ocr":       fixed("Read all the text in the image, keeping its lines and order. Reply with that text only."),
	"merge":     fixed("Write one final answer for the user from the request and the subtask results in the user's message. Reply with the answer only."),
}

// languages names common language codes in words, which models follow
// more reliably than codes.
var languages = map[string]string{
	"ar": "Arabic", "de": "German", "en": "English", "es": "Spanish", "fr": "French",
	"hi": "Hindi", "it": "Italian", "ja": "Japanese", "ko": "Korean", "nl": "Dutch",
	"pl": "Polish", "pt": "Portuguese", "ru": "Russian", "sv": "Swedish", "tr": "Turkish",
	"uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese", "zh-cn": "Simplified Chinese",
	"zh-tw": "Traditional Chinese",
}

func languageName(code string) string {
	if n, ok := languages[strings.ToLower(code)]; ok {
		return n
	}
	return code
}

func translateInstruction(args map[string]string) string {
	target := languageName(argValue(args["target_lang"]))
	if target == "" {
		target = "English"
	}
	from := ""
	if src := argValue(args["source_lang"]); src != "" {
		from = " from " + languageName(src)
	}
	return "Translate the user's text" + from + " into " + target + ". Reply with the translation only."
}

func classifyInstruction(args map[string]string) string {
	if labels := argValue(args["labels"]); labels != "" {
		return "Classify the user's text as one of: " + labels + ". Reply with the label only."
	}
	return "Classify the user's text. Reply with a short label only."
}

// SystemMessage returns the instruction for a capability and its args.
func SystemMessage(capability string, args map[string]string) string {
	in, ok := instructions[capability]
	if !ok {
		in = fixed("Do the task \"" + argValue(capability) + "\" on the user's text. Reply with the result only.")
	}
	text := in.text(args)
	var rest []string
	for k, v := range args {
		if !slices.Contains(in.uses, k) {
			rest = append(rest, argValue(k)+"="+argValue(v))
		}
	}
	if len(rest) > 0 {
		sort.Strings(rest)
		text += " Parameters: " + strings.Join(rest, ", ") + "."
	}
	return text
}

// Messages builds the chat messages of a work: the instruction, the
// earlier conversation, the input, then the conversation after it (the
// assistant's tool calls and the tool results). It fails only on tool
// calls that are not OpenAI's.
func Messages(w task.Work) ([]goopenai.ChatCompletionMessage, error) {
	msgs := make([]goopenai.ChatCompletionMessage, 0, len(w.Context)+len(w.After)+2)
	msgs = append(msgs, goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleSystem, Content: SystemMessage(w.Capability, w.Args)})
	msgs, err := appendMessages(msgs, "context", w.Context)
	if err != nil {
		return nil, err
	}
	msgs = append(msgs, goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleUser, Content: w.Input})
	return appendMessages(msgs, "after", w.After)
}

func appendMessages(msgs []goopenai.ChatCompletionMessage, part string, conv []task.Message) ([]goopenai.ChatCompletionMessage, error) {
	for i, c := range conv {
		m := goopenai.ChatCompletionMessage{Role: role(c), Content: c.Content, Name: c.Name}
		switch m.Role {
		case goopenai.ChatMessageRoleAssistant:
			calls, err := toolCalls(c.ToolCalls)
			if err != nil {
				return nil, task.Errorf(task.CodeInvalidRequest, "%s[%d]: tool_calls are not OpenAI tool calls: %v", part, i, err)
			}
			// An assistant message of only tool calls goes without
			// content (go-openai omits it), which OpenAI and the common
			// local servers take as null.
			m.ToolCalls = calls
		case goopenai.ChatMessageRoleTool:
			m.ToolCallID = c.ToolCallID
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// role maps a conversation message's role to one the API accepts; unknown
// roles, and tool results that name no call, become user turns.
func role(m task.Message) string {
	switch m.Role {
	case goopenai.ChatMessageRoleSystem, goopenai.ChatMessageRoleAssistant, goopenai.ChatMessageRoleDeveloper:
		return m.Role
	case goopenai.ChatMessageRoleTool:
		if m.ToolCallID != "" {
			return m.Role
		}
	}
	return goopenai.ChatMessageRoleUser
}

// argValue keeps an argument to one bounded line inside the instruction.
func argValue(v string) string {
	v = strings.Join(strings.Fields(v), " ")
	if len(v) > maxArgLen {
		v = strings.ToValidUTF8(v[:maxArgLen], "")
	}
	return v
}
