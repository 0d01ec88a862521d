package router

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/taskrouter/taskrouter/task"
)

// Replanner is a Planner that can plan another round of a request from
// the results of the rounds before (planner.Replanner; llm.Planner, as
// LLMCompiler's joiner). It returns the steps that remain, standing
// alone, or a plan with no subtasks when nothing does.
type Replanner interface {
	Replan(ctx context.Context, req task.Request, results []task.SubtaskState) (task.Plan, error)
}

// replanner is what plans the request's further rounds: the router's
// planner when it can replan, the router planned the request itself and
// more than one round is allowed; nil otherwise.
func (r *Router) replanner(req *task.Request) Replanner {
	rp, ok := r.planner.(Replanner)
	if !ok || req.Plan != nil || req.Model != "" || r.cfg.MaxRounds < 2 {
		return nil
	}
	return rp
}

// moreRounds runs further rounds of the request while the last round
// asks for one, by declaring it (Plan.Replan) or with a step that failed
// for good, up to Config.MaxRounds in all. Each round's plan is asked
// with the results so far; its steps join the run's, with ids prefixed
// by their round ("r2-t1"), and the steps of earlier rounds that did not
// finish are superseded: they neither fail the request nor make up the
// answer.
func (ru *run) moreRounds(ctx context.Context, rp Replanner) {
	if rp == nil {
		return
	}
	from, declared := 0, ru.plan.Replan
	for round := 2; round <= ru.r.cfg.MaxRounds && ctx.Err() == nil; round++ {
		if !declared && !anyFailed(ru.states[from:]) {
			return
		}
		next, err := rp.Replan(ctx, ru.req, slices.Clone(ru.states))
		if err != nil {
			ru.r.cfg.Logger.Warn("replanning failed; answering with the results so far", "request_id", ru.req.ID, "round", round, "err", err)
			return
		}
		if len(next.Tasks) == 0 {
			return
		}
		next = inRound(next, round)
		if err := ru.r.checkRound(next); err != nil {
			ru.r.cfg.Logger.Warn("the next round's plan is invalid; answering with the results so far", "request_id", ru.req.ID, "round", round, "err", err)
			return
		}
		from, declared = len(ru.plan.Tasks), next.Replan
		ru.runRound(ctx, round, next)
	}
}

func anyFailed(states []task.SubtaskState) bool {
	return slices.ContainsFunc(states, func(st task.SubtaskState) bool { return st.Status == task.StatusFailed })
}

// inRound prefixes a round's ids, and its references, with the round.
func inRound(p task.Plan, round int) task.Plan {
	prefix := "r" + strconv.Itoa(round) + "-"
	refs := make(map[string]string, len(p.Tasks))
	for _, s := range p.Tasks {
		refs[s.ID] = "{{" + prefix + s.ID + "}}"
	}
	out := p
	out.Tasks = make([]task.Subtask, len(p.Tasks))
	for i, s := range p.Tasks {
		s.ID, s.Input = prefix+s.ID, task.Substitute(s.Input, refs)
		if len(s.Args) > 0 {
			args := make(map[string]string, len(s.Args))
			for k, v := range s.Args {
				args[k] = task.Substitute(v, refs)
			}
			s.Args = args
		}
		deps := make([]string, len(s.Deps))
		for k, d := range s.Deps {
			deps[k] = prefix + d
		}
		s.Deps = deps
		out.Tasks[i] = s
	}
	return out
}

// checkRound checks a round's plan as Run checks a plan.
func (r *Router) checkRound(p task.Plan) error {
	var known func(string) bool
	if cat := r.catalog(); cat != nil {
		known = cat.Has
	}
	if err := p.Validate(r.cfg.Limits, known); err != nil {
		return err
	}
	return p.CheckTypes(r.catalog(), nil)
}

// runRound runs a round's plan and adds its steps to the run's.
func (ru *run) runRound(ctx context.Context, round int, next task.Plan) {
	for _, st := range ru.states {
		if st.Status != task.StatusDone {
			if ru.superseded == nil {
				ru.superseded = map[string]bool{}
			}
			ru.superseded[st.ID] = true
		}
	}
	all := task.Plan{Tasks: append(slices.Clone(ru.plan.Tasks), next.Tasks...)}
	ru.emitEvent(task.Event{Type: task.EventPlanned, Subtasks: len(all.Tasks),
		Text: fmt.Sprintf("round %d: %d more subtasks", round, len(next.Tasks)), Plan: &all, Input: ru.input, Ingress: ru.req.Ingress})
	sub := &run{r: ru.r, req: ru.req, plan: next, input: ru.input, context: ru.context, started: ru.started, emit: ru.emit,
		stream: ru.stream, mem: ru.mem, round: round, attachments: ru.attachments,
		index: make(map[string]int, len(next.Tasks)), states: make([]task.SubtaskState, len(next.Tasks)), waiting: make([]int, len(next.Tasks)),
		reads: make([][]task.ArtifactRef, len(next.Tasks))}
	for i, s := range next.Tasks {
		sub.index[s.ID] = i
		sub.states[i] = task.SubtaskState{ID: s.ID, Capability: s.Capability, Deps: s.Deps, Status: task.StatusPending}
		sub.waiting[i] = len(s.Deps)
	}
	sub.schedule(ctx)
	ru.grow.Lock()
	for i, s := range next.Tasks {
		ru.index[s.ID] = len(ru.plan.Tasks) + i
	}
	ru.plan.Tasks = append(ru.plan.Tasks, next.Tasks...)
	if ru.reads != nil {
		ru.reads = append(ru.reads, sub.reads...)
	}
	ru.plan.Replan = next.Replan
	ru.grow.Unlock()
	ru.states = append(ru.states, sub.states...)
}

// answerPlan is the plan whose sinks make up the answer: the run's,
// without the steps later rounds superseded.
func (ru *run) answerPlan() task.Plan {
	if len(ru.superseded) == 0 {
		return ru.plan
	}
	p := ru.plan
	p.Tasks = slices.DeleteFunc(slices.Clone(p.Tasks), func(s task.Subtask) bool { return ru.superseded[s.ID] })
	return p
}
