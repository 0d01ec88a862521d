package openai_test

import (
	"testing"

	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/executors/conformance"
	"github.com/taskrouter/taskrouter/task"
)

// failures maps the suite's failing cases to the test server's.
var failures = map[conformance.Case]openaitest.Failure{
	conformance.CaseRateLimited:   openaitest.FailRateLimit,
	conformance.CaseServerError:   openaitest.FailServerError,
	conformance.CaseUnauthorized:  openaitest.FailUnauthorized,
	conformance.CaseBadRequest:    openaitest.FailBadRequest,
	conformance.CaseContextLength: openaitest.FailContextLength,
}

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Backend{Scripted: true, Streams: true, New: newScripted})
}

func newScripted(t *testing.T, s conformance.Script) conformance.Subject {
	srv := openaitest.New()
	t.Cleanup(srv.Close)
	b := openaitest.Behaviour{Reply: s.Answer, Fail: failures[s.Case], RetryAfter: s.RetryAfter}
	if s.Case == conformance.CaseSlow {
		b.Latency = s.Delay
	}
	srv.Script("conf-model", b)
	m, err := openai.New(task.ModelSpec{Name: "conf-model", Backend: task.BackendOpenAI, BaseURL: srv.URL(),
		Capabilities: []string{"chat"}}, "sk-test")
	if err != nil {
		t.Fatal(err)
	}
	return conformance.Subject{Model: m, Want: s.Answer,
		Work: task.Work{RequestID: "r1", SubtaskID: "t1", Capability: "chat", Input: "Say the sentence."}}
}

// A relayed body passes the suite every backend passes, streamed or not.
func TestConformanceRelay(t *testing.T) {
	for _, streams := range []bool{false, true} {
		conformance.Run(t, conformance.Backend{Scripted: true, Streams: streams, New: func(t *testing.T, sc conformance.Script) conformance.Subject {
			s := newScripted(t, sc)
			body := `{"model":"conf-model","messages":[{"role":"user","content":"Say the sentence."}]` +
				map[bool]string{true: `,"stream":true}`, false: `}`}[streams]
			s.Work.Body = []byte(body)
			return s
		}})
	}
}
