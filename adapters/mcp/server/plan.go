package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskrouter/taskrouter/task"
)

// planArgs are the plan tool's parameters, as planInputSchema describes them.
type planArgs struct {
	Input   string `json:"input"`
	Planner string `json:"planner"`
}

// plan answers with the plan of a request, as `taskrouter plan --json`
// prints it, without running it.
func (s *Server) plan(ctx context.Context, call *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var args planArgs
	if err := decodeArgs(call.Params.Arguments, &args, toolPlan); err != nil {
		return nil, err
	}
	if err := checkInput(toolPlan, args.Input); err != nil {
		return nil, err
	}
	if err := checkEnum(toolPlan, "planner", args.Planner, planners); err != nil {
		return nil, err
	}
	req := task.Request{Input: args.Input, Planner: args.Planner, Ingress: task.IngressMCP}
	if err := req.Check(s.cfg.Limits); err != nil {
		return nil, argErrorf("plan: %s", task.AsError(err).Message)
	}
	p, err := s.cfg.Planner.Plan(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("taskrouter could not plan the request: %s", task.AsError(err).Error())
	}
	for i := range p.Tasks {
		if p.Tasks[i].Deps == nil {
			p.Tasks[i].Deps = []string{} // an array, as the schema has it
		}
	}
	if p.Tasks == nil {
		return nil, errors.New("taskrouter could not plan the request: the planner made no subtasks")
	}
	text, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the plan: %w", err)
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(text)}}, StructuredContent: p}, nil
}
