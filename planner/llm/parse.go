package llm

import (
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// maxAnswerBytes bounds the answer Parse reads; a plan is far smaller.
const maxAnswerBytes = 1 << 20

// Parse reads a plan from a model's answer, in the project's form or in
// HuggingGPT's or LLMCompiler's, amid prose or in a code fence, with
// trailing commas tolerated. It normalises ids and references, repairs
// what is safe (implied dependencies added; self and forward references
// dropped, each with a warning) and validates the plan against the limits
// and the catalog. The error is a *task.Error with CodeInvalidPlan whose
// message can be shown to the model.
func Parse(answer string, cat *task.Catalog, lim task.Limits) (task.Plan, []string, error) {
	if len(answer) > maxAnswerBytes {
		return task.Plan{}, nil, task.Errorf(task.CodeInvalidPlan, "the answer is %d bytes; a plan is a short JSON object", len(answer))
	}
	js := extract(answer)
	if js == "" {
		return task.Plan{}, nil, task.Errorf(task.CodeInvalidPlan,
			`the answer holds no plan JSON; reply with one object {"tasks": [...]} and nothing else`)
	}
	plan, warnings := normalise(rawTasks(gjson.Parse(js)))
	if err := plan.Validate(lim, cat.Has); err != nil {
		return task.Plan{}, warnings, fmt.Errorf("validating the model's plan: %w", err)
	}
	return plan, warnings, nil
}
