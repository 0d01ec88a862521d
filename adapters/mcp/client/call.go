package client

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskrouter/taskrouter/task"
)

// errCallTimeout is the cause of a call's context when the call ran out
// of Config.CallTimeout, which tells it from the caller's own deadline.
var errCallTimeout = errors.New("the tool call timed out")

var tokens atomic.Uint64

// Generate calls the tool of the work's capability; see GenerateReporting.
func (c *Client) Generate(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
	return c.GenerateReporting(ctx, w, nil)
}

// GenerateReporting calls the tool of the work's capability with
// arguments built from its input and args (Tool.Arguments), reporting
// the tool's progress notifications to report when it is not nil. The
// errors are *task.Error:
//
//   - task.CodeInvalidArgs: the arguments do not fit the tool's schema,
//     or the server refused them (JSON-RPC invalid params); nothing ran;
//   - task.CodeNotFound: the server serves no tool of that capability
//     (its tools changed since the plan was made);
//   - task.CodeToolTimeout: no answer within Config.CallTimeout; the call
//     was cancelled with MCP's notifications/cancelled;
//   - task.CodeToolFailed: the server died or broke the protocol during
//     the call; it is started again;
//   - task.CodeToolError: the tool answered with an error result
//     (isError), or the server with a JSON-RPC error;
//   - task.CodeUnavailable: the server is down and did not come back
//     within the call's time;
//   - task.CodeCancelled, task.CodeTimeout: ctx ended (the call was
//     cancelled on the server too).
func (c *Client) GenerateReporting(ctx context.Context, w task.Work, report func(task.Progress)) (task.Output, error) {
	c.mu.Lock()
	tool := c.tools[w.Capability]
	c.mu.Unlock()
	if tool == nil {
		return task.Output{}, task.Errorf(task.CodeNotFound, "MCP server %s serves no tool for capability %q now; its tools changed since the plan was made", c.cfg.Name, w.Capability)
	}
	args, err := tool.Arguments(w.Input, w.Args)
	if err != nil {
		return task.Output{}, err
	}
	callCtx, cancel := context.WithTimeoutCause(ctx, c.cfg.CallTimeout, errCallTimeout)
	defer cancel()
	s, err := c.current(callCtx)
	if err != nil {
		if ctx.Err() != nil {
			return task.Output{}, task.AsError(context.Cause(ctx))
		}
		return task.Output{}, err
	}
	params := &mcp.CallToolParams{Name: tool.Name, Arguments: args}
	if report != nil {
		token := "tr-" + strconv.FormatUint(tokens.Add(1), 10)
		c.progress.Store(token, report)
		defer c.progress.Delete(token)
		params.SetProgressToken(token)
	}
	res, err := s.cs.CallTool(callCtx, params)
	if err != nil {
		return task.Output{}, c.callError(ctx, callCtx, s, tool, err)
	}
	return tool.output(res)
}

// callError classifies a failed call by what ended it: the caller, the
// call's timeout, a JSON-RPC error the server answered, or the session
// breaking, which is then ended so the server starts again.
func (c *Client) callError(ctx, callCtx context.Context, s *session, tool *Tool, err error) error {
	switch {
	case ctx.Err() != nil:
		return task.AsError(context.Cause(ctx))
	case context.Cause(callCtx) == errCallTimeout:
		return task.Errorf(task.CodeToolTimeout, "tool %s (%s) of MCP server %s did not answer within %s; the call was cancelled",
			tool.Capability.Name, tool.Name, c.cfg.Name, c.cfg.CallTimeout)
	}
	var wire *jsonrpc.Error
	if !errors.Is(err, mcp.ErrConnectionClosed) && errors.As(err, &wire) && !localCodes[wire.Code] {
		if wire.Code == jsonrpc.CodeInvalidParams {
			return tool.argsError("the server refused them: %s", wire.Message)
		}
		return task.Errorf(task.CodeToolError, "tool %s (%s) of MCP server %s: the server answered error %d: %s",
			tool.Capability.Name, tool.Name, c.cfg.Name, wire.Code, wire.Message)
	}
	s.kill(err)
	return task.Errorf(task.CodeToolFailed, "tool %s (%s): MCP server %s failed during the call (%v)%s; it is being started again",
		tool.Capability.Name, tool.Name, c.cfg.Name, err, s.stderr.said())
}

// localCodes are the JSON-RPC codes the SDK's own transports fail a call
// with (client closing, server closing, rejected by the transport): the
// connection broke, the server did not answer.
var localCodes = map[int64]bool{-32003: true, -32004: true, -32005: true}

// onProgress forwards a progress notification to the call it is about.
func (c *Client) onProgress(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
	token, ok := req.Params.ProgressToken.(string)
	if !ok {
		return
	}
	if report, ok := c.progress.Load(token); ok {
		report.(func(task.Progress))(task.Progress{Done: req.Params.Progress, Total: req.Params.Total, Message: req.Params.Message})
	}
}
