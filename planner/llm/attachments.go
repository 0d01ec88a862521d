package llm

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// attachmentRef matches the reference of a request's attachment: a1, a2...
var attachmentRef = regexp.MustCompile(`^a[1-9][0-9]{0,3}$`)

// withAttachments adds to the request's text the files it brings, as
// HuggingGPT shows resources to its planner: each a placeholder the plan
// may use, {{a1}}, with its type, so that the model plans a caption of
// an image or a transcription of a recording, and never sees the bytes.
func withAttachments(text string, req task.Request) string {
	if len(req.Attachments) == 0 {
		return text
	}
	var b strings.Builder
	b.WriteString(text)
	b.WriteString("\nAttachments (the files sent with the request; a subtask works on one by writing its placeholder in input, " +
		"and only a capability whose inputs include its type can take it):")
	for i, a := range req.Attachments {
		fmt.Fprintf(&b, "\n- {{%s}}: %s %s", task.AttachmentRef(i), task.KindOfMIME(a.MIME), describe(a))
	}
	return b.String()
}

// describe names an attachment without its id, which the model has no
// use for: "photo.png (image/png, 12,345 bytes)".
func describe(a task.Attachment) string {
	name := a.Name
	if name == "" {
		name = "unnamed"
	}
	size := a.Size
	if size == 0 {
		size = int64(len(a.Data))
	}
	return fmt.Sprintf("%s (%s, %s bytes)", name, a.MIME, thousands(size))
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// isAttachment reports whether a reference names an attachment rather
// than a subtask of the plan: such a reference implies no dependency.
func (n *normaliser) isAttachment(ref string) bool {
	_, isTask := n.pos[ref]
	return !isTask && attachmentRef.MatchString(ref)
}
