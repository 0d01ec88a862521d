package executors_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/bus/authtest"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

type failing struct{}

func (failing) Generate(context.Context, task.Work, func(string)) (task.Output, error) {
	return task.Output{}, task.Errorf(task.CodeBadInput, "no")
}

// An executor is a NATS service: discovery shows an endpoint per model
// with its metadata, and stats count its answered subtasks and failures.
func TestExecutorIsANATSService(t *testing.T) {
	h := start(t, failing{}, 1, 4)
	if r := answer(t, h.send(t, "req1", "t1")); r.Type != task.ReplyError {
		t.Fatalf("answer %+v", r)
	}
	m, err := h.nc.Request("$SRV.INFO."+executors.ServiceName, nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(m.Data, &info); err != nil || len(info.Endpoints) != 1 {
		t.Fatalf("info %s: %v", m.Data, err)
	}
	ep := info.Endpoints[0]
	if ep.Subject != task.ModelSubject("m") || ep.QueueGroup != "m" || ep.Metadata["model"] != "m" || ep.Metadata["capabilities"] != "x" ||
		info.Metadata["executor"] != "e1" {
		t.Fatalf("info %s", m.Data)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err = h.nc.Request("$SRV.STATS."+executors.ServiceName+"."+info.ID, nil, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var stats micro.Stats
		if err := json.Unmarshal(m.Data, &stats); err != nil {
			t.Fatal(err)
		}
		if s := stats.Endpoints[0]; s.NumRequests == 1 {
			if s.NumErrors != 1 || !strings.Contains(s.LastError, "bad_input") {
				t.Fatalf("stats %+v", s)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never counted the subtask: %s", m.Data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An executor whose NATS user may not serve a model fails to start,
// instead of looking alive for subtasks it never receives.
func TestExecutorRefusedAModelFailsToStart(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.Config{Listen: "127.0.0.1:0", Auth: bus.Auth{Users: authtest.Users()}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	nc, err := nats.Connect(b.ClientURL(), authtest.Login("exec-a")...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	spec := task.ModelSpec{Name: authtest.ModelB, Backend: task.BackendLocal, Capabilities: []string{"x"}}
	_, err = executors.Start(context.Background(), nc, executors.Config{Models: []executors.Served{{Spec: spec, Model: failing{}}}})
	if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), task.ModelSubject(authtest.ModelB)) {
		t.Fatalf("serving a model the user may not: %v", err)
	}
}
