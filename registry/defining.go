package registry

import (
	"slices"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Defining lists the specs of the announced models that define
// capabilities of their own (task.ModelSpec.Defines: an MCP server's
// tools) and have a live replica now, sorted by name. It reads the
// registry's memory only, so a router may call it on every request.
func (m *Memory) Defining() []task.ModelSpec { return m.t.defining(m.opt.Now()) }

// Defining lists the specs of the announced models that define
// capabilities of their own and have a live replica, as of the last
// snapshot of Redis, sorted by name. It does no I/O.
func (r *Redis) Defining() []task.ModelSpec { return r.t.defining(r.opt.Now()) }

func (t *table) defining(now time.Time) []task.ModelSpec {
	live := t.liveAt(now)
	t.mu.RLock()
	var out []task.ModelSpec
	for _, e := range t.models {
		if e.hasSpec && len(e.spec.Defines) > 0 && slices.ContainsFunc(e.replicas, func(r replicaSlot) bool { return r.expires > live }) {
			out = append(out, e.spec)
		}
	}
	t.mu.RUnlock()
	slices.SortFunc(out, func(a, b task.ModelSpec) int { return strings.Compare(a.Name, b.Name) })
	return out
}
