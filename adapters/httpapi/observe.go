package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/telemetry"
)

// Metrics is what the HTTP API measures. Implementations must be safe for
// concurrent use and cheap.
type Metrics interface {
	// HTTPRequest counts a request answered, by the route pattern it
	// matched (never its path) and the status code.
	HTTPRequest(route string, code int, took time.Duration)
	// RateLimited counts a request the per-key limit refused.
	RateLimited(route string)
	// WebhookRejected counts a webhook delivery that created no job, by
	// hook (or "unknown") and reason.
	WebhookRejected(hook, reason string)
}

// routeNone is the route of a request that matched no pattern, such as a
// CORS preflight answered before the routes.
const routeNone = "none"

// access is what a request's handlers tell the access log, the metrics
// and the span: who called.
type access struct {
	key string // the API key's name, never the key
}

type accessKey struct{}

// accessOf returns the request's access record, or nil when nobody
// observes requests.
func accessOf(ctx context.Context) *access {
	a, _ := ctx.Value(accessKey{}).(*access)
	return a
}

// observed reports whether anything watches requests: the access log (at
// info), metrics or tracing. When nothing does, requests pay nothing.
func (s *Server) observed(ctx context.Context) bool {
	return s.cfg.Metrics != nil || s.cfg.Tracer != nil || s.cfg.Logger.Enabled(ctx, slog.LevelInfo)
}

// serveObserved serves a request inside its span (a child of the caller's
// traceparent, when it sent one), then counts it and writes its access
// log line.
func (s *Server) serveObserved(tw *timedWriter, r *http.Request) {
	started := time.Now()
	rec := &access{}
	ctx := context.WithValue(r.Context(), accessKey{}, rec)
	var span trace.Span
	if s.cfg.Tracer != nil {
		ctx = telemetry.ContextWithTraceparent(ctx, r.Header.Get(telemetry.HeaderTraceparent))
		ctx, span = s.cfg.Tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			telemetry.AttrHTTPMethod.String(r.Method), telemetry.AttrURLPath.String(r.URL.Path)))
	}
	r = r.WithContext(ctx)
	s.api.ServeHTTP(tw, r)
	took := time.Since(started)
	route, status := r.Pattern, tw.code()
	if route == "" {
		route = routeNone
	}
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.HTTPRequest(route, status, took)
	}
	if span != nil {
		endHTTPSpan(span, r.Method, route, status, tw.Header().Get("X-Request-Id"))
	}
	if s.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		s.accessLog(ctx, r, route, status, took, rec.key, tw.Header())
	}
}

func endHTTPSpan(span trace.Span, method, route string, status int, requestID string) {
	span.SetName(method + " " + route)
	span.SetAttributes(telemetry.AttrHTTPRoute.String(route), telemetry.AttrHTTPStatusCode.Int(status))
	if requestID != "" {
		span.SetAttributes(telemetry.AttrRequestID.String(requestID))
	}
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// accessLog writes one info line per request: method, route, path,
// status, duration, the API key's name, and the request or job id when
// the answer has one.
func (s *Server) accessLog(ctx context.Context, r *http.Request, route string, status int, took time.Duration, key string, h http.Header) {
	attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.Duration("duration", took)}
	if key != "" {
		attrs = append(attrs, slog.String("key", key))
	}
	if id := h.Get("X-Request-Id"); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if id := jobIDOf(r, h); id != "" {
		attrs = append(attrs, slog.String("job_id", id))
	}
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "http request", attrs...)
}

// jobIDOf is the job a request is about: the {id} of a job route, or the
// job a POST created.
func jobIDOf(r *http.Request, h http.Header) string {
	if strings.HasPrefix(r.Pattern, "/v1/jobs/") {
		return r.PathValue("id")
	}
	if loc := h.Get("Location"); strings.HasPrefix(loc, "/v1/jobs/") {
		return strings.TrimPrefix(loc, "/v1/jobs/")
	}
	return ""
}
