package llm

import (
	"context"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// maxResultEcho bounds each result the replanning prompt shows.
const maxResultEcho = 1500

// Replan asks the model for the next round of a request, as LLMCompiler's
// joiner does after a plan ran: results are the states of the subtasks
// that ran, in plan order. The model sees every result (done, or why it
// failed) and writes the steps that remain, or an empty task list when
// the results answer the request, which Replan returns as a plan with no
// subtasks. A plan it returns has validated, and stands alone: its steps
// carry what they need of the results in their inputs. Errors are Plan's.
func (p *Planner) Replan(ctx context.Context, req task.Request, results []task.SubtaskState) (task.Plan, error) {
	text, _ := req.Text()
	plan, _, err := p.rounds(ctx, req, replanAsk(text, results), nil, true)
	if err != nil {
		return task.Plan{}, fmt.Errorf("replanning: %w", err)
	}
	return plan, nil
}

// replanAsk is the request and the results so far, and what is asked.
func replanAsk(text string, results []task.SubtaskState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Request: %s\n\nA plan for it ran. Its steps and their results:\n", text)
	for _, st := range results {
		fmt.Fprintf(&b, "- %s (%s): ", st.ID, st.Capability)
		switch {
		case st.Status == task.StatusDone:
			out, cut := task.ClipText(strings.TrimSpace(st.Output), maxResultEcho)
			b.WriteString("done: " + out)
			if cut {
				b.WriteString(" ...")
			}
		case st.Error != nil:
			fmt.Fprintf(&b, "%s: %s", st.Status, oneLine(st.Error.Message))
		default:
			b.WriteString(string(st.Status))
		}
		b.WriteByte('\n')
	}
	b.WriteString("\nWrite a plan of the steps that remain to answer the request: redo what failed another way, " +
		"or do what the results showed is needed. The steps above cannot be referred to with {{id}}: " +
		`copy what a step needs from their results into its input. If the results already answer the request, reply {"tasks": []}.`)
	return b.String()
}

// emptyPlan reports whether an answer is a plan with an empty task list:
// the model says nothing remains to be done.
func emptyPlan(answer string) bool {
	for _, c := range candidates(answer) {
		c = stripTrailingCommas(c)
		if task.CheckJSONDepth([]byte(c), task.MaxJSONDepth) != nil || !gjson.Valid(c) {
			continue
		}
		if list := taskList(gjson.Parse(c)); list.IsArray() && len(list.Array()) == 0 {
			return true
		}
	}
	return false
}
