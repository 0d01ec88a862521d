package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/task"
)

// Conversations shows and forgets the conversations an owner keeps;
// memory.Memory is one.
type Conversations interface {
	// Get returns a conversation's turns and summary, or memory.ErrNotFound.
	Get(ctx context.Context, owner, id string) (memory.View, error)
	// Forget deletes everything kept of a conversation, or returns
	// memory.ErrNotFound.
	Forget(ctx context.Context, owner, id string) error
}

// memoryFields are what a chat completion or a job says about memory:
// its conversation, memory scope and whether it may use the cache.
type memoryFields struct {
	conversation, scope string
	cache               *bool
}

// fromHeaders completes the fields from the request's headers: the
// conversation in X-Taskrouter-Conversation (which must agree with the
// body's when both name one), and Cache-Control: no-cache or no-store,
// which bypasses the answer cache.
func (f *memoryFields) fromHeaders(h http.Header) *apiError {
	id, e := conversationHeader(h)
	if e != nil {
		return e
	}
	switch {
	case id != "" && f.conversation != "" && id != f.conversation:
		return badRequest("conflicting_conversation", "The body's 'conversation' and the "+task.HeaderConversation+
			" header name different conversations; send one.").withParam("conversation")
	case id != "":
		f.conversation = id
	}
	if noCache(h) {
		off := false
		f.cache = &off
	}
	return nil
}

// apply sets the fields on a request, with its owner.
func (f memoryFields) apply(req *task.Request, owner string) {
	req.Conversation, req.MemoryScope, req.Cache, req.Owner = f.conversation, f.scope, f.cache, owner
}

// conversationHeader reads X-Taskrouter-Conversation: one value, a
// valid conversation id; "" when absent.
func conversationHeader(h http.Header) (string, *apiError) {
	vals := h.Values(task.HeaderConversation)
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1:
		return "", badRequest("invalid_conversation", "Send "+task.HeaderConversation+" once.").withParam("conversation")
	}
	id := strings.TrimSpace(vals[0])
	if err := task.CheckConversationID(task.HeaderConversation, id); err != nil {
		return "", badRequest("invalid_conversation", task.AsError(err).Message+".").withParam("conversation")
	}
	return id, nil
}

// noCache reports whether Cache-Control asks for no cached answer: a
// no-cache or no-store directive, in any case, among any others.
func noCache(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(d), "=")
			if strings.EqualFold(name, "no-cache") || strings.EqualFold(name, "no-store") {
				return true
			}
		}
	}
	return false
}

// conversation answers GET and DELETE /v1/conversations/{id}: the
// conversation's turns and summary, or forgetting everything about it.
// Another API key's conversation is a 404.
func (s *Server) conversation(w http.ResponseWriter, r *http.Request, c caller) {
	if !allow(w, r, http.MethodGet, http.MethodDelete) {
		return
	}
	if s.cfg.Conversations == nil {
		writeError(w, newError(http.StatusServiceUnavailable, typeServer, "memory_disabled", "This router keeps no conversations."))
		return
	}
	id := r.PathValue("id")
	if err := task.CheckConversationID("the conversation id", id); err != nil {
		writeError(w, badRequest("invalid_conversation", task.AsError(err).Message+".").withParam("id"))
		return
	}
	if r.Method == http.MethodGet {
		v, err := s.cfg.Conversations.Get(r.Context(), c.owner, id)
		if err != nil {
			writeError(w, conversationError(id, err))
			return
		}
		writeJSON(w, http.StatusOK, v)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := s.cfg.Conversations.Forget(ctx, c.owner, id); err != nil {
		writeError(w, conversationError(id, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "conversation.deleted", "deleted": true})
}

func conversationError(id string, err error) *apiError {
	switch {
	case errors.Is(err, memory.ErrNotFound):
		return newError(http.StatusNotFound, typeNotFound, "conversation_not_found",
			"No conversation "+id+" exists for this API key; it may have expired or been deleted.").withParam("id")
	case errors.Is(err, memory.ErrUnavailable):
		return fromTaskError(task.Errorf(task.CodeUnavailable, "the conversation store cannot be reached: %v", err))
	}
	return asAPIError(err)
}
