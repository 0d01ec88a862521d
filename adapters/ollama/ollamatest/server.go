// Package ollamatest is a scripted Ollama server on loopback for tests. It
// answers Ollama's own API with its JSON shapes (/api/version, /api/tags,
// /api/show, with Ollama's errors) for the models a test pulls and
// removes, and Ollama's OpenAI-compatible /v1 (chat completions,
// embeddings, completions, models) through an openaitest server scripted
// with each model's reply.
package ollamatest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
)

// Version is what /api/version answers.
const Version = "0.12.6"

// Model is one model pulled on the server.
type Model struct {
	// Name is the model's name with its tag, such as llama3.2:latest.
	Name          string
	Family        string // llama, qwen2, nomic-bert, ...
	ParameterSize string // 3.2B
	Quantization  string // Q4_K_M
	// Architecture names model_info's keys (general.architecture,
	// <arch>.context_length); default the family.
	Architecture string
	// ContextLength is model_info's <arch>.context_length; 0 leaves it out.
	ContextLength int
	// NumCtx, when set, is a "num_ctx" parameter of the Modelfile.
	NumCtx int
	// Capabilities are what /api/show says the model can do.
	Capabilities []string
	// Reply scripts the model's answers on /v1.
	Reply openaitest.Behaviour
}

// Server is a running scripted Ollama. It is safe for concurrent use.
type Server struct {
	http   *http.Server
	addr   string
	openai *openaitest.Server
	done   sync.WaitGroup
	closed sync.Once

	mu     sync.RWMutex
	models map[string]Model

	shows atomic.Int64
	down  atomic.Bool
}

// New starts a server on a free port of 127.0.0.1. It panics when it
// cannot listen, as httptest.NewServer does. Call Close when done.
func New() *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("ollamatest: listening: " + err.Error())
	}
	s := &Server{addr: ln.Addr().String(), openai: openaitest.New(), models: map[string]Model{}}
	s.openai.SetModelList([]openaitest.ListedModel{})
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic("ollamatest: serving: " + err.Error())
		}
	}()
	return s
}

// Addr is the server's host:port, as OLLAMA_HOST takes it.
func (s *Server) Addr() string { return s.addr }

// URL is the server's root, such as http://127.0.0.1:43121.
func (s *Server) URL() string { return "http://" + s.addr }

// OpenAI is the server behind /v1, to read what the models were sent.
func (s *Server) OpenAI() *openaitest.Server { return s.openai }

// Shows counts the /api/show requests answered.
func (s *Server) Shows() int { return int(s.shows.Load()) }

// SetDown makes every request fail with 500, as an Ollama whose store is
// broken does, until SetDown(false).
func (s *Server) SetDown(down bool) { s.down.Store(down) }

// Close stops the server. It is safe to call more than once.
func (s *Server) Close() {
	s.closed.Do(func() {
		_ = s.http.Close()
		s.done.Wait()
		s.openai.Close()
	})
}

// Pull adds a model (or replaces one of the same name) and scripts its
// replies on /v1.
func (s *Server) Pull(m Model) {
	if m.Architecture == "" {
		m.Architecture = m.Family
	}
	s.mu.Lock()
	s.models[m.Name] = m
	s.mu.Unlock()
	s.openai.Script(m.Name, m.Reply)
	s.syncList()
}

// Remove deletes a model, as `ollama rm` does.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	delete(s.models, name)
	s.mu.Unlock()
	s.syncList()
}

// syncList makes /v1/models list the pulled models, as Ollama's does.
func (s *Server) syncList() {
	var list []openaitest.ListedModel
	for _, m := range s.pulled() {
		list = append(list, openaitest.ListedModel{ID: m.Name, OwnedBy: "library"})
	}
	if list == nil {
		list = []openaitest.ListedModel{}
	}
	s.openai.SetModelList(list)
}

func (s *Server) pulled() []Model {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Model, 0, len(s.models))
	for _, m := range s.models {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// lookup finds a model as Ollama does: by its name, or with :latest added.
func (s *Server) lookup(name string) (Model, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if m, ok := s.models[name]; ok {
		return m, true
	}
	m, ok := s.models[name+":latest"]
	return m, ok
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		writeError(w, http.StatusInternalServerError, "open /root/.ollama/models/manifests: input/output error")
		return
	}
	switch {
	case r.URL.Path == "/api/version" && r.Method == http.MethodGet:
		writeJSON(w, map[string]string{"version": Version})
	case r.URL.Path == "/api/tags" && r.Method == http.MethodGet:
		s.tags(w)
	case r.URL.Path == "/api/show" && r.Method == http.MethodPost:
		s.show(w, r)
	case strings.HasPrefix(r.URL.Path, "/v1/"):
		s.openai.ServeHTTP(w, r)
	case r.URL.Path == "/" && r.Method == http.MethodGet:
		_, _ = w.Write([]byte("Ollama is running"))
	default:
		http.NotFound(w, r) // Ollama's own 404 is plain text too
	}
}

func (s *Server) tags(w http.ResponseWriter) {
	models := []map[string]any{}
	for _, m := range s.pulled() {
		models = append(models, map[string]any{
			"name": m.Name, "model": m.Name, "modified_at": "2025-05-01T10:00:00.000000+08:00",
			"size": 2019393189, "digest": fmt.Sprintf("%064x", len(m.Name)), "details": details(m),
		})
	}
	writeJSON(w, map[string]any{"models": models})
}

func (s *Server) show(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string `json:"model"`
		Name  string `json:"name"` // the older spelling
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid character in request body")
		return
	}
	name := req.Model
	if name == "" {
		name = req.Name
	}
	m, ok := s.lookup(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", name))
		return
	}
	s.shows.Add(1)
	writeJSON(w, showAnswer(m))
}

// showAnswer is /api/show's answer for m, with Ollama's fields.
func showAnswer(m Model) map[string]any {
	params := "stop                           \"<|start_header_id|>\"\nstop                           \"<|eot_id|>\""
	if m.NumCtx > 0 {
		params = fmt.Sprintf("num_ctx                        %d\n", m.NumCtx) + params
	}
	info := map[string]any{
		"general.architecture":                   m.Architecture,
		"general.parameter_count":                3212749888,
		"general.file_type":                      15,
		m.Architecture + ".embedding_length":     3072,
		m.Architecture + ".attention.head_count": 24,
		"tokenizer.ggml.model":                   "gpt2",
	}
	if m.ContextLength > 0 {
		info[m.Architecture+".context_length"] = m.ContextLength
	}
	caps := m.Capabilities
	if caps == nil {
		caps = []string{}
	}
	return map[string]any{
		"license": "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT ...", "modelfile": "# Modelfile generated by \"ollama show\"\nFROM " + m.Name,
		"parameters": params, "template": "{{ .Prompt }}", "details": details(m), "model_info": info,
		"capabilities": caps, "modified_at": "2025-05-01T10:00:00.000000+08:00",
	}
}

func details(m Model) map[string]any {
	return map[string]any{"parent_model": "", "format": "gguf", "family": m.Family, "families": []string{m.Family},
		"parameter_size": m.ParameterSize, "quantization_level": m.Quantization}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes Ollama's error answer: {"error": "..."}.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
