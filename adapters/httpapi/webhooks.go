package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// Hook is one webhook endpoint, POST /v1/webhooks/{Name}.
type Hook struct {
	Name     string
	Verifier webhook.Verifier
	// Instruction goes before the payload in the job's input, for payloads
	// that are events rather than requests ("Summarise this issue:").
	Instruction string
	// Model is what the jobs use: "taskrouter" (default) or a model name.
	Model string
	// CallbackURL, when set, receives the result of every job the hook
	// creates.
	CallbackURL string
	// ConversationFrom, when set, is a gjson path to the conversation id
	// in the payload (such as "thread.id"): the hook's jobs with one are
	// turns of that conversation, kept apart from other hooks' and API
	// keys' conversations. A payload without it starts none.
	ConversationFrom string
}

var hookName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func indexHooks(hooks []Hook) (map[string]Hook, error) {
	out := map[string]Hook{}
	for _, h := range hooks {
		if !hookName.MatchString(h.Name) {
			return nil, fmt.Errorf("httpapi: webhook name %q must be 1-64 letters, digits, '_' or '-'", h.Name)
		}
		if _, dup := out[h.Name]; dup {
			return nil, fmt.Errorf("httpapi: webhook %q is configured twice", h.Name)
		}
		if len(h.Verifier.Secrets) == 0 {
			return nil, fmt.Errorf("httpapi: webhook %q has no secret", h.Name)
		}
		if h.Model == "" {
			h.Model = ModelTaskrouter
		}
		out[h.Name] = h
	}
	return out, nil
}

// webhookReply is the answer to a webhook: the job it created, or the one
// an earlier delivery of the same webhook-id created.
type webhookReply struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Status    string `json:"status,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// webhook answers POST /v1/webhooks/{name}. Signatures authenticate it, so
// it needs no API key. A bad signature gets 401 and creates nothing; a
// replayed webhook-id gets 200 with the first delivery's job.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) || !s.jobsEnabled(w) {
		return
	}
	name := r.PathValue("name")
	h, ok := s.hooks[name]
	if !ok {
		s.rejected("unknown", "unknown_hook")
		writeError(w, newError(http.StatusNotFound, typeNotFound, "webhook_not_found", "No webhook named "+name+" is configured."))
		return
	}
	body, e := s.readBody(w, r)
	if e != nil {
		s.rejected(name, "bad_body")
		writeError(w, e)
		return
	}
	msg, err := h.Verifier.Verify(r.Header, body, time.Now())
	if err != nil {
		s.rejected(name, "invalid_signature")
		writeError(w, newError(http.StatusUnauthorized, typeAuthentication, "invalid_signature",
			fmt.Sprintf("The webhook signature was not accepted: %v. Sign with the hook's whsec_ secret as the Standard Webhooks spec says.", err)))
		return
	}
	spec, e := s.hookSpec(r.Context(), h, body)
	if e != nil {
		s.rejected(name, "invalid_payload")
		writeError(w, e)
		return
	}
	s.deliverOnce(w, r.Context(), name, dedupeKey(name, msg.ID), spec)
}

// rejected counts a webhook delivery that creates no job.
func (s *Server) rejected(hook, reason string) {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.WebhookRejected(hook, reason)
	}
}

// dedupeKey is a store key for a hook's webhook-id; hashing keeps any id
// within the characters and length a key may have.
func dedupeKey(hook, id string) string {
	sum := sha256.Sum256([]byte(hook + "\x00" + id))
	return "wh_" + hex.EncodeToString(sum[:])
}

// pendingMark holds a webhook-id's place while its job is being submitted.
const pendingMark = "pending"

// deliverOnce creates the job unless the key was seen: the key is claimed
// first, so two deliveries racing each other create one job, and released
// when the job could not be accepted, so the sender's retry can.
func (s *Server) deliverOnce(w http.ResponseWriter, ctx context.Context, hook, key string, spec jobs.Spec) {
	dedupe := s.cfg.Dedupe
	_, err := dedupe.Create(ctx, key, []byte(pendingMark))
	if errors.Is(err, kv.ErrExists) {
		s.rejected(hook, "duplicate")
		s.replayed(w, ctx, key)
		return
	}
	if err != nil {
		s.rejected(hook, "not_accepted")
		writeError(w, fromTaskError(task.Errorf(task.CodeUnavailable, "recording the webhook-id: %v", err)))
		return
	}
	spec.Traceparent = telemetry.Traceparent(ctx)
	j, err := s.cfg.Jobs.Submit(ctx, spec)
	if err != nil {
		s.rejected(hook, "not_accepted")
		_ = dedupe.Delete(context.WithoutCancel(ctx), key)
		writeError(w, submitError(err))
		return
	}
	if _, err := dedupe.Put(context.WithoutCancel(ctx), key, []byte(j.ID)); err != nil {
		s.cfg.Logger.Warn("recording the job of a webhook-id", "job_id", j.ID, "hook", hook, "err", err)
	}
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	writeJSON(w, http.StatusAccepted, webhookReply{ID: j.ID, Object: "job", Status: string(j.Status)})
}

func (s *Server) replayed(w http.ResponseWriter, ctx context.Context, key string) {
	v, _, err := s.cfg.Dedupe.Get(ctx, key)
	if err != nil || string(v) == pendingMark {
		e := newError(http.StatusConflict, typeInvalidRequest, "webhook_in_progress",
			"A delivery with this webhook-id is being processed; retry later to get its job id.")
		e.RetryAfter = time.Second
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, webhookReply{ID: string(v), Object: "job", Duplicate: true})
}

// hookSpec makes the job of a webhook: a payload shaped as a job request
// ({"input": ...} or {"messages": [...]}) is run as one; any other payload
// becomes the input, after the hook's instruction.
func (s *Server) hookSpec(ctx context.Context, h Hook, body []byte) (jobs.Spec, *apiError) {
	spec := jobs.Spec{Model: h.Model, Source: "webhook:" + h.Name, CallbackURL: h.CallbackURL}
	if e := checkDepth(body); e != nil {
		return spec, e // not a payload to pass on as text either
	}
	jr, req, e := decodeJobRequest(body, s.cfg.Limits)
	if e != nil || jr.Input == "" && len(jr.Messages) == 0 {
		input := string(body)
		if !json.Valid(body) {
			return spec, badRequest("invalid_payload", "The webhook payload must be JSON.")
		}
		if h.Instruction != "" {
			input = h.Instruction + "\n\n" + string(bytes.TrimSpace(body))
		}
		req = task.Request{Input: input}
		if err := req.Check(s.cfg.Limits); err != nil {
			return spec, fromTaskError(task.AsError(err))
		}
	} else {
		if e := s.resolveFiles(ctx, &req); e != nil {
			return spec, e
		}
		spec.Metadata = jr.Metadata
		if jr.Model != "" {
			spec.Model = jr.Model
		}
		if jr.CallbackURL != "" {
			spec.CallbackURL = jr.CallbackURL
		}
	}
	id, e := hookConversation(h, body)
	if e != nil {
		return spec, e
	}
	if id != "" {
		req.Conversation = id
	}
	req, e = s.route(ctx, spec.Model, req)
	spec.Request = req
	return spec, e
}

// hookConversation picks the conversation id out of a payload at the
// hook's conversation_from path: a string, or a number as written. A
// payload without it, or a hook without the path, has none.
func hookConversation(h Hook, body []byte) (string, *apiError) {
	if h.ConversationFrom == "" {
		return "", nil
	}
	v := gjson.GetBytes(body, h.ConversationFrom)
	switch v.Type {
	case gjson.String, gjson.Number:
	case gjson.Null:
		return "", nil
	default:
		if !v.Exists() {
			return "", nil
		}
		return "", badRequest("invalid_payload", "The payload's "+h.ConversationFrom+" must be a string or a number: it names the conversation.")
	}
	id := v.String()
	if v.Type == gjson.Number {
		id = v.Raw
	}
	if err := task.CheckConversationID(h.ConversationFrom, id); err != nil {
		return "", badRequest("invalid_payload", task.AsError(err).Message+".")
	}
	return id, nil
}
