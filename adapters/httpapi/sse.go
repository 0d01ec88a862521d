package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
)

// eventWriter writes named server-sent events with JSON data.
type eventWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newEventWriter(w http.ResponseWriter) *eventWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &eventWriter{w: w, rc: http.NewResponseController(w)}
}

// send writes one event and flushes; false means the client is gone.
func (e *eventWriter) send(name string, v any) bool {
	data, err := json.Marshal(v)
	if err != nil {
		return true
	}
	b := make([]byte, 0, len(data)+len(name)+16)
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	b = append(b, "\n\n"...)
	if _, err := e.w.Write(b); err != nil {
		return false
	}
	return e.rc.Flush() == nil
}

func (e *eventWriter) job(j jobs.Job) bool { return e.send("job", view(j)) }

func (e *eventWriter) comment(text string) bool {
	if _, err := e.w.Write([]byte(": " + text + "\n\n")); err != nil {
		return false
	}
	return e.rc.Flush() == nil
}

// updates writes a batch of updates; it reports false when the stream
// should end: the job reached a final state or the client is gone.
func (e *eventWriter) updates(us []jobs.Update) bool {
	for _, u := range us {
		switch {
		case u.Job != nil:
			if !e.job(*u.Job) || u.Job.Status.Final() {
				return false
			}
		case u.Event != nil:
			if !e.send(string(u.Event.Type), u.Event) {
				return false
			}
		}
	}
	return true
}
