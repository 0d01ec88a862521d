package openai

import (
	"strings"
	"unicode/utf8"
)

// maxUpstreamMessage bounds how much of an upstream's error text is kept.
const maxUpstreamMessage = 300

// secret is the API key and the name of the variable that held it. It
// redacts the key from any text that came from outside.
type secret struct {
	key string
	env string
}

// clean returns upstream text fit for an error message: the key replaced,
// whitespace collapsed, and the length bounded.
func (s secret) clean(text string) string {
	if s.key != "" {
		text = strings.ReplaceAll(text, s.key, "[redacted]")
	}
	text = strings.Join(strings.Fields(text), " ")
	if len(text) > maxUpstreamMessage {
		cut := maxUpstreamMessage
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "..."
	}
	return text
}

// checkKey says what to do about a refused key, naming the variable.
func (s secret) checkKey() string {
	switch {
	case s.env == "":
		return "set api_key_env in the model spec to the environment variable that holds the key"
	case s.key == "":
		return "$" + s.env + " (api_key_env) is empty or unset; set it to the model's API key and restart"
	}
	return "check the key in $" + s.env
}
