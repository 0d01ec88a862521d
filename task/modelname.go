package task

import "fmt"

// MaxModelNameBytes bounds a model's name.
const MaxModelNameBytes = 128

// ModelNameChars says in words which characters a model name may hold.
const ModelNameChars = "letters a-z and A-Z, digits and - _ . / : @ +"

// CheckModelName reports whether name can name a model: 1 to
// MaxModelNameBytes of ModelNameChars, which covers names such as
// gpt-4o-mini, Qwen/Qwen2.5-7B-Instruct and llama3.1:8b. Whitespace and
// the rest are refused: NATS queue groups, which carry the name, refuse
// whitespace, and a name is typed in requests and configs. The error is
// a *Error with CodeInvalidRequest naming the first bad character.
func CheckModelName(name string) error {
	if name == "" {
		return Errorf(CodeInvalidRequest, "a model needs a name")
	}
	if len(name) > MaxModelNameBytes {
		return Errorf(CodeInvalidRequest, "model name %.40q... is %d bytes; the limit is %d", name, len(name), MaxModelNameBytes)
	}
	for i, r := range name {
		if !modelNameChar(r) {
			return Errorf(CodeInvalidRequest, "model name %q has %s at byte %d; a name holds %s", name, describeRune(r), i, ModelNameChars)
		}
	}
	return nil
}

func modelNameChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	switch r {
	case '-', '_', '.', '/', ':', '@', '+':
		return true
	}
	return false
}

func describeRune(r rune) string {
	switch r {
	case ' ':
		return "a space"
	case '\t':
		return "a tab"
	case '\n', '\r':
		return "a line break"
	}
	return fmt.Sprintf("%q", r)
}
