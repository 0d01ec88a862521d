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
// trailing commas tolerated; an answer without plan JSON may instead hold
// LLMCompiler's numbered calls (1. search("x") ... join()). It normalises
// ids, references and the spellings of arguments (task.NormaliseArgs),
// repairs what is safe (implied dependencies added;
// self and forward references dropped, each with a warning) and validates
// the plan against the limits and the catalog. The error is a *task.Error
// with CodeInvalidPlan whose message can be shown to the model.
func Parse(answer string, cat *task.Catalog, lim task.Limits) (task.Plan, []string, error) {
	if len(answer) > maxAnswerBytes {
		return task.Plan{}, nil, task.Errorf(task.CodeInvalidPlan, "the answer is %d bytes; a plan is a short JSON object", len(answer))
	}
	raws, replan, err := readTasks(answer)
	if err != nil {
		return task.Plan{}, nil, err
	}
	plan, warnings := normalise(raws)
	plan = plan.Normalised()
	plan.Replan = replan
	if err := plan.Validate(lim, cat.Has); err != nil {
		return task.Plan{}, warnings, fmt.Errorf("validating the model's plan: %w", err)
	}
	return plan, warnings, nil
}

// readTasks reads the tasks of the plan JSON in the answer or, when there
// is none, of LLMCompiler's numbered calls, and whether the plan declares
// that it may need another round.
func readTasks(answer string) ([]rawTask, bool, error) {
	js, tooDeep := extract(answer)
	if js != "" {
		v := gjson.Parse(js)
		return rawTasks(v), v.Get("replan").Bool(), nil
	}
	raws, replan, err := compilerTasks(answer)
	switch {
	case err == nil && len(raws) == 0 && tooDeep != nil:
		err = tooDeep
	case err == nil && len(raws) == 0:
		err = task.Errorf(task.CodeInvalidPlan,
			`the answer holds no plan JSON; reply with one object {"tasks": [...]} and nothing else`)
	}
	return raws, replan, err
}
