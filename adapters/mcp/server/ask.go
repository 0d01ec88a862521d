package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// askArgs are the ask tool's parameters, as askInputSchema describes them.
type askArgs struct {
	Input          string   `json:"input"`
	Planner        string   `json:"planner"`
	Model          string   `json:"model"`
	Policy         string   `json:"policy"`
	MaxCost        *float64 `json:"max_cost"`
	PreferLocal    bool     `json:"prefer_local"`
	TimeoutSeconds *float64 `json:"timeout_seconds"`
}

var (
	planners = []string{"auto", "rules", "llm", "single"}
	policies = []string{"quality", "cost", "latency", "balanced"}
)

// maxTimeout bounds timeout_seconds, so that its milliseconds fit; the
// router's own request timeout bounds a request further.
const maxTimeout = 24 * time.Hour

// request checks the arguments and builds the request they ask for.
func (a askArgs) request(lim task.Limits) (task.Request, error) {
	if err := checkInput(toolAsk, a.Input); err != nil {
		return task.Request{}, err
	}
	if err := checkEnum(toolAsk, "planner", a.Planner, planners); err != nil {
		return task.Request{}, err
	}
	if err := checkEnum(toolAsk, "policy", a.Policy, policies); err != nil {
		return task.Request{}, err
	}
	req := task.Request{ID: task.NewID("req_"), Input: a.Input, Planner: a.Planner, Ingress: task.IngressMCP,
		Hints: task.Hints{Model: strings.TrimSpace(a.Model), Policy: a.Policy, PreferLocal: a.PreferLocal}}
	if c := a.MaxCost; c != nil {
		if !(*c >= 0) || math.IsInf(*c, 1) {
			return req, argErrorf("ask: parameter \"max_cost\" must be a number of US dollars, 0 or more, such as 0.05")
		}
		req.MaxCostUSD = *c
	}
	if t := a.TimeoutSeconds; t != nil {
		if !(*t > 0) || *t > maxTimeout.Seconds() {
			return req, argErrorf("ask: parameter \"timeout_seconds\" must be a number of seconds above 0 and at most %.0f, such as 30", maxTimeout.Seconds())
		}
		req.TimeoutMs = max(1, int64(*t*1000))
	}
	if err := req.Check(lim); err != nil {
		return req, argErrorf("ask: %s", task.AsError(err).Message)
	}
	return req, nil
}

func checkInput(tool, input string) error {
	if strings.TrimSpace(input) == "" {
		return argErrorf("%s: parameter \"input\" is required: the request in plain language, with the text to work on, such as %s",
			tool, exampleArgs(tool))
	}
	return nil
}

func checkEnum(tool, param, value string, allowed []string) error {
	if value == "" || slices.Contains(allowed, value) {
		return nil
	}
	return argErrorf("%s: parameter %q must be one of %s, or left out; got %q%s", tool, param, strings.Join(allowed, ", "), value, nearest(value, allowed))
}

// ask plans, runs and answers a request, with progress notifications
// when the client sent a progress token. The client's cancellation ends
// ctx, which cancels the request and its subtasks.
func (s *Server) ask(ctx context.Context, call *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var args askArgs
	if err := decodeArgs(call.Params.Arguments, &args, toolAsk); err != nil {
		return nil, err
	}
	req, err := args.request(s.cfg.Limits)
	if err != nil {
		return nil, err
	}
	ctx, span := s.startSpan(ctx, req)
	notes := startProgress(ctx, call.Session, call.Params.GetProgressToken())
	resp := s.cfg.Runner.Handle(ctx, req, notes.event)
	notes.stop()
	if span != nil {
		if resp.Error != nil {
			span.SetStatus(codes.Error, string(resp.Error.Code))
		}
		span.End()
	}
	if resp.Error != nil {
		return nil, errors.New(failure(resp))
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: resp.Answer}}, StructuredContent: answered(resp)}, nil
}

// startSpan starts the request's root span, as an ingress does; nil when
// there is no tracer.
func (s *Server) startSpan(ctx context.Context, req task.Request) (context.Context, trace.Span) {
	if s.cfg.Tracer == nil {
		return ctx, nil
	}
	return s.cfg.Tracer.Start(ctx, "tools/call "+toolAsk, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(telemetry.AttrRequestID.String(req.ID), telemetry.AttrIngress.String(task.IngressMCP)))
}

// askResult is ask's structured result, as askOutputSchema describes it.
type askResult struct {
	Answer    string          `json:"answer"`
	RequestID string          `json:"request_id"`
	Model     string          `json:"model,omitempty"`
	Merge     string          `json:"merge"`
	Subtasks  []subtaskResult `json:"subtasks"`
	Usage     task.Usage      `json:"usage"`
}

type subtaskResult struct {
	ID         string       `json:"id"`
	Capability string       `json:"capability"`
	Model      string       `json:"model,omitempty"`
	Status     task.Status  `json:"status"`
	Attempts   int          `json:"attempts"`
	DurationMs float64      `json:"duration_ms,omitempty"`
	Error      *errorResult `json:"error,omitempty"`
}

type errorResult struct {
	Code    task.Code `json:"code"`
	Message string    `json:"message"`
}

func answered(resp task.Response) askResult {
	out := askResult{Answer: resp.Answer, RequestID: resp.ID, Model: resp.Model, Merge: resp.Merge,
		Subtasks: []subtaskResult{}, Usage: resp.Usage}
	for _, st := range resp.Subtasks {
		r := subtaskResult{ID: st.ID, Capability: st.Capability, Model: st.Model, Status: st.Status, Attempts: st.Attempts}
		if !st.StartedAt.IsZero() && st.EndedAt.After(st.StartedAt) {
			r.DurationMs = float64(st.EndedAt.Sub(st.StartedAt).Microseconds()) / 1000
		}
		if e := st.Error; e != nil {
			r.Error = &errorResult{Code: e.Code, Message: e.Message}
		}
		out.Subtasks = append(out.Subtasks, r)
	}
	return out
}

// failure says why a request failed and what the caller can do about it.
func failure(resp task.Response) string {
	e := resp.Error
	msg := "taskrouter could not answer: " + e.Error()
	switch e.Code {
	case task.CodeNoModel, task.CodeModelNotFound, task.CodeModelLacksCapability:
		msg += "\nCall the models tool to see which models serve which capabilities."
	case task.CodeModelUnavailable, task.CodeOverloaded, task.CodeRateLimited, task.CodeUnavailable:
		if e.RetryAfterMs > 0 {
			msg += fmt.Sprintf("\nRetry in %s.", (e.RetryAfter() + time.Second - 1).Truncate(time.Second))
		} else {
			msg += "\nRetry shortly."
		}
	case task.CodeTimeout:
		msg += "\nGive a larger timeout_seconds, or ask for less at once."
	case task.CodeAuth:
		msg += "\nA model's API key is missing or refused; taskrouter's operator must set it."
	}
	return msg
}
