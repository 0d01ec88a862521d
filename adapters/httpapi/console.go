package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/console"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// consoleRoutes serves the console's page at /console, with no key (it
// holds no data: the page asks for a key and sends it), and its data
// under /v1/console, behind the keys like the rest of /v1.
func (s *Server) consoleRoutes() {
	if s.cfg.Console == nil {
		off := func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, newError(http.StatusNotFound, typeNotFound, "console_disabled",
				"The console is off on this router; turn it on with http.console.enabled: true."))
		}
		s.mux.HandleFunc("/console", off)
		s.mux.HandleFunc("/v1/console/", off)
		return
	}
	assets := http.StripPrefix("/console/", http.FileServerFS(console.Assets()))
	s.mux.HandleFunc("/console", s.consolePage)
	s.mux.Handle("/console/", pageHeaders(assets))
	s.mux.Handle("/v1/console/requests", s.guard(s.consoleRequests))
	s.mux.Handle("/v1/console/requests/{id}", s.guard(s.consoleRequest))
	s.mux.Handle("/v1/console/models", s.guard(s.consoleModels))
	s.mux.Handle("/v1/console/events", s.guard(s.consoleEvents))
}

// consolePage answers GET /console (and /console?request=<id>) with the page.
func (s *Server) consolePage(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	pageHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, console.Assets(), "index.html")
	})).ServeHTTP(w, r)
}

// pageHeaders keeps the page to its own scripts and styles, so that a
// request's text, which the page shows, can never run as code in it.
func pageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// requestList is GET /v1/console/requests' answer.
type requestList struct {
	Object string            `json:"object"`
	Data   []console.Summary `json:"data"`
}

func (s *Server) consoleRequests(w http.ResponseWriter, r *http.Request, _ caller) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	writeJSON(w, http.StatusOK, requestList{Object: "list", Data: s.cfg.Console.List()})
}

func (s *Server) consoleRequest(w http.ResponseWriter, r *http.Request, _ caller) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	id := r.PathValue("id")
	req, ok := s.cfg.Console.Get(id)
	if !ok {
		writeError(w, newError(http.StatusNotFound, typeNotFound, "request_not_found",
			"No request "+id+" among the recent ones this console keeps (the last http.console.requests, for http.console.window).").withParam("id"))
		return
	}
	writeJSON(w, http.StatusOK, req)
}

// consoleModel is one model as the console shows it: the registry's
// live state and what the model has done since this router started.
type consoleModel struct {
	Name         string             `json:"name"`
	Backend      string             `json:"backend"`
	Capabilities []string           `json:"capabilities"`
	Replicas     []registry.Replica `json:"replicas"`
	InFlight     int                `json:"in_flight"`
	LatencyMs    float64            `json:"latency_ms"`
	Errors       int                `json:"errors"`
	// State is the registry's (ready, cooldown, half-open, down); Circuit
	// is its breaker's: closed, open or half_open.
	State         string              `json:"state"`
	Circuit       string              `json:"circuit"`
	CooldownUntil time.Time           `json:"cooldown_until,omitzero"`
	Totals        console.ModelTotals `json:"totals"`
	Price         task.Price          `json:"price"`
}

type consoleModels struct {
	Object string         `json:"object"`
	Data   []consoleModel `json:"data"`
	// SnapshotAsOf is set while the registry's Redis is unreachable.
	SnapshotAsOf *time.Time `json:"snapshot_as_of,omitempty"`
}

func (s *Server) consoleModels(w http.ResponseWriter, r *http.Request, _ caller) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	states, err := s.cfg.Models.Models(r.Context())
	var stale *registry.StaleError
	out := consoleModels{Object: "list", Data: make([]consoleModel, 0, len(states))}
	switch {
	case errors.As(err, &stale):
		out.SnapshotAsOf = &stale.Since
	case err != nil:
		writeError(w, asAPIError(task.Errorf(task.CodeUnavailable, "listing models from the registry: %v", err)))
		return
	}
	totals := s.cfg.Console.Models()
	for _, st := range states {
		out.Data = append(out.Data, consoleModel{Name: st.Spec.Name, Backend: st.Spec.Backend, Capabilities: st.Spec.Capabilities,
			Replicas: st.Replicas, InFlight: st.InFlight, LatencyMs: st.LatencyEWMAms, Errors: st.Errors, State: st.State,
			Circuit: circuit(st.State), CooldownUntil: st.CooldownUntil, Totals: totals[st.Spec.Name],
			Price: st.Spec.Price})
	}
	writeJSON(w, http.StatusOK, out)
}

// circuit names the state of a model's breaker from the registry's
// state: a model with no live replica has a closed breaker.
func circuit(state string) string {
	switch state {
	case "cooldown":
		return "open"
	case "half-open":
		return "half_open"
	}
	return "closed"
}

// consoleEvents answers GET /v1/console/events: server-sent events with
// the list of requests at once ("event: requests"), then each request
// that changes ("event: request", its summary) or is dropped ("event:
// removed"), until the client leaves or the server shuts down.
func (s *Server) consoleEvents(w http.ResponseWriter, r *http.Request, _ caller) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	watch := s.cfg.Console.Watch()
	defer watch.Close()
	ev := newEventWriter(w)
	if !ev.send("requests", requestList{Object: "list", Data: s.cfg.Console.List()}) {
		return
	}
	keepAlive := time.NewTicker(s.cfg.KeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-keepAlive.C:
			if !ev.comment("keep-alive") {
				return
			}
		case <-watch.Ready():
			if !s.sendChanges(ev, watch.Take()) {
				return
			}
		}
	}
}

// sendChanges sends the summary of every request that changed, or says
// it was dropped.
func (s *Server) sendChanges(ev *eventWriter, ids []string) bool {
	for _, id := range ids {
		sum, ok := s.cfg.Console.Summary(id)
		switch {
		case ok && !ev.send("request", sum):
			return false
		case !ok && !ev.send("removed", map[string]string{"id": id}):
			return false
		}
	}
	return true
}
