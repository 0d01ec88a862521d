// Package conformance is the suite every model backend passes, local and
// remote: a plain answer, streaming, cancellation, deadlines and the error
// classes. A backend's test calls Run with a Backend that builds the model
// under test for each Script.
package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Case is the situation a Script asks the backend to be in.
type Case int

// The cases of the suite. CaseAnswer is required of every backend; the
// others need Backend.Scripted, since only a scripted backend (a remote
// adapter against a test server) can be made slow or made to fail.
const (
	CaseAnswer        Case = iota // answer Script.Answer
	CaseSlow                      // answer only after Script.Delay
	CaseRateLimited               // upstream 429, with Retry-After of Script.RetryAfter
	CaseServerError               // upstream 500
	CaseUnauthorized              // upstream 401
	CaseBadRequest                // upstream 400
	CaseContextLength             // upstream says the input exceeds the context window
)

// Script says how the model under test must behave for one test.
type Script struct {
	Case Case
	// Answer is the text a scripted model answers with.
	Answer string
	// Delay is how long a CaseSlow model waits before answering.
	Delay time.Duration
	// RetryAfter is the wait a CaseRateLimited upstream asks for.
	RetryAfter time.Duration
}

// Model is the backend interface under test; executors.Model, every
// localmodel model and the remote adapters satisfy it.
type Model interface {
	Generate(ctx context.Context, w task.Work, progress func(delta string)) (task.Output, error)
}

// Subject is a model built for one Script and the work to send it.
type Subject struct {
	Model Model
	Work  task.Work
	// Want is the answer expected for CaseAnswer; empty accepts any
	// non-empty answer (an unscripted local model).
	Want string
}

// Backend describes the backend under test.
type Backend struct {
	// New builds a model that behaves as s says. Unscripted backends are
	// only asked for CaseAnswer.
	New func(t *testing.T, s Script) Subject
	// Scripted says New honours every Case. When false, the suite skips
	// the error classes, and tests cancellation and deadlines with a
	// context that is already done instead of one that ends mid-call.
	Scripted bool
	// Streams says the model calls progress with deltas that concatenate
	// to the answer. When false, the suite only checks that whatever
	// progress it reports is a prefix of the answer.
	Streams bool
}

// Prompt is the bound within which a model must return once its context
// is done.
const Prompt = 2 * time.Second

// Run runs the suite.
func Run(t *testing.T, b Backend) {
	t.Run("answer", func(t *testing.T) { testAnswer(t, b) })
	t.Run("cancellation", func(t *testing.T) { testStopped(t, b, task.CodeCancelled) })
	t.Run("deadline", func(t *testing.T) { testStopped(t, b, task.CodeTimeout) })
	t.Run("errors", func(t *testing.T) {
		if !b.Scripted {
			t.Skip("the backend cannot be scripted to fail; error classes are checked on remote backends")
		}
		testErrors(t, b)
	})
}

func testAnswer(t *testing.T, b Backend) {
	s := b.New(t, Script{Case: CaseAnswer, Answer: "The quick brown fox jumps over the lazy dog."})
	var deltas strings.Builder
	out, err := s.Model.Generate(context.Background(), s.Work, func(d string) { deltas.WriteString(d) })
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if strings.TrimSpace(out.Text) == "" {
		t.Fatal("the answer is empty")
	}
	if s.Want != "" && out.Text != s.Want {
		t.Errorf("answer = %q, want %q", out.Text, s.Want)
	}
	got := deltas.String()
	switch {
	case b.Streams && got != out.Text:
		t.Errorf("progress deltas concatenate to %q, want the answer %q", got, out.Text)
	case !strings.HasPrefix(out.Text, got):
		t.Errorf("progress %q is not a prefix of the answer %q", got, out.Text)
	}
}
