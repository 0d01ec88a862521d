package httpapi

import (
	"context"
	"net/http"

	"github.com/taskrouter/taskrouter/adapters/internal/openaibody"
	"github.com/taskrouter/taskrouter/task"
)

// HeaderModel names, on every answer of a model called by name, the
// model that answered: the one asked for, or a fallback the operator
// configured for it.
const HeaderModel = "X-Taskrouter-Model"

// answeredBy is the registered name of the model whose answer resp is,
// or the name the client asked for when the router did not say. An answer
// of model "taskrouter" is taskrouter's, whichever model wrote its one
// step: the client asked for the router, and subtasks name their models.
func answeredBy(resp task.Response, asked string) string {
	return answeringModel(resp.Model, asked)
}

// answeringModel is answeredBy for an answer written by model.
func answeringModel(model, asked string) string {
	if model != "" && asked != ModelTaskrouter {
		return model
	}
	return asked
}

// writeRelayed writes the upstream's own answer to a client that called
// a model by name: every field as the upstream sent it, but the model,
// which is the name the client knows rather than the upstream's id.
func writeRelayed(w http.ResponseWriter, resp task.Response, asked string) {
	name := answeredBy(resp, asked)
	w.Header().Set(HeaderModel, name)
	writeBody(w, http.StatusOK, openaibody.SetModel(resp.Body, name))
}

// checkNamed refuses, for a built-in local model named by the request,
// what only a remote model can do (see checkRemote); a remote model gets
// the request as sent.
func (s *Server) checkNamed(ctx context.Context, c *chat) *apiError {
	if c.media == "" && c.choices <= 1 {
		return nil
	}
	spec, ok, err := s.models.lookup(ctx, c.model)
	if err != nil || !ok {
		return nil // route has answered for an unknown model already
	}
	return c.checkRemote(spec.Backend != task.BackendLocal)
}
