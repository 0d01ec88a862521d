package httpapi

import (
	"context"

	"github.com/taskrouter/taskrouter/task"
)

// route turns a model name and a conversation into the request the router
// runs. "taskrouter" plans; a registered model name runs as that model's
// one-step plan (task.Request.PinnedTo, the rule the router applies to
// tr.v1.req too), answered by the model or the fallbacks its spec lists,
// never another. Tools the model may call need a model that can call
// functions: a built-in local model cannot, and would answer as if none
// were offered.
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
	if req.Tools != nil && spec.Backend == task.BackendLocal && string(req.Tools.Choice) != `"none"` {
		return req, badRequest("tools_unsupported_by_model", "Model '"+model+"' is a built-in local model and cannot call functions; "+
			"offer tools to a remote model from GET /v1/models, or leave them out.").withParam("tools")
	}
	return req.PinnedTo(spec), nil
}
