package memory

import (
	"fmt"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Messages returns what the session adds to a request's context, before
// the caller's own messages: a system message with the summary and the
// recalled turns (marked as recalled, with their dates), then the recent
// turns as they were said. Nil when there is nothing.
func (s *Session) Messages() []task.Message {
	var out []task.Message
	if note := s.note(); note != "" {
		out = append(out, task.Message{Role: "system", Content: note})
	}
	for _, t := range s.Recent {
		out = append(out, task.Message{Role: t.Role, Content: t.Content})
	}
	return out
}

// note is the system message of the summary and the recalled turns.
func (s *Session) note() string {
	if s.Summary == nil && len(s.Recalled) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Memory of this conversation, kept by taskrouter.")
	if s.Summary != nil {
		fmt.Fprintf(&b, "\n\nSummary of the conversation up to turn %d (%s):\n%s", s.Summary.Through,
			day(s.Summary.UpdatedAt), strings.TrimSpace(s.Summary.Text))
	}
	if len(s.Recalled) > 0 {
		b.WriteString("\n\nRecalled from earlier turns (they may be out of date):")
		for _, r := range s.Recalled {
			where := ""
			if r.Conversation != s.key.Conversation {
				where = fmt.Sprintf(", conversation %q", r.Conversation)
			}
			fmt.Fprintf(&b, "\n- [%s, %s%s] %s", day(r.Time), r.Role, where, oneLine(r.Content))
		}
	}
	return b.String()
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// DropRecalled leaves the recalled turns out of the context; it returns
// how many there were.
func (s *Session) DropRecalled() int {
	n := len(s.Recalled)
	s.Recalled = nil
	return n
}

// FoldInput is what a summarize model reads to fold the first n recent
// turns into the summary: the summary so far and those turns, never the
// turns it already covers. through is the last seq it covers then.
func (s *Session) FoldInput(n int) (input string, through int64) {
	n = min(n, len(s.Recent))
	if n == 0 {
		return "", 0
	}
	var b strings.Builder
	if s.Summary != nil {
		b.WriteString("Summary of the conversation so far: ")
		b.WriteString(strings.TrimSpace(s.Summary.Text))
		b.WriteString("\n\n")
	}
	for _, t := range s.Recent[:n] {
		fmt.Fprintf(&b, "%s: %s\n", roleName(t.Role), strings.TrimSpace(t.Content))
	}
	return b.String(), s.Recent[n-1].Seq
}

func roleName(role string) string {
	if role == "assistant" {
		return "Assistant"
	}
	return "User"
}

// Unsummarized is how many turns the context holds verbatim.
func (s *Session) Unsummarized() int { return len(s.Recent) }
