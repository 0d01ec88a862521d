package executors

import (
	"context"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Watcher is a Model whose spec changes while it is served: an MCP server
// whose tools change. Once the executor serves the model it calls Watch
// on a goroutine of its own; the model calls update with each new spec
// (the same name), which the executor announces, until ctx ends when the
// executor stops.
type Watcher interface {
	Watch(ctx context.Context, update func(task.ModelSpec))
}

// Reporter is a Model that reports how far a long call has come (an MCP
// tool's progress notifications) as task.Progress, apart from the text
// of its answer. The executor runs such a model's work through
// GenerateReporting; report is nil when nobody follows the work.
type Reporter interface {
	GenerateReporting(ctx context.Context, w task.Work, report func(task.Progress)) (task.Output, error)
}

// watch starts a Watch for every model that is a Watcher.
func (e *Executor) watch() {
	ctx, cancel := context.WithCancel(context.Background())
	e.stopWatch = cancel
	for name, m := range e.models {
		wt, ok := m.Model.(Watcher)
		if !ok {
			continue
		}
		e.watchers.Add(1)
		go func() {
			defer e.watchers.Done()
			wt.Watch(ctx, func(spec task.ModelSpec) { e.reannounce(ctx, name, spec) })
		}()
	}
}

// reannounce announces a served model's new spec; one under another
// name is refused, as the executor serves the model under its first.
func (e *Executor) reannounce(ctx context.Context, name string, spec task.ModelSpec) {
	if spec.Name != name {
		e.cfg.Logger.Error("a model changed its name while served; its new spec is ignored", "model", name, "new_name", spec.Name)
		return
	}
	if e.cfg.Announcer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := e.cfg.Announcer.Announce(ctx, spec); err != nil {
		e.cfg.Logger.Warn("announcing a model's new spec", "model", name, "err", err)
	}
}
