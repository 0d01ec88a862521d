package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// readBody reads a request body within the size limit, then lifts the
// read deadline: the server's ReadTimeout is for receiving the request,
// and left in place it would cancel a long answer's context midway.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	var data []byte
	var err error
	if r.ContentLength > 0 {
		data = make([]byte, r.ContentLength)
		_, err = io.ReadFull(body, data)
	} else {
		data, err = io.ReadAll(body)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit)
		}
		return nil, badRequest("unreadable_body", fmt.Sprintf("Could not read the request body: %v.", err))
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	return data, nil
}

// checkDepth refuses a body nested more than task.MaxJSONDepth levels
// deep, before any parser that recurses once per level reads it.
func checkDepth(body []byte) *apiError {
	if err := task.CheckJSONDepth(body, task.MaxJSONDepth); err != nil {
		return badRequest("json_too_deep", "We could not read the JSON body of your request: "+task.AsError(err).Message+".")
	}
	return nil
}

func tooLarge(limit int64) *apiError {
	return newError(http.StatusRequestEntityTooLarge, typeInvalidRequest, "request_too_large",
		fmt.Sprintf("The request body is larger than the limit of %d bytes; send less, or raise http.max_body_bytes.", limit))
}

// allow answers 405 unless the request's method is one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, newError(http.StatusMethodNotAllowed, typeInvalidRequest, "method_not_allowed",
		fmt.Sprintf("Use %s for %s.", strings.Join(methods, " or "), r.URL.Path)))
	return false
}

// writeJSON writes v as the whole answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":{"message":"encoding the answer failed","type":"server_error","param":null,"code":"internal"}}`)
	}
	writeBody(w, status, append(data, '\n'))
}

// contentTypeJSON is shared by every answer; net/http never changes it.
var contentTypeJSON = []string{"application/json"}

// writeBody writes a complete JSON answer.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
