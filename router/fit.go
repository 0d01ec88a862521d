package router

import (
	"context"
	"fmt"
	"strings"

	"github.com/taskrouter/taskrouter/memory"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// Token counts of a chat prompt besides its messages' text: OpenAI's
// format spends about four tokens on each message's framing, and the
// router's instruction for a capability is a sentence or two.
const (
	messageOverhead    = 4
	instructionReserve = 64
)

// promptTokens counts what a step's prompt holds for model: the
// instruction, the caller's conversation, the input and what follows it;
// mem is the memory's share, counted apart.
func (ru *run) promptTokens(s *task.Subtask, model *task.ModelSpec, mem []task.Message) (caller, memTokens int) {
	caller = instructionReserve + memory.Tokens(*model, s.Input) + messageOverhead
	for _, m := range ru.context {
		caller += memory.Tokens(*model, m.Content) + messageOverhead
	}
	if ru.answers(s.ID) {
		for _, m := range ru.req.After() {
			caller += memory.Tokens(*model, m.Content) + messageOverhead
		}
	}
	for _, m := range mem {
		memTokens += memory.Tokens(*model, m.Content) + messageOverhead
	}
	return caller, memTokens
}

// selectFor selects the models for a step. Models whose window cannot
// hold the whole prompt, memory included, are passed over, so that a
// larger one is preferred; when none can, the step goes to the models
// that can hold the caller's own prompt, and fit compresses the memory.
func (ru *run) selectFor(ctx context.Context, s *task.Subtask) (registry.Selection, error) {
	var estimate task.ModelSpec
	caller, mem := ru.promptTokens(s, &estimate, ru.mem.messages())
	q := registry.Query{Capability: s.Capability, Tokens: caller + mem, Hints: ru.req.Hints}
	sel, err := ru.r.sel.Select(ctx, q)
	if err == nil || mem == 0 {
		return sel, err
	}
	if code := task.AsError(err).Code; code != task.CodeNoModel && code != task.CodeContextLength {
		return sel, err
	}
	q.Tokens = caller
	return ru.r.sel.Select(ctx, q)
}

// room is what a step must leave in model's window for its answer: the
// model's output limit, or the caller's max_tokens for the answering step
// when lower; a model that states neither gets a quarter of its window.
func (ru *run) room(s *task.Subtask, model *task.ModelSpec) int {
	room := model.MaxOutputTokens
	if sp := ru.req.Sampling; sp != nil && ru.answers(s.ID) && sp.MaxTokens > 0 && (room == 0 || sp.MaxTokens < room) {
		room = sp.MaxTokens
	}
	if room == 0 {
		room = model.ContextWindow / 4
	}
	return room
}

// fit makes the conversation's memory fit model's window with the rest
// of the step's prompt and the room for the answer: it leaves out the
// recalled turns, then folds older turns into the summary, then leaves
// out the summary. It returns the memory messages for the step and the
// tokens they take, and emits a context event saying what the step got
// and what was summarized or left out. The caller's own prompt is never
// touched: when it alone does not fit, the model says so.
func (ru *run) fit(ctx context.Context, s *task.Subtask, model *task.ModelSpec, attempt int) ([]task.Message, int) {
	m := ru.mem
	if m == nil {
		return nil, 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	caller, mem := ru.promptTokens(s, model, m.msgs)
	if model.ContextWindow > 0 {
		budget := model.ContextWindow - ru.room(s, model)
		why := fmt.Sprintf("to fit %s's window of %d tokens, %d of them for the answer", model.Name, model.ContextWindow, model.ContextWindow-budget)
		mem = ru.compress(ctx, s, model, budget-caller, mem, why)
	}
	if mm := ru.r.memoryMetrics(); mm != nil && mem > 0 {
		mm.MemoryAdded(mem)
	}
	if ru.observed() {
		ru.emitEvent(task.Event{Type: task.EventContext, SubtaskID: s.ID, Model: model.Name, Attempt: attempt, Text: m.describe(mem)})
	}
	m.left = nil
	return m.msgs, mem
}

// compress shrinks the memory until it takes at most avail tokens, and
// returns what it takes then.
func (ru *run) compress(ctx context.Context, s *task.Subtask, model *task.ModelSpec, avail, mem int, why string) int {
	m := ru.mem
	if avail <= 0 && mem > 0 {
		m.left = append(m.left, fmt.Sprintf("left out the conversation's memory (%d tokens): the request's own prompt leaves it no room %s", mem, why))
		m.msgs = nil
		return 0
	}
	recount := func() int {
		m.msgs = m.sess.Messages()
		_, n := ru.promptTokens(s, model, m.msgs)
		return n
	}
	if mem > avail && len(m.sess.Recalled) > 0 {
		n := m.sess.DropRecalled()
		m.left = append(m.left, fmt.Sprintf("left out %d recalled turns %s", n, why))
		mem = recount()
	}
	for mem > avail && m.sess.Unsummarized() > 0 {
		before := m.sess.Unsummarized()
		ru.fold(ctx, ru.foldCount(*model, avail), why)
		mem = recount()
		if m.sess.Unsummarized() >= before {
			break
		}
	}
	if mem > avail {
		m.left = append(m.left, fmt.Sprintf("left out the conversation's memory, its summary and what was left of it (%d tokens), %s", mem, why))
		m.msgs = nil
		mem = 0
	}
	return mem
}

// foldCount is how many of the oldest recent turns to fold so that the
// rest, with a summary of up to a quarter of avail, takes at most avail.
func (ru *run) foldCount(model task.ModelSpec, avail int) int {
	recent := ru.mem.sess.Recent
	keep, total := 0, avail/4
	for i := len(recent) - 1; i >= 0; i-- {
		total += memory.Tokens(model, recent[i].Content) + messageOverhead
		if total > avail {
			break
		}
		keep++
	}
	return max(len(recent)-keep, 1)
}

// describe says what the memory adds to a step, and what was summarized
// or left out to make it fit. The caller holds m.mu.
func (m *runMemory) describe(tokens int) string {
	s := m.sess
	var parts []string
	if s.Summary != nil && len(m.msgs) > 0 {
		parts = append(parts, fmt.Sprintf("the summary of turns up to %d", s.Summary.Through))
	}
	if n := len(s.Recent); n > 0 {
		parts = append(parts, fmt.Sprintf("%d recent turns", n))
	}
	if n := len(s.Recalled); n > 0 {
		parts = append(parts, fmt.Sprintf("%d recalled turns", n))
	}
	text := "memory added nothing"
	if len(parts) > 0 && len(m.msgs) > 0 {
		text = fmt.Sprintf("memory added %s: %d tokens", strings.Join(parts, ", "), tokens)
	}
	if len(m.left) > 0 {
		text += "; " + strings.Join(m.left, "; ")
	}
	return text
}
