package rules

import "slices"

// imply adds a step for every result a step names that no step makes yet:
// "Translate the summary of this article" gets a summarize step first,
// which works on the payload the translation would have taken, and the
// translation takes its result.
func (p *Planner) imply(r *request, steps []step) []step {
	for i := 0; i < len(steps); i++ {
		for k := 0; k < len(steps[i].refs); k++ {
			rf := steps[i].refs[k]
			if rf.kind != refImplied || rf.capability < 0 {
				continue
			}
			added := step{
				fragment:   fragment{start: steps[i].start, end: steps[i].start, seq: steps[i].seq, hard: steps[i].hard},
				capability: rf.capability,
				payload:    p.payloadFor(r, steps, i),
			}
			steps = slices.Insert(steps, i, added)
			shiftRefs(steps, i)
			i++
			steps[i].refs[k].kind, steps[i].refs[k].step = refStep, i-1
		}
	}
	return steps
}

// shiftRefs renumbers the step references after a step was inserted at i.
func shiftRefs(steps []step, i int) {
	for j := i + 1; j < len(steps); j++ {
		for k := range steps[j].refs {
			if rf := &steps[j].refs[k]; rf.kind == refStep && rf.step >= i {
				rf.step++
			}
		}
	}
}
