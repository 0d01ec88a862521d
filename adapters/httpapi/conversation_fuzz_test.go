package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/taskrouter/taskrouter/task"
)

// The conversation header and Cache-Control come from any client: they
// never panic, and what is accepted is a valid id.
func FuzzConversationHeaders(f *testing.F) {
	for _, s := range []string{"thread-1", " spaced ", "", "a\x00b", "中文会话", strings.Repeat("x", 300), "no-cache", "max-age=0, No-Store", "no-cache=\"x\",,"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, conv, cacheControl string) {
		h := http.Header{}
		h.Set(task.HeaderConversation, conv)
		h.Set("Cache-Control", cacheControl)
		id, e := conversationHeader(h)
		if e == nil && id != "" && (task.CheckConversationID("id", id) != nil || !utf8.ValidString(id)) {
			t.Fatalf("accepted the invalid id %q", id)
		}
		if got, want := noCache(h), strings.Contains(strings.ToLower(cacheControl), "no-"); got && !want {
			t.Fatalf("noCache(%q) = true", cacheControl)
		}
	})
}
