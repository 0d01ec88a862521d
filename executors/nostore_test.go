package executors_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

// mediaModel reads text and, when asked to, stores an artifact: as a
// remote model serving chat and image-generate alike.
type mediaModel struct{}

func (mediaModel) Generate(context.Context, task.Work, func(string)) (task.Output, error) {
	return task.Output{Text: "text"}, nil
}

func (mediaModel) GenerateArtifacts(ctx context.Context, w task.Work, store task.Artifacts, _ func(string)) (task.Output, error) {
	if w.Input != "draw" {
		return task.Output{Text: "text: " + w.Input}, nil
	}
	ref, err := store.Put(ctx, task.ArtifactRef{MIME: "image/png"}, strings.NewReader("png"))
	return task.Output{Artifacts: []task.ArtifactRef{ref}}, err
}

// An executor without an artifact store still serves a media model's
// text work; only the work that needs the store fails, saying why.
func TestNoStoreServesTextWork(t *testing.T) {
	h := startWith(t, mediaModel{}, 2, executors.Config{KeepAlive: time.Hour})
	replies := h.send(t, "r1", "t1")
	if r := answer(t, replies); r.Type != task.ReplyResult || r.Output.Text != "text: in" {
		t.Fatalf("text work: %+v", r)
	}
	replies = h.sendWork(t, task.Work{RequestID: "r2", SubtaskID: "t1", Input: "draw"})
	if r := answer(t, replies); r.Type != task.ReplyError || r.Error.Code != task.CodeUnavailable || !strings.Contains(r.Error.Message, "has no artifact store") {
		t.Fatalf("work that stores: %+v", r)
	}
}
