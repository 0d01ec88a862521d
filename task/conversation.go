package task

import (
	"unicode"
	"unicode/utf8"
)

// MaxConversationID bounds a conversation id or memory scope, in bytes.
const MaxConversationID = 256

// HeaderConversation names a conversation on HTTP, instead of the
// "conversation" field of a chat completion or a job.
const HeaderConversation = "X-Taskrouter-Conversation"

// CheckConversationID reports what is wrong with a conversation id or a
// memory scope a caller chose (what names it): 1 to MaxConversationID
// bytes of valid UTF-8, with no control characters and no space at
// either end, so that an id looks the same in a header, a URL path, a
// log line and JSON.
func CheckConversationID(what, id string) error {
	switch {
	case id == "":
		return Errorf(CodeInvalidRequest, "%s is empty: name it with 1 to %d characters, such as a thread or ticket id", what, MaxConversationID)
	case len(id) > MaxConversationID:
		return Errorf(CodeInvalidRequest, "%s is %d bytes; keep it to %d", what, len(id), MaxConversationID)
	case !utf8.ValidString(id):
		return Errorf(CodeInvalidRequest, "%s is not valid UTF-8", what)
	}
	for i, r := range id {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return Errorf(CodeInvalidRequest, "%s has a control character at byte %d; use letters, digits and punctuation", what, i)
		}
	}
	first, _ := utf8.DecodeRuneInString(id)
	last, _ := utf8.DecodeLastRuneInString(id)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return Errorf(CodeInvalidRequest, "%s starts or ends with a space", what)
	}
	return nil
}

// checkMemory checks the request's conversation, its memory scope and
// its cache setting.
func (r Request) checkMemory() error {
	if r.Conversation != "" {
		if err := CheckConversationID("conversation", r.Conversation); err != nil {
			return err
		}
	}
	if r.MemoryScope == "" {
		return nil
	}
	if r.Conversation == "" {
		return Errorf(CodeInvalidRequest, "memory_scope needs a conversation: name the conversation the request belongs to in \"conversation\"")
	}
	return CheckConversationID("memory_scope", r.MemoryScope)
}

// CacheAllowed reports whether the request's steps may use the cache of
// deterministic answers: not when it says "cache": false, and not when it
// belongs to a conversation, whose memory is in its steps' prompts and
// must leave no copy behind when the conversation is deleted.
func (r Request) CacheAllowed() bool {
	return (r.Cache == nil || *r.Cache) && r.Conversation == ""
}
