package openaitest

import (
	"encoding/json"
	"net/http"
	"slices"
)

// ListedModel is one entry of GET /v1/models as SetModelList lists it: an
// id and the fields some servers add beside it, such as vLLM's
// max_model_len or OpenRouter's context_length.
type ListedModel struct {
	ID      string
	OwnedBy string
	Fields  map[string]any
}

// SetModelList makes GET /v1/models list these models, in this order,
// instead of the scripted ones, so a test can change what a provider
// lists as it goes; nil lists the scripted names again. Listing a model
// does not script it: chat completions naming it are answered as
// Script or WithDefault say.
func (s *Server) SetModelList(list []ListedModel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if list == nil {
		s.listed = nil
		return
	}
	s.listed = slices.Clone(list)
}

// listModels answers GET /v1/models, behind the key when the server has
// one, as OpenAI's does.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	if s.apiKey != "" && r.Header.Get("Authorization") != "Bearer "+s.apiKey {
		writeAPIError(w, unauthorized(r))
		return
	}
	s.mu.RLock()
	listed := s.listed
	s.mu.RUnlock()
	if listed == nil {
		writeModels(w, s.modelNames())
		return
	}
	data := make([]map[string]any, 0, len(listed))
	for _, m := range listed {
		entry := map[string]any{}
		for k, v := range m.Fields {
			entry[k] = v
		}
		owner := m.OwnedBy
		if owner == "" {
			owner = "openaitest"
		}
		entry["id"], entry["object"], entry["created"], entry["owned_by"] = m.ID, "model", 1700000000, owner
		data = append(data, entry)
	}
	body, _ := json.Marshal(map[string]any{"object": "list", "data": data})
	writeJSON(w, http.StatusOK, body)
}
