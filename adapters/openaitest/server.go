// Package openaitest is an OpenAI-compatible HTTP server on loopback for
// tests and benchmarks. It speaks the real wire format of chat completions
// (JSON and server-sent events, with logprobs when asked), embeddings and
// the legacy text completions (streamed too), the media endpoints (image
// generations and edits with b64_json or url, multipart transcriptions,
// binary speech, image parts in chat, with real PNG and WAV bytes), lists models (the scripted
// ones, or a list a test sets, with the fields servers add), answers each
// model as scripted, with latency and failure injection, and records the
// exact body every request arrived with.
package openaitest

import (
	"errors"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a running OpenAI-compatible test server. It is safe for
// concurrent use.
type Server struct {
	http   *http.Server
	url    string
	done   chan struct{}
	closed sync.Once
	served sync.WaitGroup // the Serve goroutine

	apiKey   string
	fallback *model
	addr     string // where New listens

	mu     sync.RWMutex
	models map[string]*model
	// listed, when set, is what GET /v1/models lists (SetModelList).
	listed []ListedModel
	// pictures are the images answered with a url, by file name.
	pictures map[string][]byte

	seq   atomic.Int64 // completion ids
	total atomic.Int64 // chat completion requests, scripted or not
}

// The endpoints the server answers, under its URL's /v1.
const (
	PathChat        = "/v1/chat/completions"
	PathCompletions = "/v1/completions"
	PathEmbeddings  = "/v1/embeddings"
)

// model is one scripted model's behaviour and what was asked of it.
type model struct {
	script *script
	calls  atomic.Int64
	mu     sync.Mutex
	last   Record
}

// Option configures a Server.
type Option func(*Server)

// WithAPIKey makes the server demand "Authorization: Bearer key" and answer
// 401 invalid_api_key otherwise.
func WithAPIKey(key string) Option { return func(s *Server) { s.apiKey = key } }

// WithDefault answers models that were not scripted with b instead of 404
// model_not_found.
func WithDefault(b Behaviour) Option {
	return func(s *Server) { s.fallback = &model{script: newScript(b)} }
}

// WithAddr listens on addr (host:port) instead of a free port of
// 127.0.0.1, so a test can bring back an upstream where its clients
// expect it.
func WithAddr(addr string) Option { return func(s *Server) { s.addr = addr } }

// New starts a server on 127.0.0.1 at a free port, or at WithAddr's
// address. It panics when it cannot listen, as httptest.NewServer does.
// Call Close when done.
func New(opts ...Option) *Server {
	s := &Server{addr: "127.0.0.1:0", done: make(chan struct{}), models: map[string]*model{}}
	for _, o := range opts {
		o(s)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		panic("openaitest: listening on " + s.addr + ": " + err.Error())
	}
	s.url = "http://" + ln.Addr().String() + "/v1"
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.served.Add(1)
	go func() {
		defer s.served.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic("openaitest: serving: " + err.Error())
		}
	}()
	return s
}

// URL returns the base URL of the API, ending in /v1.
func (s *Server) URL() string { return s.url }

// Close stops the server, releases stalled streams and closes every
// connection. It is safe to call more than once.
func (s *Server) Close() {
	s.closed.Do(func() {
		close(s.done)
		_ = s.http.Close()
		s.served.Wait()
	})
}

// Script sets how the server answers a model and resets its call count.
func (s *Server) Script(name string, b Behaviour) {
	m := &model{script: newScript(b)}
	s.mu.Lock()
	s.models[name] = m
	s.mu.Unlock()
}

// Calls returns how many requests, to any endpoint, named the model since
// it was scripted.
func (s *Server) Calls(name string) int {
	if m := s.lookup(name); m != nil {
		return int(m.calls.Load())
	}
	return 0
}

// TotalCalls returns how many chat completion requests the server received.
func (s *Server) TotalCalls() int { return int(s.total.Load()) }

// Last returns the last request for a scripted model, to any endpoint.
func (s *Server) Last(name string) (Record, bool) {
	m := s.lookup(name)
	if m == nil {
		return Record{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last, m.calls.Load() > 0
}

func (s *Server) lookup(name string) *model {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.models[name]
}

// modelNames returns the scripted model names in order.
func (s *Server) modelNames() []string {
	s.mu.RLock()
	names := make([]string, 0, len(s.models))
	for n := range s.models {
		names = append(names, n)
	}
	s.mu.RUnlock()
	sort.Strings(names)
	return names
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathChat, PathCompletions, PathEmbeddings:
		if r.Method != http.MethodPost {
			writeAPIError(w, apiError{status: http.StatusMethodNotAllowed, message: "Use POST for " + r.URL.Path + ".", typ: "invalid_request_error", code: "method_not_allowed"})
			return
		}
		switch r.URL.Path {
		case PathChat:
			s.chat(w, r)
		case PathCompletions:
			s.completions(w, r)
		default:
			s.embeddings(w, r)
		}
	case PathImages, PathImageEdits, PathTranscriptions, PathSpeech:
		if r.Method != http.MethodPost {
			writeAPIError(w, apiError{status: http.StatusMethodNotAllowed, message: "Use POST for " + r.URL.Path + ".", typ: "invalid_request_error", code: "method_not_allowed"})
			return
		}
		s.media(w, r)
	case "/v1/models":
		if r.Method != http.MethodGet {
			writeAPIError(w, apiError{status: http.StatusMethodNotAllowed, message: "Use GET for /v1/models.", typ: "invalid_request_error", code: "method_not_allowed"})
			return
		}
		s.listModels(w, r)
	default:
		if strings.HasPrefix(r.URL.Path, PathImageFiles) {
			s.picture(w, r)
			return
		}
		writeAPIError(w, apiError{status: http.StatusNotFound, message: "Invalid URL (" + r.Method + " " + r.URL.Path + ")", typ: "invalid_request_error", code: "unknown_url"})
	}
}

// media answers the media endpoints.
func (s *Server) media(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathImages:
		s.images(w, r)
	case PathImageEdits:
		s.imageEdits(w, r)
	case PathTranscriptions:
		s.transcriptions(w, r)
	default:
		s.speech(w, r)
	}
}
