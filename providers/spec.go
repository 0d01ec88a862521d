package providers

import (
	"maps"
	"slices"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// Specs turns a provider's listings into the specs of the models to
// register, sorted by name: each one named ModelName(provider, id) (with
// the id's hash when another id folds to the same name), called at the
// provider's OpenAI-compatible base URL with the id as upstream model,
// with the window the server told and the capabilities of
// Inference.Capabilities. Listings without an id, listed twice, or with
// no capability are left out.
func (inf Inference) Specs(c Config, listings []Listing) []task.ModelSpec {
	c = c.WithDefaults()
	sorted := slices.Clone(listings)
	slices.SortStableFunc(sorted, func(a, b Listing) int { return strings.Compare(a.ID, b.ID) })
	taken := map[string]bool{}
	seen := map[string]bool{}
	var out []task.ModelSpec
	for _, l := range sorted {
		if strings.TrimSpace(l.ID) == "" || seen[l.ID] {
			continue
		}
		seen[l.ID] = true
		caps, quality := inf.Capabilities(l, c.CapabilitiesByPattern)
		if len(caps) == 0 {
			continue
		}
		name := distinctName(c.Name, l.ID, taken)
		taken[name] = true
		out = append(out, task.ModelSpec{
			Name: name, Backend: task.BackendOpenAI, BaseURL: c.ModelsBaseURL(), APIKeyEnv: c.APIKeyEnv,
			UpstreamModel: l.ID, Headers: maps.Clone(c.Headers), Capabilities: caps, Quality: quality,
			ContextWindow: max(l.ContextWindow, 0), Concurrency: c.Concurrency, Provider: c.Name,
		})
	}
	slices.SortFunc(out, func(a, b task.ModelSpec) int { return strings.Compare(a.Name, b.Name) })
	return out
}
