package router_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// mediaModel is an artifact model whose behaviour a test writes.
type mediaModel func(ctx context.Context, w task.Work, store task.Artifacts) (task.Output, error)

func (m mediaModel) Generate(context.Context, task.Work, func(string)) (task.Output, error) {
	return task.Output{}, task.Errorf(task.CodeBadInput, "artifacts only")
}

func (m mediaModel) GenerateArtifacts(ctx context.Context, w task.Work, store task.Artifacts, _ func(string)) (task.Output, error) {
	return m(ctx, w, store)
}

// draw stores a fake image and says so.
var draw = mediaModel(func(ctx context.Context, w task.Work, store task.Artifacts) (task.Output, error) {
	ref, err := store.Put(ctx, task.ArtifactRef{Name: "fox.png", MIME: "image/png"}, strings.NewReader("pixels of "+w.Input))
	return task.Output{Text: "drew " + ref.ID}, err
})

// look reads every artifact of its work and tells what it read.
var look = mediaModel(func(ctx context.Context, w task.Work, store task.Artifacts) (task.Output, error) {
	var parts []string
	for _, a := range w.Artifacts {
		rc, ref, err := store.Open(ctx, a.ID)
		if err != nil {
			return task.Output{}, err
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		parts = append(parts, fmt.Sprintf("%s=%s %q", a.Ref, ref.MIME, data))
	}
	return task.Output{Text: w.Input + " -> " + strings.Join(parts, ", ")}, nil
})

// mediaOpts leave out the router's artifact store or catalog.
type mediaOpts struct {
	noStore, noCatalog bool
	maxBytes           int64 // the store's limit; 0 is the default
}

// mediaRouter is a router, an executor and the artifact store they share.
func mediaRouter(t *testing.T, o mediaOpts, models ...executors.Served) (*router.Router, *artifacts.Store) {
	t.Helper()
	ctx := context.Background()
	b, err := bus.Start(ctx, bus.Config{Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	nc, _ := b.Connect("artifacts")
	store, err := artifacts.Open(ctx, nc, artifacts.Config{MaxBytes: o.maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.NewMemory()
	enc, _ := b.Connect("executor")
	ex, err := executors.Start(ctx, enc, executors.Config{Models: models, Announcer: reg, Artifacts: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Stop)
	cat, err := task.BuiltinCatalog().With(
		task.Capability{Name: "draw", Description: "draw", Inputs: []string{"prompt"}, Outputs: []string{"image"}},
		task.Capability{Name: "look", Description: "look", Inputs: []string{"image", "prompt"}, Outputs: []string{"text"}},
		task.Capability{Name: "say", Description: "say", Inputs: []string{"text"}, Outputs: []string{"text"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := router.Config{Catalog: cat, AcceptTimeout: 2 * time.Second, DisableModelMerge: true}
	if !o.noStore {
		cfg.Artifacts = store
	}
	if o.noCatalog {
		cfg.Catalog = nil
	}
	rnc, _ := b.Connect("router")
	r, err := router.New(rnc, reg, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r, store
}

// {{t1}} where t1 made an image is that image for a step that reads
// images, and {{a1}} the request's attachment; the Response lists what
// was produced, with the step that made it.
func TestArtifactsFlowThroughAPlan(t *testing.T) {
	r, store := mediaRouter(t, mediaOpts{}, served("m/draw", draw, 4, "draw"), served("m/look", look, 4, "look"),
		served("m/say", echo(0, nil), 4, "say"))
	ctx := context.Background()
	req := task.Request{Input: "x", Attachments: []task.Attachment{{Name: "in.wav", MIME: "image/png", Data: pngHeader()}}}
	p := plan(sub("t1", "draw", "a fox"), sub("t2", "look", "what is in {{t1}}?", "t1"), sub("t3", "say", "{{t2}}", "t2"),
		sub("t4", "look", "and in {{a1}}"))
	req.Plan = &p
	resp := r.Handle(ctx, req, nil)
	mustDone(t, resp)
	if len(resp.Artifacts) != 1 || resp.Artifacts[0].Ref != "t1" || resp.Artifacts[0].Name != "fox.png" || resp.Artifacts[0].Size != int64(len("pixels of a fox")) {
		t.Fatalf("artifacts = %+v", resp.Artifacts)
	}
	if got := resp.Subtasks[1].Output; got != `what is in [image t1]? -> t1=image/png "pixels of a fox"` {
		t.Errorf("t2 read %q", got)
	}
	if got := resp.Subtasks[2].Output; !strings.HasPrefix(got, "say(what is in [image t1]?") {
		t.Errorf("the text step got %q", got)
	}
	if got := resp.Subtasks[3].Output; !strings.HasPrefix(got, "and in [image a1] -> a1=image/png") {
		t.Errorf("t4 read %q", got)
	}
	if _, err := store.Stat(ctx, resp.Artifacts[0].ID); err != nil {
		t.Fatal(err)
	}
}

// pngHeader is the start of a PNG, enough for the type check of Ingest.
func pngHeader() []byte {
	return []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
}

func TestAttachmentErrors(t *testing.T) {
	r, _ := mediaRouter(t, mediaOpts{}, served("m/look", look, 4, "look"))
	noStore, _ := mediaRouter(t, mediaOpts{noStore: true}, served("m/look", look, 4, "look"))
	p := plan(sub("t1", "look", "{{a1}}"))
	for _, c := range []struct {
		r    *router.Router
		att  task.Attachment
		code task.Code
		says string
	}{
		{r, task.Attachment{Name: "x.png", MIME: "image/png", Data: []byte("words, not pixels")}, task.CodeInvalidRequest, "attachments[0] (x.png): it is declared as image/png, but the content is text/plain"},
		{r, task.Attachment{Artifact: "art_00000000000000000000000000000000"}, task.CodeNotFound, "attachments[0]: artifact art_00000000000000000000000000000000 does not exist"},
		{noStore, task.Attachment{Name: "p.png", MIME: "image/png", Data: pngHeader()}, task.CodeUnavailable, "no artifact store"},
	} {
		resp := c.r.Handle(context.Background(), task.Request{Input: "x", Plan: &p, Attachments: []task.Attachment{c.att}}, nil)
		if resp.Error == nil || resp.Error.Code != c.code || !strings.Contains(resp.Error.Message, c.says) {
			t.Errorf("%+v: %+v", c.att.Name, resp.Error)
		}
	}
}

// A model that reads text only is never handed artifacts as bytes: the
// plan's type check refuses such a step, and without a catalog to check
// against, the executor refuses the work.
func TestTextModelRefusesArtifacts(t *testing.T) {
	for _, o := range []mediaOpts{{}, {noCatalog: true}} {
		r, store := mediaRouter(t, o, served("m/say", echo(0, nil), 4, "say"))
		ref, err := store.Put(context.Background(), task.ArtifactRef{MIME: "image/png"}, bytes.NewReader(pngHeader()))
		if err != nil {
			t.Fatal(err)
		}
		p := plan(sub("t1", "say", "{{a1}}"))
		resp := r.Handle(context.Background(), task.Request{Input: "x", Plan: &p, Attachments: []task.Attachment{{Artifact: ref.ID}}}, nil)
		code, says := task.CodeInvalidPlan, "say cannot read image"
		if o.noCatalog {
			code, says = task.CodeBadInput, "reads text only and cannot take the subtask's 1 artifacts"
		}
		if resp.Error == nil || resp.Error.Code != code || !strings.Contains(resp.Error.Message, says) {
			t.Errorf("%+v: %+v", o, resp.Error)
		}
	}
}
