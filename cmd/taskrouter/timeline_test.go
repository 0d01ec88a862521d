package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/taskrouter/taskrouter/task"
)

func TestPrintTimelineDrawsEveryAttemptOnOneAxis(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ms := func(v float64) time.Time { return t0.Add(time.Duration(v * float64(time.Millisecond))) }
	resp := task.Response{Subtasks: []task.SubtaskState{
		{ID: "t1", Capability: "summarize", Timeline: []task.Attempt{
			{Attempt: 1, Model: "local/summarize", DispatchedAt: ms(0), AcceptedAt: ms(2), EndedAt: ms(10)}}},
		{ID: "t2", Capability: "keywords", Timeline: []task.Attempt{
			{Attempt: 1, Model: "gpt-4o", DispatchedAt: ms(0), AcceptedAt: ms(1), EndedAt: ms(8), Error: &task.Error{Code: task.CodeLost}},
			{Attempt: 2, Model: "local/keywords", DispatchedAt: ms(10), AcceptedAt: ms(12), EndedAt: ms(20)}}},
		{ID: "t3", Capability: "langid", Timeline: []task.Attempt{
			{Attempt: 1, Model: "local/langid", DispatchedAt: ms(4), EndedAt: ms(6), Error: &task.Error{Code: task.CodeUnavailable}}}},
	}}
	var b bytes.Buffer
	printTimeline(&b, resp, 80)
	want := `timeline: 20.0ms from the first dispatch to the last answer; ░ queued, █ running, ▒ failed
t1 summarize   |░░░█████████████               | local/summarize 10.0ms
t2 keywords #1 |░░▒▒▒▒▒▒▒▒▒▒                   | gpt-4o 8.00ms lost
t2 keywords #2 |               ░░░░████████████| local/keywords 10.0ms
t3 langid      |      ░░░                      | local/langid 2.00ms unavailable
                0                        20.0ms
`
	if got := b.String(); got != want {
		t.Fatalf("timeline:\n%s\nwant:\n%s", got, want)
	}
	for _, line := range strings.Split(b.String(), "\n")[1:5] {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("a line of %d columns: %q", n, line)
		}
	}
}

// ask --timeline draws the Response's attempts, each starting in the
// column its dispatch falls in.
func TestAskTimelineMatchesTheResponse(t *testing.T) {
	code, out, errOut := runCLI(t, context.Background(), "ask", "--json", "--quiet", "--timeline",
		"Summarize this text, extract its keywords and detect its language: '"+sample+"'")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var resp task.Response
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "timeline: ") {
		t.Fatalf("stderr:\n%s", errOut)
	}
	rows, span := timelineRows(resp)
	for i, st := range resp.Subtasks {
		line := lines[1+i]
		bar := line[strings.Index(line, "|")+1 : strings.LastIndex(line, "|")]
		barW := utf8.RuneCountInString(bar)
		first := utf8.RuneCountInString(bar[:strings.IndexFunc(bar, func(r rune) bool { return r != ' ' })])
		want := min(int(float64(rows[i].start)/float64(span)*float64(barW)), barW-1)
		if !strings.HasPrefix(line, st.ID+" "+st.Capability) || !strings.Contains(line, st.Model) || first != want {
			t.Errorf("line %q: bar starts at column %d, want %d for %s dispatched %s after the first", line, first, want, st.ID, rows[i].start)
		}
	}
}
