package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry/otlptest"
)

// One request, one trace, across processes: a `serve` and an `executor`
// export to an OTLP receiver in the test, and the trace of a request sent
// over HTTP with a traceparent holds the HTTP span (child of the caller's
// span), the router's attempt span, the executor's work span and its
// upstream call with the GenAI attributes, each the child of the one
// before; a request on tr.v1.req with a traceparent header gets a trace
// of its own the same way.
func TestDistributedOneTraceSpansRouterAndExecutor(t *testing.T) {
	c := newCluster(t, redisDB(t))
	rcv, err := otlptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Close() })
	up := openaitest.New(openaitest.WithAPIKey(upstreamKey))
	t.Cleanup(up.Close)
	up.Script(chatModel, openaitest.Behaviour{Reply: upstreamReplyOK})
	otel := []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=" + rcv.URL, "OTEL_TRACES_SAMPLER=parentbased_always_on"}
	router := startProcEnv(t, "router", otel, c.bin, "serve", "--config", c.writeConfig("router",
		fmt.Sprintf("nats:\n  url: %s\nredis:\n  url: %s\nhttp:\n  addr: 127.0.0.1:0\nexecutors: []\n", c.natsURL, c.redisURL)))
	router.waitOutput(t, "taskrouter serving", 30*time.Second)
	base := regexp.MustCompile(`HTTP API (http://\S+)/v1`).FindStringSubmatch(router.out.String())
	if base == nil {
		t.Fatalf("serve named no HTTP address:\n%s", router.out.String())
	}
	exCfg := fmt.Sprintf("models:\n  - name: %s\n    backend: openai\n    base_url: %s\n    api_key_env: %s\n    capabilities: [chat]\n",
		chatModel, up.URL(), upstreamKeyEnv)
	executor := startProcEnv(t, "executor", append(otel, upstreamKeyEnv+"="+upstreamKey), c.bin, "executor",
		"--config", c.writeConfig("executor", exCfg), "--nats", c.natsURL, "--redis", c.redisURL, "--models", chatModel)
	executor.waitOutput(t, "taskrouter executor serving", 30*time.Second)
	c.waitReplicas(map[string]int{chatModel: 1}, 10*time.Second)

	const httpParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	body := `{"model":"` + chatModel + `","messages":[{"role":"user","content":"` + chatInput + `"}]}`
	waitFor(t, 10*time.Second, "the router to route to the executor", func() bool {
		code, _ := call(t, "POST", base[1]+"/v1/chat/completions", "", body, http.Header{"Traceparent": {httpParent}})
		return code == 200
	})
	const natsParent = "00-1bf7651916cd43dd8448eb211c80319d-c7ad6b7169203332-01"
	data, _ := json.Marshal(task.Request{Input: chatInput, Hints: task.Hints{Model: chatModel}})
	msg := &nats.Msg{Subject: task.SubjectRequest, Data: data, Header: nats.Header{"traceparent": {natsParent}}}
	if _, err := c.nc.RequestMsg(msg, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// Both processes flush their spans when they stop.
	executor.signal(t, syscall.SIGTERM)
	router.signal(t, syscall.SIGTERM)
	executor.exitCode(t, 30*time.Second)
	router.exitCode(t, 30*time.Second)

	spans := rcv.Spans()
	checkChain(t, spans, "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "POST /v1/chat/completions")
	checkChain(t, spans, "1bf7651916cd43dd8448eb211c80319d", "c7ad6b7169203332", "process tr.v1.req")
}

// checkChain finds, in the trace, the chain caller -> ingress span ->
// subtask span (router) -> work span -> upstream call (executor).
func checkChain(t *testing.T, spans []otlptest.Span, traceID, callerSpan, ingress string) {
	t.Helper()
	var inTrace []otlptest.Span
	for _, s := range spans {
		if s.TraceID == traceID {
			inTrace = append(inTrace, s)
		}
	}
	child := func(parent, name, service string) otlptest.Span {
		t.Helper()
		for _, s := range inTrace {
			if s.ParentSpanID == parent && strings.HasPrefix(s.Name, name) && s.Service == service {
				return s
			}
		}
		t.Fatalf("trace %s: no %q span of %s under span %s; the trace has:\n%s", traceID, name, service, parent, describeSpans(inTrace))
		return otlptest.Span{}
	}
	in := child(callerSpan, ingress, "taskrouter")
	attempt := child(in.SpanID, "subtask chat", "taskrouter")
	work := child(attempt.SpanID, "work chat", "taskrouter-executor")
	upstream := child(work.SpanID, "chat "+chatModel, "taskrouter-executor")
	if attempt.Attributes["taskrouter.model"] != chatModel || attempt.Attributes["taskrouter.attempt"] != "1" {
		t.Errorf("attempt span attributes %v", attempt.Attributes)
	}
	for k, want := range map[string]string{"gen_ai.operation.name": "chat", "gen_ai.request.model": chatModel} {
		if upstream.Attributes[k] != want {
			t.Errorf("upstream span %s = %q, want %q", k, upstream.Attributes[k], want)
		}
	}
	for _, k := range []string{"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"} {
		if v := upstream.Attributes[k]; v == "" || v == "0" {
			t.Errorf("upstream span %s = %q", k, v)
		}
	}
}

func describeSpans(spans []otlptest.Span) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "  %s %q span %s parent %s\n", s.Service, s.Name, s.SpanID, s.ParentSpanID)
	}
	return b.String()
}
