package httpapi

import (
	"context"

	"github.com/taskrouter/taskrouter/task"
)

// route turns a model name and a conversation into the request the router
// runs. "taskrouter" plans; a registered model name gets a one-subtask plan
// pinned to that model (its fallbacks still apply when it fails), with
// capability "chat" when the model has it, else the model's first one.
func (s *Server) route(ctx context.Context, model string, req task.Request) (task.Request, *apiError) {
	if model == ModelTaskrouter {
		return req, nil
	}
	spec, ok, err := s.models.lookup(ctx, model)
	if err != nil {
		return req, asAPIError(err)
	}
	if !ok {
		return req, modelNotFound(model)
	}
	capability := "chat"
	if !spec.Has(capability) && len(spec.Capabilities) > 0 {
		capability = spec.Capabilities[0]
	}
	input, _ := req.Text()
	req.Plan = &task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: capability, Input: input, Deps: []string{}}}}
	req.Hints.Model = model
	return req, nil
}
