package router_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

func TestRunDAGSubstitutesAndRunsInParallel(t *testing.T) {
	e := newEnv(t, router.Config{})
	var running, peak atomic.Int64
	gate := make(chan struct{})
	parallel := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n == 3 {
			close(gate) // all three are in at once: they run in parallel
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return task.Output{}, ctx.Err()
		}
		return task.Output{Text: w.Capability + "(" + w.Input + ")"}, nil
	})
	e.executor("x1", served("m/par", parallel, 8, "a", "b", "c"), served("m/join", echo(0, nil), 1, "join"))
	p := plan(sub("t1", "a", "x"), sub("t2", "b", "y"), sub("t3", "c", "z"),
		sub("t4", "join", "{{t1}}+{{t2}}+{{t3}}", "t1", "t2", "t3"))
	resp := e.run(context.Background(), p)
	mustDone(t, resp)
	if got, want := resp.Answer, "join(a(x)+b(y)+c(z))"; got != want {
		t.Fatalf("answer = %q, want %q", got, want)
	}
	if peak.Load() != 3 {
		t.Fatalf("peak parallelism = %d, want 3", peak.Load())
	}
	if resp.Subtasks[3].Model != "m/join" || resp.Subtasks[3].Executor != "x1" || resp.Subtasks[3].Attempts != 1 {
		t.Fatalf("t4 state = %+v", resp.Subtasks[3])
	}
}

func TestTemplateMergeSectionsPerSink(t *testing.T) {
	cat, err := task.NewCatalog(
		task.Capability{Name: "a", Description: "A", Titles: map[string]string{"en": "Alpha", "zh": "甲"}},
		task.Capability{Name: "b", Description: "B", Titles: map[string]string{"en": "Beta", "zh": "乙"}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, router.Config{Catalog: cat})
	e.executor("x1", served("m", echo(0, nil), 4, "a", "b"))
	p := plan(sub("t1", "a", "x"), sub("t2", "b", "y"))
	resp := e.router.Run(context.Background(), task.Request{Input: "请做两件事"}, p, nil)
	mustDone(t, resp)
	if want := "## 甲\n\na(x)\n\n## 乙\n\nb(y)"; resp.Answer != want || resp.Merge != "template" {
		t.Fatalf("answer = %q (merge %s), want %q", resp.Answer, resp.Merge, want)
	}
	resp = e.router.Run(context.Background(), task.Request{Input: "do two things"}, p, nil)
	if want := "## Alpha\n\na(x)\n\n## Beta\n\nb(y)"; resp.Answer != want {
		t.Fatalf("answer = %q, want %q", resp.Answer, want)
	}
	unknown := plan(sub("t1", "nope", "x"))
	if resp := e.run(context.Background(), unknown); resp.Error == nil || resp.Error.Code != task.CodeInvalidPlan {
		t.Fatalf("a capability outside the catalog was not rejected: %+v", resp.Error)
	}
}

func TestExecutorDiesMidSubtaskRetriesOnAnotherReplica(t *testing.T) {
	e := newEnv(t, router.Config{LostAfter: time.Second, Attempts: 3})
	var doomed *nats.Conn
	started := make(chan struct{})
	dying := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		close(started)
		doomed.Close() // the process dies: no reply, no keep-alive, no heartbeat
		<-ctx.Done()
		return task.Output{}, ctx.Err()
	})
	_, doomed = e.executor("dying", served("m", dying, 1, "work"))
	resp := make(chan task.Response, 1)
	go func() { resp <- e.run(context.Background(), plan(sub("t1", "work", "x"))) }()
	<-started // the first attempt reached the dying replica
	e.executor("healthy", served("m", echo(0, nil), 1, "work"))
	r := <-resp
	mustDone(t, r)
	st := r.Subtasks[0]
	if st.Executor != "healthy" || st.Attempts != 2 || r.Answer != "work(x)" {
		t.Fatalf("state = %+v, answer %q; want a second attempt on the healthy replica", st, r.Answer)
	}
}

func TestNoExecutorForCapabilityFailsAtOnceNamingIt(t *testing.T) {
	e := newEnv(t, router.Config{SubtaskTimeout: time.Hour})
	e.executor("x1", served("m", echo(0, nil), 1, "summarize"))
	resp := e.run(context.Background(), plan(sub("t1", "summarize", "x"), sub("t2", "translate", "y")))
	if resp.Error == nil || resp.Error.Code != task.CodeNoModel || resp.Error.Subtask != "t2" || !contains(resp.Error.Message, "translate") {
		t.Fatalf("error = %+v, want no_model naming translate on t2", resp.Error)
	}
	if resp.Subtasks[0].Status != task.StatusDone || resp.Answer == "" {
		t.Fatalf("the independent subtask should still finish: %+v", resp.Subtasks[0])
	}
	if resp.Subtasks[1].Attempts != 0 {
		t.Fatalf("t2 was dispatched %d times with no model to take it", resp.Subtasks[1].Attempts)
	}
}

func TestInvalidPlansAreRejectedBeforeDispatch(t *testing.T) {
	e := newEnv(t, router.Config{})
	var calls atomic.Int64
	e.executor("x1", served("m", echo(0, &calls), 4, "a"))
	big := make([]task.Subtask, 65)
	for i := range big {
		big[i] = sub(fmt.Sprintf("t%d", i+1), "a", "x")
	}
	cases := []struct {
		name    string
		plan    task.Plan
		subtask string
	}{
		{"cycle", plan(sub("t1", "a", "x", "t2"), sub("t2", "a", "y", "t1")), "t1"},
		{"missing dep", plan(sub("t1", "a", "x", "t9")), "t1"},
		{"dangling reference", plan(sub("t1", "a", "x"), sub("t2", "a", "{{t1}} and {{t3}}", "t1")), "t2"},
		{"too large", plan(big...), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := e.run(context.Background(), c.plan)
			if resp.Error == nil || resp.Error.Code != task.CodeInvalidPlan || resp.Error.Subtask != c.subtask {
				t.Fatalf("error = %+v, want invalid_plan on %q", resp.Error, c.subtask)
			}
		})
	}
	if calls.Load() != 0 {
		t.Fatalf("%d subtasks of invalid plans were dispatched", calls.Load())
	}
}

func TestCancelledRequestStopsExecutors(t *testing.T) {
	e := newEnv(t, router.Config{})
	started := make(chan struct{}, 2)
	stopped := make(chan error, 2)
	blocking := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		started <- struct{}{}
		<-ctx.Done()
		stopped <- ctx.Err()
		return task.Output{}, ctx.Err()
	})
	e.executor("x1", served("m", blocking, 4, "slow"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan task.Response, 1)
	go func() { done <- e.run(ctx, plan(sub("t1", "slow", "x"), sub("t2", "slow", "y"))) }()
	<-started
	<-started
	cancel()
	for i := 0; i < 2; i++ {
		select {
		case err := <-stopped:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("executor saw %v, want a cancellation", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the executor kept working on a cancelled request")
		}
	}
	resp := <-done
	if resp.Error == nil || resp.Error.Code != task.CodeCancelled || resp.Subtasks[0].Status != task.StatusCancelled {
		t.Fatalf("response error = %+v, subtask %+v", resp.Error, resp.Subtasks[0])
	}
}

func TestRetryableErrorFallsBackToNextModel(t *testing.T) {
	e := newEnv(t, router.Config{})
	failing := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		return task.Output{}, task.Errorf(task.CodeUpstream, "upstream said 503")
	})
	spec := func(name string, q float64) task.ModelSpec {
		return task.ModelSpec{Name: name, Backend: task.BackendLocal, Capabilities: []string{"x"}, Concurrency: 2,
			Quality: map[string]float64{"x": q}}
	}
	e.executor("a", executors.Served{Spec: spec("best", 0.9), Model: failing})
	e.executor("b", executors.Served{Spec: spec("backup", 0.2), Model: echo(0, nil)})
	resp := e.run(context.Background(), plan(sub("t1", "x", "in")))
	mustDone(t, resp)
	if st := resp.Subtasks[0]; st.Model != "backup" || st.Attempts != 2 {
		t.Fatalf("state = %+v, want the second attempt on the fallback model", st)
	}
}

func TestNonRetryableErrorFailsWithoutRetry(t *testing.T) {
	e := newEnv(t, router.Config{})
	var calls atomic.Int64
	bad := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		calls.Add(1)
		return task.Output{}, task.Errorf(task.CodeBadInput, "no arithmetic found in %q", w.Input)
	})
	e.executor("a", served("m", bad, 1, "calc"))
	resp := e.run(context.Background(), plan(sub("t1", "calc", "hello")))
	if resp.Error == nil || resp.Error.Code != task.CodeBadInput || calls.Load() != 1 {
		t.Fatalf("error = %+v after %d calls, want bad_input after one", resp.Error, calls.Load())
	}
}

func TestProgressEventsOnNATS(t *testing.T) {
	e := newEnv(t, router.Config{})
	streaming := funcModel(func(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
		progress("hel")
		progress("lo")
		return task.Output{Text: "hello"}, nil
	})
	e.executor("x1", served("m", streaming, 1, "chat"))
	nc, err := e.bus.Connect("watcher")
	if err != nil {
		t.Fatal(err)
	}
	id := task.NewID("req_")
	sub, err := nc.SubscribeSync(task.EventsSubject(id))
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	resp := e.router.Run(context.Background(), task.Request{ID: id, Input: "hi", Events: true}, plan(sub0("t1", "chat", "hi")), nil)
	mustDone(t, resp)
	var types []task.EventType
	text := ""
	for {
		m, err := sub.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatalf("after %v: %v", types, err)
		}
		var ev task.Event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type)
		text += ev.Text
		if ev.Type == task.EventMerged {
			break
		}
	}
	want := []task.EventType{task.EventPlanned, task.EventDispatched, task.EventAccepted, task.EventProgress,
		task.EventProgress, task.EventDone, task.EventMerged}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Fatalf("events = %v, want %v", types, want)
	}
}

func sub0(id, c, in string) task.Subtask { return sub(id, c, in) }

func TestConcurrentRequestsAllComplete(t *testing.T) {
	e := newEnv(t, router.Config{AcceptTimeout: 10 * time.Second})
	e.heartbeat = 10 * time.Second // a loaded machine must not expire live replicas
	for i := 0; i < 4; i++ {
		e.executor(fmt.Sprintf("x%d", i), served("m", echo(time.Millisecond, nil), 64, "a", "b"))
	}
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			in := fmt.Sprint(i)
			resp := e.run(context.Background(), plan(sub("t1", "a", in), sub("t2", "b", "{{t1}}", "t1")))
			if resp.Error != nil || resp.Answer != "b(a("+in+"))" {
				errs <- fmt.Sprintf("request %d: answer %q, error %v", i, resp.Answer, resp.Error)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

func TestModelWrittenMergeWhenAMergeModelIsLive(t *testing.T) {
	e := newEnv(t, router.Config{})
	e.executor("x1", served("m", echo(0, nil), 4, "a", "b"))
	var prompt atomic.Value
	writer := funcModel(func(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
		prompt.Store(w.Input)
		progress("Both ")
		progress("done.")
		return task.Output{Text: "Both done.", Usage: task.Usage{PromptTokens: 10, CompletionTokens: 2}}, nil
	})
	e.executor("x2", served("writer", writer, 1, "merge"))
	var deltas []string
	resp := e.router.Run(context.Background(), task.Request{Input: "do a and b"}, plan(sub("t1", "a", "x"), sub("t2", "b", "y")),
		func(ev task.Event) {
			if ev.Type == task.EventProgress && ev.SubtaskID == router.MergeSubtaskID {
				deltas = append(deltas, ev.Text)
			}
		})
	mustDone(t, resp)
	if resp.Answer != "Both done." || resp.Merge != "model" || resp.MergeModel != "writer" {
		t.Fatalf("answer %q merge %q by %q", resp.Answer, resp.Merge, resp.MergeModel)
	}
	if p := prompt.Load().(string); !contains(p, "do a and b") || !contains(p, "a(x)") || !contains(p, "b(y)") {
		t.Fatalf("the merge prompt lacks the request or a result: %q", p)
	}
	if fmt.Sprint(deltas) != "[Both  done.]" || resp.Usage.PromptTokens != 10 {
		t.Fatalf("deltas %q usage %+v", deltas, resp.Usage)
	}
}

func TestFailedModelMergeFallsBackToTemplate(t *testing.T) {
	e := newEnv(t, router.Config{Attempts: 1})
	e.executor("x1", served("m", echo(0, nil), 4, "a", "b"))
	broken := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		return task.Output{}, task.Errorf(task.CodeAuth, "key refused")
	})
	e.executor("x2", served("writer", broken, 1, "chat"))
	resp := e.run(context.Background(), plan(sub("t1", "a", "x"), sub("t2", "b", "y")))
	mustDone(t, resp)
	if resp.Merge != "template" || !contains(resp.Answer, "a(x)") || !contains(resp.Answer, "b(y)") {
		t.Fatalf("merge %q answer %q", resp.Merge, resp.Answer)
	}
}

func TestContextLengthFallsBackToALargerWindow(t *testing.T) {
	e := newEnv(t, router.Config{Attempts: 3})
	tooLong := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		return task.Output{}, task.Errorf(task.CodeContextLength, "maximum context length is 100 tokens")
	})
	spec := func(name string, window int, q float64) task.ModelSpec {
		return task.ModelSpec{Name: name, Backend: task.BackendOpenAI, Capabilities: []string{"x"}, Concurrency: 2,
			ContextWindow: window, Quality: map[string]float64{"x": q}}
	}
	e.executor("a", executors.Served{Spec: spec("small", 1000, 0.9), Model: tooLong})
	e.executor("b", executors.Served{Spec: spec("smaller", 500, 0.8), Model: tooLong})
	e.executor("c", executors.Served{Spec: spec("large", 100000, 0.1), Model: echo(0, nil)})
	resp := e.run(context.Background(), plan(sub("t1", "x", "in")))
	mustDone(t, resp)
	if st := resp.Subtasks[0]; st.Model != "large" || st.Attempts != 2 {
		t.Fatalf("state = %+v, want the second attempt on the larger window", st)
	}
}

// A caller whose event callback blocks for longer than LostAfter (the HTTP
// API writes streamed text to its client from the callback) must not get a
// live executor declared lost: the silence timer runs only while the
// router waits.
func TestSlowEventConsumerIsNotMistakenForALostExecutor(t *testing.T) {
	e := newEnv(t, router.Config{LostAfter: 100 * time.Millisecond})
	streaming := funcModel(func(ctx context.Context, w task.Work, progress func(string)) (task.Output, error) {
		for _, d := range []string{"a", "b", "c", "d"} {
			progress(d)
			time.Sleep(20 * time.Millisecond)
		}
		return task.Output{Text: "abcd"}, nil
	})
	e.executor("x1", served("m", streaming, 1, "chat"))
	for range 2 {
		var text strings.Builder
		resp := e.router.Run(context.Background(), task.Request{Input: "hi"}, plan(sub0("t1", "chat", "hi")), func(ev task.Event) {
			if ev.Type == task.EventProgress && ev.Text != "" {
				text.WriteString(ev.Text)
				time.Sleep(250 * time.Millisecond) // > LostAfter
			}
		})
		mustDone(t, resp)
		if resp.Subtasks[0].Attempts != 1 || text.String() != "abcd" {
			t.Fatalf("attempts %d, streamed %q; want 1 attempt streaming abcd", resp.Subtasks[0].Attempts, text.String())
		}
	}
}

// The caller's sampling goes to the step that writes the answer (the one
// subtask of a one-step plan, or the model-written merge) and to no step in
// between, whose output the answer is made from.
func TestSamplingGoesToTheStepThatWritesTheAnswer(t *testing.T) {
	e := newEnv(t, router.Config{})
	var mu sync.Mutex
	got := map[string]*task.Sampling{}
	recorder := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		mu.Lock()
		got[w.SubtaskID] = w.Sampling
		mu.Unlock()
		return task.Output{Text: w.Capability + "(" + w.Input + ")"}, nil
	})
	e.executor("x1", served("m", recorder, 4, "a", "b", "merge"))
	temp := 0.0
	s := &task.Sampling{Temperature: &temp, MaxTokens: 50}
	mustDone(t, e.router.Run(context.Background(), task.Request{Input: "do a", Sampling: s}, plan(sub("t1", "a", "x")), nil))
	mustDone(t, e.router.Run(context.Background(), task.Request{Input: "do a and b", Sampling: s},
		plan(sub("t2", "a", "x"), sub("t3", "b", "y")), nil))
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(got["t1"], s) || !reflect.DeepEqual(got[router.MergeSubtaskID], s) || got["t2"] != nil || got["t3"] != nil {
		t.Fatalf("sampling by step: %v", got)
	}
}

// Function calling: a request that names its model and offers tools gets
// them to that model with the conversation after the input (the earlier
// tool calls and their results), and the model's tool calls and finish
// reason come back in the Response. Tools without a model are refused.
func TestToolsReachTheNamedModelAndToolCallsComeBack(t *testing.T) {
	e := newEnv(t, router.Config{})
	var got task.Work
	var mu sync.Mutex
	caller := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		mu.Lock()
		got = w
		mu.Unlock()
		return task.Output{ToolCalls: json.RawMessage(`[{"id":"call_2","type":"function","function":{"name":"f","arguments":"{}"}}]`),
			FinishReason: "tool_calls"}, nil
	})
	e.executor("x1", served("m", caller, 1, "chat"))
	tools := &task.Tools{Functions: json.RawMessage(`[{"type":"function","function":{"name":"f"}}]`), Choice: json.RawMessage(`"required"`)}
	msgs := []task.Message{{Role: "user", Content: "call f"},
		{Role: "assistant", ToolCalls: json.RawMessage(`[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]`)},
		{Role: "tool", ToolCallID: "call_1", Content: "42"}}
	one := plan(sub("t1", "chat", "call f"))
	resp := e.router.Handle(context.Background(), task.Request{Messages: msgs, Tools: tools, Hints: task.Hints{Model: "m"}, Plan: &one}, nil)
	mustDone(t, resp)
	if resp.FinishReason != "tool_calls" || !contains(string(resp.ToolCalls), "call_2") {
		t.Fatalf("response tool calls %s, finish %q", resp.ToolCalls, resp.FinishReason)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Tools == nil || string(got.Tools.Choice) != `"required"` || got.Input != "call f" || len(got.After) != 2 || got.After[1].ToolCallID != "call_1" {
		t.Fatalf("the model got tools %+v, input %q, after %+v", got.Tools, got.Input, got.After)
	}
	resp = e.router.Handle(context.Background(), task.Request{Input: "call f", Tools: tools}, nil)
	if resp.Error == nil || resp.Error.Code != task.CodeInvalidRequest || !contains(resp.Error.Message, "tools need a model") {
		t.Fatalf("tools without a model: %+v", resp.Error)
	}
}

// A plan that spells translate's target as HuggingGPT does reaches the
// model under the name models read.
func TestGivenPlanArgsReachTheModelNormalised(t *testing.T) {
	e := newEnv(t, router.Config{})
	args := make(chan map[string]string, 1)
	recorder := funcModel(func(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
		args <- w.Args
		return task.Output{Text: "Bonjour"}, nil
	})
	e.executor("x1", served("m", recorder, 4, "translate"))
	st := sub("t1", "translate", "Hello")
	st.Args = map[string]string{"target_language": "French"}
	resp := e.run(context.Background(), plan(st))
	mustDone(t, resp)
	if got := <-args; got["target_lang"] != "French" || len(got) != 1 {
		t.Fatalf("the model got args %v, want target_lang=French", got)
	}
	if resp.Plan.Tasks[0].Args["target_lang"] != "French" {
		t.Errorf("the response's plan shows args %v", resp.Plan.Tasks[0].Args)
	}
}
