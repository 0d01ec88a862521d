package jobs

import (
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// TestIngressOf counts a job by where its request came from: a durable
// request on bare tr.v1.jobs (no NATS users) is as much a NATS request as
// one from a named producer.
func TestIngressOf(t *testing.T) {
	for source, want := range map[string]string{
		"":              task.IngressJob,
		"http":          task.IngressJob,
		"nats":          task.IngressNATS,
		"nats:billing":  task.IngressNATS,
		"webhook:slack": task.IngressWebhook,
		"natsy":         task.IngressJob,
	} {
		if got := ingressOf(source); got != want {
			t.Errorf("ingressOf(%q) = %q, want %q", source, got, want)
		}
	}
}

// A durable request's conversation belongs to the producer user that
// published it, as a webhook's belong to the hook and a job's to its key:
// another producer naming the same id gets a conversation of its own.
func TestRequesterOwnsConversations(t *testing.T) {
	for _, c := range []struct {
		job  Job
		want string
	}{
		{Job{Source: "webhook:slack", Owner: ""}, "webhook:slack"},
		{Job{Source: "nats:billing"}, "nats:billing"},
		{Job{Source: "nats"}, ""}, // bare tr.v1.jobs: no users, one space
		{Job{Source: "http", Owner: "key-hash"}, "key-hash"},
	} {
		if got := requester(&c.job); got != c.want {
			t.Errorf("requester(source %q, owner %q) = %q, want %q", c.job.Source, c.job.Owner, got, c.want)
		}
	}
}
