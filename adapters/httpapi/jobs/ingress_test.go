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
