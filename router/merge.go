package router

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// MergeInput is everything a merger may use to write the answer.
type MergeInput struct {
	Request task.Request
	// Input is the request's text; Plan and Subtasks are in plan order.
	Input    string
	Plan     task.Plan
	Subtasks []task.SubtaskState
}

// TemplateMerger composes the answer without a model. A plan with one
// result answers with it; otherwise each result of the plan's last layer
// (the subtasks nothing depends on) gets a section headed with its
// capability's title, in the language of the request. Images and audio
// any step produced are Markdown links (images as images) to
// FileLink, in plan order, after the text.
type TemplateMerger struct {
	Catalog *task.Catalog
}

// stateOf is the state of subtask id (the last, were there two), or a
// zero state.
func stateOf(states []task.SubtaskState, id string) task.SubtaskState {
	for i := len(states) - 1; i >= 0; i-- {
		if states[i].ID == id {
			return states[i]
		}
	}
	return task.SubtaskState{}
}

// Merge implements Merger. It never fails.
func (m TemplateMerger) Merge(_ context.Context, in MergeInput) (string, string, error) {
	if sink, ok := in.Plan.OnlySink(); ok {
		// Every link at the end, in plan order: what was drawn before
		// what was said.
		return withArtifactLinks(render(stateOf(in.Subtasks, sink.ID)), in.Subtasks), "single", nil
	}
	sinks := in.Plan.Sinks()
	states := map[string]task.SubtaskState{}
	for _, st := range in.Subtasks {
		states[st.ID] = st
	}
	lang := Language(in.Input)
	seen := map[string]int{}
	var b strings.Builder
	for _, s := range sinks {
		title := s.Capability
		if c, ok := m.Catalog.Get(s.Capability); ok {
			title = c.Title(lang)
		}
		seen[title]++
		if seen[title] > 1 {
			title = fmt.Sprintf("%s (%d)", title, seen[title])
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "## %s\n\n%s", title, renderOrFailure(states[s.ID], lang))
	}
	return withArtifactLinks(b.String(), in.Subtasks), "template", nil
}

func renderOrFailure(st task.SubtaskState, lang string) string {
	if st.Status == task.StatusDone {
		return withArtifactLinks(render(st), []task.SubtaskState{st})
	}
	msg := "not finished"
	if st.Error != nil {
		msg = st.Error.Message
	}
	if lang == "zh" {
		return "（未完成：" + msg + "）"
	}
	return "(not available: " + msg + ")"
}

// render presents one output for people: a JSON object becomes one
// "- key: value" line per key, in the model's order; a list of objects shows
// each one's "text" (or "name"); anything else is shown as it is, and so
// is JSON nested too deep for renderValue's recursion.
func render(st task.SubtaskState) string {
	out := withoutDescriptions(strings.TrimSpace(st.Output), st.Artifacts)
	if st.Format != "json" || task.CheckJSONDepth([]byte(out), task.MaxJSONDepth) != nil || !gjson.Valid(out) {
		return out
	}
	doc := gjson.Parse(out)
	if !doc.IsObject() {
		return renderValue(doc)
	}
	var b strings.Builder
	doc.ForEach(func(k, v gjson.Result) bool {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "- %s: %s", strings.ReplaceAll(k.String(), "_", " "), renderValue(v))
		return true
	})
	return b.String()
}

func renderValue(v gjson.Result) string {
	switch {
	case v.IsArray():
		var parts []string
		v.ForEach(func(_, e gjson.Result) bool {
			parts = append(parts, renderValue(e))
			return true
		})
		if len(parts) == 0 {
			return "none"
		}
		return strings.Join(parts, ", ")
	case v.IsObject():
		for _, label := range []string{"text", "name", "value"} {
			if l := v.Get(label); l.Exists() && !l.IsObject() && !l.IsArray() {
				return l.String()
			}
		}
		return v.Raw
	case v.Type == gjson.Null:
		return "none"
	}
	return v.String()
}

// Language guesses the language of a request for headings: "zh" when Han
// characters outnumber Latin letters, else "en".
func Language(text string) string {
	han, latin := 0, 0
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.Is(unicode.Latin, r):
			latin++
		}
	}
	// A Han character carries about as much as a short Latin word.
	if han*3 > latin {
		return "zh"
	}
	return "en"
}

// respond merges the results of a finished run into the response.
func (ru *run) respond(ctx context.Context, resp *task.Response) {
	resp.Subtasks = ru.states
	resp.Artifacts = producedArtifacts(ru.states)
	for _, st := range ru.states {
		resp.Usage = resp.Usage.Add(st.Usage)
		if resp.Error == nil && st.Error != nil && st.Status != task.StatusDone && !ru.superseded[st.ID] {
			resp.Error = st.Error
		}
	}
	if !ru.anySinkDone() {
		if resp.Error == nil {
			resp.Error = task.Errorf(task.CodeInternal, "the plan finished with no result")
		}
		return
	}
	in := MergeInput{Request: ru.req, Input: ru.input, Plan: ru.answerPlan(), Subtasks: resp.Subtasks}
	resp.Answer, resp.Merge = ru.merge(ctx, in, resp)
	if len(ru.plan.Tasks) == 1 {
		// The answer is one model's output: so are its tool calls and
		// why it stopped.
		resp.ToolCalls, resp.FinishReason = resp.Subtasks[0].ToolCalls, resp.Subtasks[0].FinishReason
		resp.Model, resp.Body = resp.Subtasks[0].Model, resp.Subtasks[0].Body
	} else if resp.Merge == "model" {
		resp.Model = resp.MergeModel
	}
	ru.emitEvent(task.Event{Type: task.EventMerged, Model: resp.MergeModel, Text: resp.Merge})
}

// merge writes the answer: the one result of a plan with a single sink, a
// configured Merger's answer, a model-written one, or the template's.
func (ru *run) merge(ctx context.Context, in MergeInput, resp *task.Response) (answer, how string) {
	template := TemplateMerger{Catalog: ru.r.catalog()}
	if _, ok := in.Plan.OnlySink(); ok {
		answer, how, _ = template.Merge(ctx, in)
		return answer, how
	}
	if m := ru.r.cfg.Merger; m != nil {
		answer, how, err := m.Merge(ctx, in)
		if err == nil {
			return answer, how
		}
		ru.r.cfg.Logger.Warn("the configured merger failed; using the template", "request_id", ru.req.ID, "err", err)
	} else if !ru.r.cfg.DisableModelMerge {
		answer, st, ok := ru.modelMerge(ctx, in)
		resp.Usage = resp.Usage.Add(st.Usage)
		if ok {
			resp.MergeModel = st.Model
			return answer, "model"
		}
	}
	answer, how, _ = template.Merge(ctx, in)
	return answer, how
}

func (ru *run) anySinkDone() bool {
	p := ru.answerPlan()
	for _, s := range p.Tasks {
		if ru.states[ru.index[s.ID]].Status == task.StatusDone && p.IsSink(s.ID) {
			return true
		}
	}
	return false
}
