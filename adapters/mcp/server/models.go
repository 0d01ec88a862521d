package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// modelsArgs are the models tool's parameters, as modelsInputSchema
// describes them.
type modelsArgs struct {
	Capability string `json:"capability"`
}

// modelsResult is the models tool's structured result, as
// modelsOutputSchema describes it. It leaves out where a model lives
// (base URLs, headers, key variables): an agent needs none of it.
type modelsResult struct {
	Models       []modelResult `json:"models"`
	SnapshotAsOf string        `json:"snapshot_as_of,omitempty"`
}

type modelResult struct {
	Name            string      `json:"name"`
	Backend         string      `json:"backend"`
	Capabilities    []string    `json:"capabilities"`
	ContextWindow   int         `json:"context_window,omitempty"`
	MaxOutputTokens int         `json:"max_output_tokens,omitempty"`
	Price           *task.Price `json:"price,omitempty"`
	Fallbacks       []string    `json:"fallbacks,omitempty"`
	Replicas        int         `json:"replicas"`
	InFlight        int         `json:"in_flight"`
	LatencyMs       float64     `json:"latency_ms"`
	State           string      `json:"state"`
	CooldownUntil   string      `json:"cooldown_until,omitempty"`
}

// models lists the registered models, or those offering one capability.
func (s *Server) models(ctx context.Context, call *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var args modelsArgs
	if err := decodeArgs(call.Params.Arguments, &args, toolModels); err != nil {
		return nil, err
	}
	c := strings.TrimSpace(args.Capability)
	if c != "" && !s.cfg.Catalog.Has(c) {
		var names []string
		for _, cp := range s.cfg.Catalog.All() {
			names = append(names, cp.Name)
		}
		return nil, argErrorf("models: no capability %q in the catalog%s; it has %s", c, nearest(c, names), strings.Join(names, ", "))
	}
	states, err := s.cfg.Models.Models(ctx)
	var stale *registry.StaleError
	if err != nil && !errors.As(err, &stale) {
		return nil, fmt.Errorf("taskrouter could not list its models: %s", task.AsError(err).Message)
	}
	out := modelsResult{Models: []modelResult{}}
	if stale != nil {
		out.SnapshotAsOf = stale.Since.UTC().Format(time.RFC3339)
	}
	for _, st := range states {
		if c == "" || st.Spec.Has(c) {
			out.Models = append(out.Models, modelOf(st))
		}
	}
	text, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the models: %w", err)
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(text)}}, StructuredContent: out}, nil
}

func modelOf(st registry.ModelState) modelResult {
	sp := st.Spec
	m := modelResult{Name: sp.Name, Backend: sp.Backend, Capabilities: sp.Capabilities, ContextWindow: sp.ContextWindow,
		MaxOutputTokens: sp.MaxOutputTokens, Fallbacks: sp.Fallbacks, Replicas: len(st.Replicas), InFlight: st.InFlight,
		LatencyMs: st.LatencyEWMAms, State: st.State}
	if m.Capabilities == nil {
		m.Capabilities = []string{}
	}
	if sp.Price != (task.Price{}) {
		m.Price = &sp.Price
	}
	if st.CooldownUntil.After(time.Now()) {
		m.CooldownUntil = st.CooldownUntil.UTC().Format(time.RFC3339)
	}
	return m
}
