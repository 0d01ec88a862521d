package router

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// MergeSubtaskID names the merge step in events and in Response.MergeModel's trace.
const MergeSubtaskID = "merge"

// mergeCapabilities are tried in order for a model-written merge.
var mergeCapabilities = []string{"merge", "chat"}

// modelMerge asks a live model with capability merge (else chat) to write
// the answer from the request and every result, dispatched over NATS like
// any subtask and streamed as progress events of the "merge" step. ok is
// false when no such model is live or it failed; the caller then uses the
// template merge.
func (ru *run) modelMerge(ctx context.Context, in MergeInput) (answer string, st task.SubtaskState, ok bool) {
	prompt := mergePrompt(in)
	tokens := task.EstimateTokens(prompt)
	cat := ru.r.catalog()
	for _, capability := range mergeCapabilities {
		if cat != nil && !cat.Has(capability) {
			continue
		}
		if _, err := ru.r.sel.Select(ctx, registry.Query{Capability: capability, Tokens: tokens, Hints: ru.req.Hints}); err != nil {
			continue
		}
		s := task.Subtask{ID: MergeSubtaskID, Capability: capability, Input: prompt, Deps: []string{}}
		st = task.SubtaskState{ID: MergeSubtaskID, Capability: capability, Deps: []string{}, Status: task.StatusRunning, StartedAt: time.Now()}
		ru.runSubtask(ctx, &s, &st)
		if st.Status == task.StatusDone {
			return st.Output, st, true
		}
		ru.r.cfg.Logger.Warn("model-written merge failed; using the template", "request_id", ru.req.ID, "subtask", MergeSubtaskID, "model", st.Model, "err", st.Error)
		return "", st, false
	}
	return "", st, false
}

// mergePrompt is the input of a model-written merge: HuggingGPT's response
// stage, with the request and each result labelled by its subtask.
func mergePrompt(in MergeInput) string {
	var b strings.Builder
	b.WriteString("User request:\n")
	b.WriteString(in.Input)
	b.WriteString("\n\nResults of the subtasks run for it:\n")
	for _, st := range in.Subtasks {
		fmt.Fprintf(&b, "\n### %s (%s", st.ID, st.Capability)
		if st.Model != "" {
			fmt.Fprintf(&b, ", by %s", st.Model)
		}
		b.WriteString(")\n")
		if st.Status == task.StatusDone {
			b.WriteString(withoutDescriptions(strings.TrimSpace(st.Output), st.Artifacts))
			for _, a := range st.Artifacts {
				// A description, never the bytes: the merge model reads
				// text, and links what it mentions.
				fmt.Fprintf(&b, "\n(produced %s %s; link it as %s)", a.Kind(), a, artifactLink(a))
			}
		} else if st.Error != nil {
			fmt.Fprintf(&b, "(failed: %s)", st.Error.Message)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nWrite one complete answer to the user's request from these results, in the language of the request. " +
		"Do not mention subtasks or models; say plainly if a part could not be done.")
	return b.String()
}
