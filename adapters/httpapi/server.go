// Package httpapi is taskrouter's HTTP ingress: an OpenAI-compatible chat
// completions API (JSON and server-sent events), embeddings and legacy
// completions relayed to the models that offer them, the model list, background
// jobs with live progress and signed result callbacks, and signed Standard
// Webhooks that create jobs. API keys, per-key rate limits, body limits and
// per-write deadlines guard it.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/adapters/httpapi/console"
	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/adapters/httpapi/ratelimit"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// Runner runs a request; the router is one.
type Runner interface {
	Handle(ctx context.Context, req task.Request, onEvent func(task.Event)) task.Response
}

// ModelLister lists the registered models; the registry is one.
type ModelLister interface {
	Models(ctx context.Context) ([]registry.ModelState, error)
}

// Config configures a Server. Runner and Models are required.
type Config struct {
	Runner Runner
	Models ModelLister
	// Jobs runs /v1/jobs and the jobs webhooks create; nil answers those
	// routes with 503.
	Jobs *jobs.Manager
	// Hooks are the webhooks served at /v1/webhooks/{name}.
	Hooks []Hook
	// Dedupe remembers webhook ids so that a replay never creates a second
	// job; entries must live at least twice the signature tolerance.
	// Default: memory for 24h.
	Dedupe kv.Store
	// APIKeys, when not empty, are the bearer tokens every /v1 route but
	// the webhooks (which carry signatures) requires.
	APIKeys []string
	// Limiter limits requests per API key (per client address when there
	// are no keys); nil means no limit.
	Limiter ratelimit.Limiter
	// MaxBodyBytes bounds a request body (4 MiB).
	MaxBodyBytes int64
	// ReadTimeout bounds reading a request, headers and body (30s).
	ReadTimeout time.Duration
	// WriteTimeout bounds each write of a response; a stream gets a fresh
	// deadline for every chunk, so it may last as long as the request (30s).
	WriteTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections (120s).
	IdleTimeout time.Duration
	// KeepAlive is the interval of SSE comments on a stream with nothing
	// to send (10s).
	KeepAlive time.Duration
	// ModelsTTL is how long the model list is cached (2s).
	ModelsTTL time.Duration
	// Limits are checked when a job is submitted, so that a request the
	// router would refuse is refused at once.
	Limits task.Limits
	// CORS lets pages on the origins it allows call the /v1 API; off when
	// it allows none.
	CORS CORS
	// Files is the artifact store behind /v1/files and the attachments of
	// chat completions with model "taskrouter"; nil answers those with 503.
	Files FileStore
	// FetchClient fetches the https image URLs of content parts: it must
	// refuse addresses that are not public, as callbacks do (default:
	// jobs.CallbackConfig{}.PublicClient()).
	FetchClient *http.Client
	// FetchTimeout bounds fetching one URL (10s).
	FetchTimeout time.Duration
	// Health reports whether the router can serve; nil is always healthy.
	Health func(ctx context.Context) error
	// Console, when set, is what the web console at /console shows: the
	// recent requests it recorded. nil turns the console off.
	Console *console.Recorder
	// MCP, when set, is served at /mcp behind the API keys and the rate
	// limit: an MCP server's streamable HTTP transport, whose clients send
	// their key as "Authorization: Bearer". nil leaves /mcp unserved.
	MCP http.Handler
	// Logger gets, besides warnings, an access log line per request at
	// info.
	Logger *slog.Logger
	// Metrics, when set, counts requests by route and code, rate-limited
	// requests and rejected webhooks.
	Metrics Metrics
	// MetricsHandler, when set, is served at GET /metrics, behind the API
	// keys when there are keys.
	MetricsHandler http.Handler
	// Tracer, when set, records a span per request (a child of the
	// caller's traceparent header), the parent of the router's spans.
	Tracer trace.Tracer
	// Conversations, when set, serves GET and DELETE
	// /v1/conversations/{id}; nil answers them with 503.
	Conversations Conversations
}

func (c Config) withDefaults() Config {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 4 << 20
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 30 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 120 * time.Second
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 10 * time.Second
	}
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = 10 * time.Second
	}
	if c.FetchClient == nil {
		c.FetchClient = jobs.CallbackConfig{}.PublicClient()
	}
	if c.ModelsTTL <= 0 {
		c.ModelsTTL = 2 * time.Second
	}
	if c.CORS.MaxAge <= 0 {
		c.CORS.MaxAge = 10 * time.Minute
	}
	if c.Dedupe == nil {
		c.Dedupe = kv.NewMemory(24 * time.Hour)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Server is the HTTP ingress. It is an http.Handler and can also listen
// by itself with Start.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	api    http.Handler // mux, behind CORS when it is on
	keys   keyring
	models *modelCache
	hooks  map[string]Hook
	http   *http.Server
	// closing is closed when Shutdown starts, to end the streams that
	// would otherwise never go idle (the console's).
	closing   chan struct{}
	closeOnce sync.Once
}

var _ http.Handler = (*Server)(nil)

// New checks the config and builds the routes.
func New(cfg Config) (*Server, error) {
	if cfg.Runner == nil || cfg.Models == nil {
		return nil, errors.New("httpapi: a runner and a model lister are required")
	}
	cfg = cfg.withDefaults()
	hooks, err := indexHooks(cfg.Hooks)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), keys: newKeyring(cfg.APIKeys),
		models: newModelCache(cfg.Models, cfg.ModelsTTL), hooks: hooks, closing: make(chan struct{})}
	s.routes()
	if s.api, err = withCORS(cfg.CORS, s.mux); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) routes() {
	s.mux.HandleFunc("/healthz", s.healthz)
	s.mux.Handle("/v1/chat/completions", s.guard(s.chat))
	s.mux.Handle("/v1/completions", s.guard(s.completions))
	s.mux.Handle("/v1/embeddings", s.guard(s.embeddings))
	s.mux.Handle("/v1/images/generations", s.guard(s.imageGenerations))
	s.mux.Handle("/v1/audio/transcriptions", s.guard(s.transcriptions))
	s.mux.Handle("/v1/audio/speech", s.guard(s.speech))
	s.mux.Handle("/v1/models", s.guard(s.listModels))
	s.mux.Handle("/v1/models/{model...}", s.guard(s.getModel))
	s.mux.Handle("/v1/jobs", s.guard(s.postJob))
	s.mux.Handle("/v1/jobs/{id}", s.guard(s.job))
	s.mux.Handle("/v1/jobs/{id}/events", s.guard(s.jobEvents))
	s.mux.Handle("/v1/conversations/{id}", s.guard(s.conversation))
	s.mux.HandleFunc("/v1/webhooks/{name}", s.webhook)
	if s.cfg.MetricsHandler != nil {
		s.mux.Handle("GET /metrics", s.authOnly(s.cfg.MetricsHandler))
	}
	s.consoleRoutes()
	if s.cfg.MCP != nil {
		s.mux.Handle("/mcp", s.guard(s.mcp))
	}
	s.mux.Handle("/v1/files", s.guard(s.postFile))
	s.mux.Handle("/v1/files/{id}", s.guard(s.file))
	s.mux.Handle("/v1/files/{id}/content", s.guard(s.fileContent))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newError(http.StatusNotFound, typeInvalidRequest, "unknown_url",
			"Invalid URL ("+r.Method+" "+r.URL.Path+"); the API is under /v1: /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/images/generations, /v1/audio/transcriptions, /v1/audio/speech, /v1/models, /v1/jobs, /v1/files, /v1/conversations/{id}, /v1/webhooks/{name}; the console is at /console."))
	})
}

// ServeHTTP implements http.Handler. Every write of the answer gets a
// deadline of WriteTimeout from the moment it is made.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tw := &timedWriter{ResponseWriter: w, timeout: s.cfg.WriteTimeout}
	tw.conn, _ = w.(writeDeadliner)
	if s.observed(r.Context()) {
		s.serveObserved(tw, r)
		return
	}
	s.api.ServeHTTP(tw, r)
}

// writeDeadliner is what net/http's response writer offers to set the
// connection's write deadline.
type writeDeadliner interface {
	SetWriteDeadline(time.Time) error
}

// timedWriter arms the connection's write deadline before writes, so a
// client that stops reading is dropped after WriteTimeout while a stream
// that keeps flowing may last as long as it needs. It re-arms only once a
// quarter of the timeout has passed since it last did, which keeps every
// write at least three quarters of the timeout away from its deadline.
type timedWriter struct {
	http.ResponseWriter
	conn    writeDeadliner
	timeout time.Duration
	armed   time.Time
	status  int // the status code sent, 0 until the first write
}

// code is the status code sent; a handler that wrote nothing gets 200
// from net/http.
func (t *timedWriter) code() int {
	if t.status == 0 {
		return http.StatusOK
	}
	return t.status
}

func (t *timedWriter) arm() {
	if t.conn == nil {
		return
	}
	now := time.Now()
	if now.Sub(t.armed) < t.timeout/4 {
		return
	}
	t.armed = now
	_ = t.conn.SetWriteDeadline(now.Add(t.timeout))
}

// WriteHeader implements http.ResponseWriter.
func (t *timedWriter) WriteHeader(code int) {
	if t.status == 0 && code >= 200 {
		t.status = code
	}
	t.arm()
	t.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (t *timedWriter) Write(b []byte) (int, error) {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	t.arm()
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (t *timedWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// Start listens on addr and serves in the background until Shutdown. It
// returns the address it listens on (useful with port 0).
func (s *Server) Start(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: min(s.cfg.ReadTimeout, 10*time.Second),
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
		// No WriteTimeout: it would cut long streams. Every write sets
		// its own deadline instead.
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error("serving HTTP", "err", err)
		}
	}()
	return ln.Addr(), nil
}

// Shutdown stops listening and waits for requests in progress until ctx
// ends, then closes the connections that are left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() { close(s.closing) })
	if s.http == nil {
		return nil
	}
	err := s.http.Shutdown(ctx)
	if err != nil {
		_ = s.http.Close()
	}
	return err
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Health != nil {
		if err := s.cfg.Health(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
