// Package server serves taskrouter as a Model Context Protocol server, so
// that agent hosts (Claude Desktop, IDEs, other agents) can hand work to
// the router. Its tools are ask (plan, run and answer a request, with a
// progress notification as each subtask starts and ends, and cancellation),
// plan (the plan of a request, without running it) and models (the
// registered models, their capabilities and state). It speaks MCP over
// stdio (ServeStdio, for `taskrouter mcp`) and over streamable HTTP
// (Handler, which the HTTP ingress serves at /mcp), with the official Go
// SDK.
package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// Runner runs a request and reports its progress events; the router is
// one, and so is a client of a router on another machine.
type Runner interface {
	Handle(ctx context.Context, req task.Request, onEvent func(task.Event)) task.Response
}

// Planner plans a request without running it; the router's planner is one.
type Planner interface {
	Plan(ctx context.Context, req task.Request) (task.Plan, error)
}

// ModelLister lists the registered models; the registry is one.
type ModelLister interface {
	Models(ctx context.Context) ([]registry.ModelState, error)
}

// Config configures a Server. Runner, Planner and Models are required.
type Config struct {
	Runner  Runner
	Planner Planner
	Models  ModelLister
	// Catalog is what the ask tool's description lists and what the
	// models tool's capability filter accepts; nil is the built-in one.
	Catalog *task.Catalog
	// Limits bound a request's input, checked before it is planned.
	Limits task.Limits
	// Version is the server's version in the MCP handshake.
	Version string
	// SessionTimeout closes an HTTP session that sent nothing for this
	// long (30m); stdio sessions last as long as the connection.
	SessionTimeout time.Duration
	// MaxBodyBytes bounds the body of one HTTP message (4 MiB).
	MaxBodyBytes int64
	// Logger gets the SDK's and the tools' warnings.
	Logger *slog.Logger
	// Tracer, when set, records a span per ask call, the root of the
	// request's trace, as the CLI's ask does.
	Tracer trace.Tracer
}

func (c Config) withDefaults() Config {
	if c.Catalog == nil {
		c.Catalog = task.BuiltinCatalog()
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 30 * time.Minute
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 4 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Version == "" {
		c.Version = "devel"
	}
	return c
}

// Server is taskrouter's MCP server: one set of tools, served to any
// number of sessions over stdio or HTTP.
type Server struct {
	cfg  Config
	mcp  *mcp.Server
	http *mcp.StreamableHTTPHandler
}

// New checks the config and registers the tools.
func New(cfg Config) (*Server, error) {
	if cfg.Runner == nil || cfg.Planner == nil || cfg.Models == nil {
		return nil, errors.New("mcp server: a runner, a planner and a model lister are required")
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "taskrouter", Title: "taskrouter", Version: cfg.Version,
		Description: "A multi-model task router: plans requests into subtasks, runs each on a fitting model, merges one answer."},
		&mcp.ServerOptions{Instructions: instructions, Logger: cfg.Logger,
			// Tools only, and a list that never changes; no logging: the
			// tools report through progress notifications and results.
			Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}}})
	s.addTools()
	s.http = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp },
		&mcp.StreamableHTTPOptions{SessionTimeout: cfg.SessionTimeout, MaxRequestBodyBytes: cfg.MaxBodyBytes, Logger: cfg.Logger})
	return s, nil
}

// instructions tell an agent host what the server is for, once per session.
const instructions = "taskrouter routes work to models. Call ask with a request in plain language, " +
	"the text to work on included; it is split into typed subtasks (summarize, translate, keywords, calc, ...), " +
	"each run on the model that serves it best, and one merged answer comes back. " +
	"Call plan to see how a request would be split without running it, and models to see which models serve which capabilities."

// ServeStdio serves one MCP session over in and out, newline-delimited
// JSON-RPC as the stdio transport has it, until the client closes in or
// ctx ends. Nothing else may write to out.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	err := s.mcp.Run(ctx, quietOnCancel{&mcp.IOTransport{Reader: io.NopCloser(in), Writer: nopWriteCloser{out}}})
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // stopped by the caller
	}
	return err
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// Handler serves MCP's streamable HTTP transport: POST for the client's
// messages (answered as JSON or as a stream of server-sent events carrying
// progress notifications), GET for the server's own stream, DELETE to end
// a session. Whoever mounts it guards it: it checks no credentials.
func (s *Server) Handler() http.Handler { return s.http }

// Close ends every session; calls in progress are cancelled.
func (s *Server) Close() {
	for ss := range s.mcp.Sessions() {
		_ = ss.Close()
	}
}
