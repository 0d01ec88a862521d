package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskrouter/taskrouter/task"
)

// The cells of a timeline bar.
const (
	cellQueued = '░' // dispatched, not yet accepted by an executor
	cellRan    = '█' // accepted, working: an attempt that answered
	cellFailed = '▒' // accepted, working: an attempt that failed
)

// timelineRow is one attempt of a subtask on the timeline.
type timelineRow struct {
	label, note      string
	start, acc, end  time.Duration // since the earliest dispatch
	failed, accepted bool
}

// printTimeline writes a Response's timeline: one line per attempt of a
// subtask, its bar on an axis that all lines share and that fills width
// columns, queued (dispatched to accepted) then running (accepted to
// done or failed), with the model and the attempt's duration.
func printTimeline(w io.Writer, resp task.Response, width int) {
	rows, span := timelineRows(resp)
	if len(rows) == 0 {
		fmt.Fprintln(w, "timeline: no subtask was dispatched")
		return
	}
	labelW, noteW := 0, 0
	for _, r := range rows {
		labelW, noteW = max(labelW, utf8.RuneCountInString(r.label)), max(noteW, utf8.RuneCountInString(r.note))
	}
	barW := max(width-labelW-noteW-4, 10)
	fmt.Fprintf(w, "timeline: %s from the first dispatch to the last answer; %c queued, %c running, %c failed\n",
		fmtDuration(span), cellQueued, cellRan, cellFailed)
	for _, r := range rows {
		fmt.Fprintf(w, "%-*s |%s| %s\n", labelW, r.label, r.bar(span, barW), r.note)
	}
	fmt.Fprintf(w, "%*s  %s\n", labelW, "", axisLine(span, barW))
}

// bar draws the row's attempt in barW cells, the whole span: a cell is
// queued or running by what the attempt did for most of it.
func (r timelineRow) bar(span time.Duration, barW int) string {
	cell := func(d time.Duration) int { return min(int(math.Round(float64(d)/float64(span)*float64(barW))), barW) }
	s := min(int(float64(r.start)/float64(span)*float64(barW)), barW-1)
	e := max(cell(r.end), s+1)
	a := min(max(cell(r.acc), s), e)
	if !r.accepted {
		a = e
	}
	out := []rune(strings.Repeat(" ", barW))
	for i := s; i < e; i++ {
		switch {
		case i < a:
			out[i] = cellQueued
		case r.failed:
			out[i] = cellFailed
		default:
			out[i] = cellRan
		}
	}
	return string(out)
}

// timelineRows lists the attempts of every subtask, in plan order, with
// their times since the earliest dispatch, and the span of them all.
func timelineRows(resp task.Response) ([]timelineRow, time.Duration) {
	var t0, last time.Time
	for _, st := range resp.Subtasks {
		for _, a := range st.Timeline {
			if t0.IsZero() || a.DispatchedAt.Before(t0) {
				t0 = a.DispatchedAt
			}
			if a.EndedAt.After(last) {
				last = a.EndedAt
			}
		}
	}
	var rows []timelineRow
	for _, st := range resp.Subtasks {
		for _, a := range st.Timeline {
			r := timelineRow{label: fmt.Sprintf("%s %s", st.ID, st.Capability), start: a.DispatchedAt.Sub(t0),
				end: a.EndedAt.Sub(t0), acc: a.AcceptedAt.Sub(t0), accepted: !a.AcceptedAt.IsZero(), failed: a.Error != nil}
			if len(st.Timeline) > 1 {
				r.label += " #" + strconv.Itoa(a.Attempt)
			}
			if !r.accepted {
				r.acc = r.end
			}
			r.note = fmt.Sprintf("%s %s", a.Model, fmtDuration(a.EndedAt.Sub(a.DispatchedAt)))
			if a.Error != nil {
				r.note += " " + string(a.Error.Code)
			}
			rows = append(rows, r)
		}
	}
	return rows, max(last.Sub(t0), time.Microsecond)
}

// axisLine marks 0 and the span under the bars.
func axisLine(span time.Duration, barW int) string {
	left, right := "0", fmtDuration(span)
	gap := max(barW-len(left)-len(right), 1)
	return left + strings.Repeat(" ", gap) + right
}

// fmtDuration writes a duration in milliseconds with enough digits for
// subtasks that take a fraction of one, or in seconds from ten up.
func fmtDuration(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 2, 64) + "ms"
	case ms < 10000:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(ms/1000, 'f', 2, 64) + "s"
}

// timelineWidth is how many columns the timeline fills: $COLUMNS, else
// the width of the terminal it goes to, else 100.
func timelineWidth(env *cliEnv) int {
	if n, err := strconv.Atoi(env.getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if f, ok := env.stderr.(*os.File); ok {
		if n := terminalColumns(f); n > 0 {
			return n
		}
	}
	return 100
}
