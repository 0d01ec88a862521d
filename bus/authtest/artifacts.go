package authtest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// executorArtifacts: an executor reads the artifacts a router stored and
// stores new ones, through the artifact bucket's subjects alone; it may
// not purge the bucket, list it, read other streams or the jobs' bucket.
// A producer may not touch the bucket at all.
func executorArtifacts(t *testing.T, tg Target) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	router, err := artifacts.Open(ctx, tg.As(t, "router-1"), artifacts.Config{})
	if err != nil {
		t.Fatalf("the router opening the artifact store: %v", err)
	}
	input := bytes.Repeat([]byte("input of a subtask "), 40<<10) // 760 KiB: several chunks, flow control
	in, err := router.Put(ctx, task.ArtifactRef{MIME: "application/octet-stream"}, bytes.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	exec, err := artifacts.Join(ctx, tg.As(t, "exec-a"), artifacts.Config{})
	if err != nil {
		t.Fatalf("an executor joining the artifact store: %v", err)
	}
	var got bytes.Buffer
	if _, err := exec.WriteTo(ctx, in.ID, &got); err != nil || !bytes.Equal(got.Bytes(), input) {
		t.Fatalf("an executor reading an artifact: %v (%d bytes of %d)", err, got.Len(), len(input))
	}
	made := bytes.Repeat([]byte("made by a model "), 30<<10)
	out, err := exec.Put(ctx, task.ArtifactRef{MIME: "application/octet-stream"}, bytes.NewReader(made))
	if err != nil {
		t.Fatalf("an executor storing an artifact: %v", err)
	}
	got.Reset()
	if _, err := router.WriteTo(ctx, out.ID, &got); err != nil || !bytes.Equal(got.Bytes(), made) {
		t.Fatalf("the router reading what an executor stored: %v", err)
	}
	if _, err := exec.Put(ctx, task.ArtifactRef{MIME: "application/octet-stream"}, bytes.NewReader(made)); err != nil {
		t.Fatalf("an executor storing bytes stored before: %v", err)
	}

	const api = "$JS.API."
	tg.Refused(t, "exec-a", "purge the artifact bucket", pub(api+"STREAM.PURGE."+bus.ArtifactsStream))
	tg.Refused(t, "exec-a", "delete the artifact bucket", pub(api+"STREAM.DELETE."+bus.ArtifactsStream))
	tg.Refused(t, "exec-a", "change the artifact bucket", pub(api+"STREAM.UPDATE."+bus.ArtifactsStream))
	tg.Refused(t, "exec-a", "get an artifact message by sequence", pub(api+"DIRECT.GET."+bus.ArtifactsStream))
	tg.Refused(t, "exec-a", "get a message by sequence", pub(api+"STREAM.MSG.GET."+bus.ArtifactsStream))
	tg.Refused(t, "exec-a", "list the artifacts", pub(api+"CONSUMER.CREATE."+bus.ArtifactsStream+".c.$O."+bus.ArtifactsBucket+".M.>"))
	tg.Refused(t, "exec-a", "create a consumer without a filter", pub(api+"CONSUMER.CREATE."+bus.ArtifactsStream))
	tg.Refused(t, "exec-a", "read the jobs stream", pub(api+"STREAM.INFO."+bus.JobsStream))
	tg.Refused(t, "exec-a", "read the jobs bucket", pub(api+"STREAM.INFO.KV_taskrouter_jobs"))
	tg.Refused(t, "exec-a", "get a job", pub(api+"DIRECT.GET.KV_taskrouter_jobs.$KV.taskrouter_jobs.job_1"))
	tg.Refused(t, "exec-a", "read the results stream", pub(api+"CONSUMER.CREATE."+bus.ResultsStream+".c.tr.v1.results.>"))
	tg.Refused(t, "exec-a", "list streams", pub(api+"STREAM.LIST"))
	tg.Refused(t, "exec-a", "write another bucket", pub("$O.other.C.x"))
	tg.Refused(t, "exec-a", "write a key-value bucket", pub("$KV.taskrouter_jobs.job_1"))
	tg.Refused(t, "prod-1", "read the artifact bucket", pub(api+"STREAM.INFO."+bus.ArtifactsStream))
	tg.Refused(t, "prod-1", "read an artifact's info", pub(api+"DIRECT.GET."+bus.ArtifactsStream+".$O."+bus.ArtifactsBucket+".M.x"))
	tg.Refused(t, "prod-1", "store an artifact's chunks", pub("$O."+bus.ArtifactsBucket+".C.x"))
	tg.Refused(t, "obs", "read the artifact bucket", pub(api+"STREAM.INFO."+bus.ArtifactsStream))
}
