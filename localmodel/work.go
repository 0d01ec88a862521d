package localmodel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// inputOf returns the work's input, or a CodeBadInput error that tells the
// caller what to send when the input is blank.
func inputOf(w task.Work, what string) (string, error) {
	if strings.TrimSpace(w.Input) == "" {
		return "", task.Errorf(task.CodeBadInput, "the input is empty: send %s", what)
	}
	return w.Input, nil
}

// prepare is the start of every Generate: it returns the input, or an
// error when the input is blank (telling the caller to send what) or ctx is
// done (wrapped with doing).
func prepare(ctx context.Context, w task.Work, what, doing string) (string, error) {
	input, err := inputOf(w, what)
	if err != nil {
		return "", err
	}
	return input, stopped(ctx, doing)
}

// stopped wraps ctx.Err so that task.AsError classifies it as cancelled or
// timed out; it returns nil while ctx is live.
func stopped(ctx context.Context, doing string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return nil
}

// usageOf is the usage of a local model: estimated tokens, no cost.
func usageOf(input, output string) task.Usage {
	return task.Usage{PromptTokens: task.EstimateTokens(input), CompletionTokens: task.EstimateTokens(output)}
}

// textOutput is a plain-text answer.
func textOutput(input, text string) task.Output {
	return task.Output{Text: text, Format: "text", Usage: usageOf(input, text)}
}

// jsonOutput is a JSON answer; Text holds the document.
func jsonOutput(input string, v any) (task.Output, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return task.Output{}, task.Errorf(task.CodeInternal, "encoding the answer: %v", err)
	}
	text := strings.TrimSuffix(buf.String(), "\n")
	return task.Output{Text: text, Format: "json", Usage: usageOf(input, text)}, nil
}

// intArg reads a positive integer argument within [1, limit], or def when
// the argument is absent.
func intArg(args map[string]string, name string, def, limit int) (int, error) {
	s, ok := args[name]
	if !ok || strings.TrimSpace(s) == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > limit {
		return 0, task.Errorf(task.CodeBadInput, "argument %q is %q: send a whole number from 1 to %d", name, s, limit)
	}
	return n, nil
}

// ratioArg reads a fraction argument in (0, 1], or 0 when it is absent.
func ratioArg(args map[string]string, name string) (float64, error) {
	s, ok := args[name]
	if !ok || strings.TrimSpace(s) == "" {
		return 0, nil
	}
	s = strings.TrimSpace(s)
	scale := 1.0
	if rest, pct := strings.CutSuffix(s, "%"); pct {
		s, scale = rest, 100
	}
	r, err := strconv.ParseFloat(s, 64)
	r /= scale
	if err != nil || !(r > 0 && r <= 1) {
		return 0, task.Errorf(task.CodeBadInput, "argument %q is %q: send a fraction such as 0.3 or 30%%", name, args[name])
	}
	return r, nil
}
