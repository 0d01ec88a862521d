package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// Example is a worked example shown to the model: a request and its plan.
type Example struct {
	Request string
	Plan    task.Plan
}

// maxEchoBytes bounds how much of a rejected answer a retry shows.
const maxEchoBytes = 2000

// prompt is the model's instruction for planning text; ask is what it
// is asked, after the instructions ("Request: ...").
func (p *Planner) prompt(ask string) string {
	return p.instructions() + "\n" + ask + "\nPlan:"
}

// instructions describe the catalog, the plan form and the examples.
func (p *Planner) instructions() string {
	var b strings.Builder
	tools := false
	b.WriteString("You are the planner of a task router. Split the user's request into subtasks; " +
		"each subtask is done by one capability from this catalog.\n\nCapabilities (name: description [inputs -> outputs]):\n")
	for _, c := range p.cat.Plannable() {
		if c.Name == Capability {
			continue
		}
		fmt.Fprintf(&b, "- %s: %s [%s -> %s]\n", c.Name, oneLine(c.Description),
			strings.Join(c.Inputs, ","), strings.Join(c.Outputs, ","))
		if schema := compactSchema(c.InputSchema); schema != "" {
			tools = true
			fmt.Fprintf(&b, "  args schema: %s\n", schema)
		}
	}
	fmt.Fprintf(&b, `
Reply with one JSON object and nothing else:
{"tasks": [{"id": "t1", "capability": "<a name from the catalog>", "input": "<the text this subtask works on>", "args": {"<name>": "<value>"}, "deps": ["<ids of earlier subtasks whose output it uses>"]}]}
Rules:
- Use only capability names from the catalog.
- A subtask uses an earlier subtask's output by writing {{id}} in its input or args and listing that id in deps.
- Subtasks without deps run in parallel. Ids are t1, t2, ... in order.
- Copy the text to work on into input; do not do the work yourself.
- A request that is one task gets one subtask. Use at most %d subtasks.
- When what to do next depends on results you cannot foresee, add "replan": true beside "tasks": you will be asked again with the results.
`, p.maxSubtasks())
	if tools {
		b.WriteString("- A capability with an args schema is a tool: write its arguments in args, named and typed as the schema says, " +
			"every value as a string (numbers as digits, arrays and objects as JSON); fill every required one.\n")
	}
	for _, ex := range p.examples {
		js, _ := json.Marshal(ex.Plan)
		fmt.Fprintf(&b, "\nRequest: %s\nPlan: %s\n", ex.Request, js)
	}
	return b.String()
}

// retryPrompt asks again, showing the model its rejected answer and why.
func (p *Planner) retryPrompt(ask, answer string, reason error) string {
	if len(answer) > maxEchoBytes {
		answer = answer[:maxEchoBytes] + "..."
	}
	return fmt.Sprintf("%s\nYour previous answer was:\n%s\nIt was rejected: %v\nReply with a corrected plan JSON object only.\n\n%s\nPlan:",
		p.instructions(), answer, reason, ask)
}

func (p *Planner) maxSubtasks() int {
	if p.limits.MaxSubtasks > 0 {
		return min(p.limits.MaxSubtasks, 16)
	}
	return 16
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// cannedExamples are the default worked examples; New keeps those whose
// capabilities are all in the catalog.
var cannedExamples = []Example{
	{Request: "Summarize this report and translate the summary into French: Revenue grew 12% in Q3 while costs fell.",
		Plan: task.Plan{Tasks: []task.Subtask{
			{ID: "t1", Capability: "summarize", Input: "Revenue grew 12% in Q3 while costs fell.", Deps: []string{}},
			{ID: "t2", Capability: "translate", Input: "{{t1}}", Args: map[string]string{"target_lang": "fr"}, Deps: []string{"t1"}},
		}}},
	{Request: "What is the sentiment of this review, and what are its keywords? The battery lasts for days and the screen is sharp.",
		Plan: task.Plan{Tasks: []task.Subtask{
			{ID: "t1", Capability: "sentiment", Input: "The battery lasts for days and the screen is sharp.", Deps: []string{}},
			{ID: "t2", Capability: "keywords", Input: "The battery lasts for days and the screen is sharp.", Deps: []string{}},
		}}},
	{Request: "Write a Go function that reports whether a number is prime.",
		Plan: task.Plan{Tasks: []task.Subtask{
			{ID: "t1", Capability: "code", Input: "Write a Go function that reports whether a number is prime.", Deps: []string{}},
		}}},
}

// defaultExamples returns the canned examples the catalog can run, or,
// when none fits, a one-subtask example of the catalog's first capability
// that has example phrasings.
func defaultExamples(cat *task.Catalog) []Example {
	var out []Example
	for _, ex := range cannedExamples {
		if ex.Plan.Validate(task.Limits{}, cat.Has) == nil {
			out = append(out, ex)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, c := range cat.All() {
		if c.Name != Capability && len(c.Examples) > 0 {
			return []Example{{Request: c.Examples[0], Plan: task.Plan{Tasks: []task.Subtask{
				{ID: "t1", Capability: c.Name, Input: c.Examples[0], Deps: []string{}}}}}}
		}
	}
	return []Example{}
}

// maxPromptSchema bounds a tool's schema in the prompt; a larger one is
// left out, and the model writes the arguments from the description.
const maxPromptSchema = 4 << 10

// compactSchema is a tool's input schema on one line, or "" when it has
// none or it is too large for the prompt.
func compactSchema(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil || buf.Len() > maxPromptSchema {
		return ""
	}
	return buf.String()
}
