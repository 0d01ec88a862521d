package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// relayed is what taskrouter reads of a request to an endpoint it only
// relays (/v1/embeddings, /v1/completions): the model, whether it
// streams, and the text, for token estimates and limits. The rest goes
// upstream as sent; the upstream checks it.
type relayed struct {
	model  string
	stream bool
	text   string
}

// endpoint is an OpenAI endpoint that taskrouter relays to a model that
// declares its capability.
type endpoint struct {
	api        string // task.APIEmbeddings or task.APICompletions
	capability string // what the model must offer: embed, complete
	field      string // the input: "input" or "prompt"
	object     string // what the endpoint answers, for its ids
}

var (
	embeddingsEndpoint  = endpoint{api: task.APIEmbeddings, capability: "embed", field: "input", object: "embedding"}
	completionsEndpoint = endpoint{api: task.APICompletions, capability: "complete", field: "prompt", object: "cmpl"}
)

// embeddings answers POST /v1/embeddings.
func (s *Server) embeddings(w http.ResponseWriter, r *http.Request, _ caller) {
	s.relay(w, r, embeddingsEndpoint)
}

// completions answers POST /v1/completions, OpenAI's legacy text
// completions, streamed or not.
func (s *Server) completions(w http.ResponseWriter, r *http.Request, _ caller) {
	s.relay(w, r, completionsEndpoint)
}

// relay runs a request to an endpoint that taskrouter relays: the model
// named, or a fallback configured for it, gets the client's body as sent
// (but for the model's upstream id) and its answer comes back as it was.
func (s *Server) relay(w http.ResponseWriter, r *http.Request, ep endpoint) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	body, e := s.readBody(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	rq, e := ep.decode(body)
	if e != nil {
		writeError(w, e)
		return
	}
	id := task.NewID("")
	req, e := s.routeTo(r.Context(), rq, ep)
	if e != nil {
		writeError(w, e)
		return
	}
	req.ID, req.Body, req.API = "req_"+id, body, ep.api
	w.Header().Set("X-Request-Id", req.ID)
	if rq.stream {
		sw := newChunkWriter(w, completion{id: ep.object + "-" + id, created: time.Now().Unix(), model: rq.model}, false)
		sw.relayOnly = true
		s.stream(w, r, &req, sw)
		return
	}
	resp := s.cfg.Runner.Handle(r.Context(), req, nil)
	switch {
	case failed(resp):
		writeError(w, fromTaskError(resp.Error))
	case resp.Body == nil:
		writeError(w, newError(http.StatusBadGateway, typeServer, "not_relayed", "Model '"+answeredBy(resp, rq.model)+
			"' answered without an OpenAI body, which "+ep.path()+" needs; name a model served by an OpenAI-compatible backend."))
	default:
		writeRelayed(w, resp, rq.model)
	}
}

func (ep endpoint) path() string {
	switch ep.api {
	case task.APIImages:
		return "/v1/images/generations"
	case task.APISpeech, task.APITranscriptions:
		return "/v1/audio/" + ep.api
	}
	return "/v1/" + ep.api
}

// routeTo pins a request to the model it names, which must offer the
// endpoint's capability; its one step works on the request's text.
func (s *Server) routeTo(ctx context.Context, rq relayed, ep endpoint) (task.Request, *apiError) {
	if rq.model == ModelTaskrouter {
		return task.Request{}, lacksCapability(rq.model, ep)
	}
	spec, ok, err := s.models.lookup(ctx, rq.model)
	switch {
	case err != nil:
		return task.Request{}, asAPIError(err)
	case !ok:
		return task.Request{}, modelNotFound(rq.model)
	case !spec.Has(ep.capability):
		return task.Request{}, lacksCapability(rq.model, ep)
	}
	plan := &task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: ep.capability, Input: rq.text, Deps: []string{}}}}
	return task.Request{Input: rq.text, Plan: plan, Hints: task.Hints{Model: rq.model}}, nil
}

func lacksCapability(model string, ep endpoint) *apiError {
	return badRequest("model_lacks_capability", fmt.Sprintf("Model '%s' does not offer %s, which %s needs; name a model whose capabilities in GET /v1/models include %q.",
		model, ep.capability, ep.path(), ep.capability)).withParam("model")
}

// decode reads the model, stream and the text of the input or prompt,
// checking their types; everything else is the upstream's to check.
func (ep endpoint) decode(body []byte) (relayed, *apiError) {
	if !gjson.ValidBytes(body) {
		return relayed{}, badRequest("invalid_json", "We could not parse the JSON body of your request: it is not valid JSON.")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return relayed{}, badRequest("invalid_json", "The request body must be a JSON object.")
	}
	var rq relayed
	model := root.Get("model")
	if model.Type != gjson.String || model.Str == "" {
		return relayed{}, badRequest("missing_model", "You must provide a model parameter: a name from GET /v1/models whose capabilities include \""+ep.capability+"\".").withParam("model")
	}
	rq.model = model.Str
	switch st := root.Get("stream"); {
	case !st.Exists() || st.Type == gjson.Null || st.Type == gjson.False:
	case st.Type != gjson.True:
		return relayed{}, wrongType("stream", "a boolean")
	case ep.api == task.APIEmbeddings:
		return relayed{}, badRequest("invalid_value", "Embeddings are not streamed; leave out 'stream'.").withParam("stream")
	default:
		rq.stream = true
	}
	text, ok := inputText(root.Get(ep.field))
	if !ok {
		return relayed{}, badRequest("invalid_type", fmt.Sprintf("'%s' must be a string, an array of strings, an array of tokens or an array of token arrays, and not empty.", ep.field)).withParam(ep.field)
	}
	rq.text = text
	return rq, nil
}

// inputText is the text of an input or a prompt: a string, or the strings
// of an array one per line; tokens count as their JSON.
func inputText(v gjson.Result) (string, bool) {
	switch {
	case v.Type == gjson.String:
		return v.Str, true
	case !v.IsArray():
		return "", false
	}
	var parts []string
	ok := true
	v.ForEach(func(_, e gjson.Result) bool {
		switch {
		case e.Type == gjson.String:
			parts = append(parts, e.Str)
		case e.Type == gjson.Number, e.IsArray() && isTokens(e):
			parts = append(parts, e.Raw)
		default:
			ok = false
		}
		return ok
	})
	return strings.Join(parts, "\n"), ok && len(parts) > 0
}

// isTokens reports whether v is an array of numbers.
func isTokens(v gjson.Result) bool {
	ok := true
	v.ForEach(func(_, e gjson.Result) bool {
		ok = e.Type == gjson.Number
		return ok
	})
	return ok
}
