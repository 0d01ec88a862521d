package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The tools' names.
const (
	toolAsk    = "ask"
	toolPlan   = "plan"
	toolModels = "models"
)

func (s *Server) addTools() {
	no, yes := false, true
	s.mcp.AddTool(&mcp.Tool{Name: toolAsk, Title: "Ask taskrouter", Description: s.askDescription(),
		InputSchema: askInputSchema, OutputSchema: askOutputSchema,
		// It may call paid remote models, and a model's answer may differ
		// from one call to the next; it changes nothing anywhere.
		Annotations: &mcp.ToolAnnotations{DestructiveHint: &no, OpenWorldHint: &yes}}, toolHandler(s.ask))
	s.mcp.AddTool(&mcp.Tool{Name: toolPlan, Title: "Plan a request", Description: planDescription,
		InputSchema: planInputSchema, OutputSchema: planOutputSchema,
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: &no}}, toolHandler(s.plan))
	s.mcp.AddTool(&mcp.Tool{Name: toolModels, Title: "List models", Description: modelsDescription,
		InputSchema: modelsInputSchema, OutputSchema: modelsOutputSchema,
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: &no}}, toolHandler(s.models))
}

// askDescription tells an agent host what ask does and which kinds of
// work the catalog has, so that it knows when to call it.
func (s *Server) askDescription() string {
	var b strings.Builder
	b.WriteString("Hand a request to taskrouter, a multi-model task router. It plans the request into a small DAG of typed subtasks, " +
		"runs each on the model best suited to it (built-in local models, or remote LLM APIs), independent ones in parallel, " +
		"and returns one merged answer, with the model, status and timing of every subtask and the tokens and cost.\n\n" +
		"Write the request in plain language with the text to work on inside it, e.g. " +
		"\"Summarize this text, extract its keywords and detect its language: '...'\", \"What is 17 * 23 + 4?\", " +
		"\"Extract the emails and dates: '...'\". One progress notification is sent as each subtask starts and as it ends; " +
		"cancelling the call cancels the request and its subtasks.\n\nThe kinds of work it plans (the models tool shows which have a live model):")
	for _, c := range s.cfg.Catalog.Plannable() {
		fmt.Fprintf(&b, "\n- %s: %s", c.Name, clip(c.Description, 120))
	}
	return b.String()
}

const planDescription = "Show how taskrouter would split a request into subtasks, without running anything: " +
	"the plan as JSON, a DAG of subtasks each with a capability, an input ({{t1}} stands for the output of subtask t1), " +
	"arguments and dependencies. Use it to check what ask would do with a request."

const modelsDescription = "List the models taskrouter can route to: each one's name, backend (local or a remote API), " +
	"capabilities, context window, price per million tokens, live replicas, load, latency and state " +
	"(ready, cooldown after failures, down). Give a name from here to ask's model parameter to run a request on that model."

// toolHandler adapts a tool's function to the SDK: a *jsonrpc.Error it
// returns is a protocol error (a malformed call); any other error is a
// tool error, a result with isError and the error's message, which the
// model that called the tool reads.
func toolHandler(h func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error)) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		res, err := h(ctx, req)
		var protocol *jsonrpc.Error
		switch {
		case errors.As(err, &protocol):
			return nil, protocol
		case err != nil:
			return toolError(err.Error()), nil
		}
		return res, nil
	}
}

func toolError(msg string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}
}

// clip cuts s to at most n bytes at a word boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n], ' ')
	if cut <= 0 {
		for cut = n; cut > 0 && !utf8.RuneStart(s[cut]); cut-- {
		}
	}
	return strings.TrimRight(s[:cut], " ,;:") + "…"
}
