package llm

import (
	"strconv"

	"github.com/taskrouter/taskrouter/task"
)

// draft turns the tasks of a streamed answer into subtasks one at a time,
// each checked as it arrives against the subtasks before it: a capability
// the catalog lacks, a reference to a step not written yet (later or
// missing, which cannot be told apart until the end), a cycle or a limit
// make the draft invalid at once, while the model is still writing.
type draft struct {
	n     normaliser
	plan  task.Plan
	cat   *task.Catalog
	lim   task.Limits
	keep  bool // the model's ids are kept, decided by its first task
	taken map[string]bool
	// typed checks the types along edges; a request with attachments is
	// left to the router, which knows the attachments' types.
	typed bool
}

func newDraft(cat *task.Catalog, lim task.Limits, typed bool) *draft {
	return &draft{n: normaliser{ids: map[string]string{}, pos: map[string]int{}}, cat: cat, lim: lim, taken: map[string]bool{}, typed: typed}
}

// add normalises and checks the next task. The error is a *task.Error
// with CodeInvalidPlan whose message can be shown to the model.
func (d *draft) add(rt rawTask) (task.Subtask, error) {
	i := len(d.plan.Tasks)
	if _, dup := d.n.ids[rt.ID]; dup {
		return task.Subtask{}, task.Errorf(task.CodeInvalidPlan, "step %d reuses the id %q of an earlier step; give every step its own id", i+1, rt.ID)
	}
	id := d.idFor(rt.ID, i)
	if d.taken[id] {
		return task.Subtask{}, task.Errorf(task.CodeInvalidPlan, "step %d has id %q, which an earlier step has; give every step its own id", i+1, id)
	}
	d.taken[id], d.n.ids[rt.ID], d.n.pos[id] = true, id, i
	s := d.n.subtask(task.Subtask{ID: id, Capability: rt.Capability}, i, rt)
	s.Args = task.NormaliseArgs(s.Capability, s.Args)
	for _, dep := range s.Deps {
		if _, earlier := d.n.pos[dep]; !earlier {
			return task.Subtask{}, task.Errorf(task.CodeInvalidPlan,
				"subtask %s uses %s, which is not a step written before it; a step may use only the outputs of earlier steps", id, dep)
		}
	}
	next := task.Plan{Tasks: append(d.plan.Tasks[:i:i], s)}
	if err := next.Validate(d.lim, d.cat.Has); err != nil {
		return task.Subtask{}, err
	}
	if d.typed {
		// The router checks the types along every edge before it runs a
		// step: a plan it would refuse goes back to the model now.
		if err := next.CheckTypes(d.cat, nil); err != nil {
			return task.Subtask{}, err
		}
	}
	d.plan = next
	return s, nil
}

// idFor is the plan id of the i-th task: the model's own id while its
// first one was a valid, non-numeric id (as Parse keeps them), else t1,
// t2, ... by position.
func (d *draft) idFor(modelID string, i int) string {
	_, numErr := strconv.Atoi(modelID)
	usable := idPattern.MatchString(modelID) && numErr != nil
	if i == 0 {
		d.keep = usable
	}
	if d.keep && usable {
		return modelID
	}
	return "t" + strconv.Itoa(i+1)
}

// warnings are the repairs made so far.
func (d *draft) warnings() []string { return d.n.warnings }
