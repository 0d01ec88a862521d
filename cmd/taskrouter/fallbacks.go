package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/taskrouter/taskrouter/localmodel"
	"github.com/taskrouter/taskrouter/task"
)

// validateFallbacks checks every model's fallbacks: each names a known
// model (configured or built-in), other than the model itself, once, that
// shares a capability with it (one that shares none could never answer in
// its place). An unknown name is reported with the nearest known one.
func (c *Config) validateFallbacks(bad func(string, ...any)) {
	caps := knownModelCapabilities(c.Models)
	names := make([]string, 0, len(caps))
	for name := range caps {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, m := range c.Models {
		for j, fb := range m.Fallbacks {
			where := fmt.Sprintf("models[%d] (%s): fallbacks[%d]", i, m.Name, j)
			fbCaps, known := caps[fb]
			switch {
			case fb == m.Name:
				bad("%s: %q is the model itself; list other models", where, fb)
			case !known:
				bad("%s: %q is no configured or built-in model%s", where, fb, suggestModel(fb, names))
			case slices.Index(m.Fallbacks, fb) < j:
				bad("%s: %q is listed twice", where, fb)
			case !slices.ContainsFunc(m.Capabilities, func(c string) bool { return slices.Contains(fbCaps, c) }):
				bad("%s: %q offers none of %s's capabilities (%s), so it could never answer for it", where, fb, m.Name, strings.Join(m.Capabilities, ", "))
			}
		}
	}
}

// knownModelCapabilities maps every model a config knows, built-in or
// configured (a configured one replacing a built-in of the same name), to
// its capabilities.
func knownModelCapabilities(models []task.ModelSpec) map[string][]string {
	caps := map[string][]string{}
	for _, b := range localmodel.Builtins() {
		caps[b.Spec.Name] = b.Spec.Capabilities
	}
	for _, m := range models {
		if m.Name != "" {
			caps[m.Name] = m.Capabilities
		}
	}
	return caps
}

// suggestModel says which known name is nearest to name, when one is
// close enough to be a typo, else lists the known names.
func suggestModel(name string, known []string) string {
	lower := make([]string, len(known))
	for i, k := range known {
		lower[i] = strings.ToLower(k)
	}
	if c, ok := nearest(strings.ToLower(name), lower); ok {
		return fmt.Sprintf("; did you mean %q?", known[slices.Index(lower, c)])
	}
	return "; known models: " + strings.Join(known, ", ")
}
