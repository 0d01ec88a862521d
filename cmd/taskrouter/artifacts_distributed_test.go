package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/task"
)

// Artifacts cross processes: a producer sends a photo inline on
// tr.v1.req to a router process, which stores it in the object store; an
// executor process fetches it there, edits it and stores the result; the
// producer reads the result from the store. A second request names the
// stored photo by id instead.
func TestDistributedArtifactsAcrossProcesses(t *testing.T) {
	c := newCluster(t, redisDB(t))
	c.router("router", "")
	c.executor("media", "local/imageops", "local/imageinfo")
	c.waitReplicas(map[string]int{"local/imageops": 1, "local/imageinfo": 1}, 20*time.Second)
	path := filepath.Join(t.TempDir(), "photo.png")
	writePhoto(t, path)
	photo, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	req := task.Request{Input: "What size is this image? Then make it grayscale and 128 px wide.",
		Attachments: []task.Attachment{{Name: "photo.png", MIME: "image/png", Data: photo}}}
	var resp task.Response
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err = c.ask(req)
		if err == nil && resp.Error == nil || time.Now().After(deadline) {
			break // the router's registry snapshot may lag the executor's start
		}
	}
	if err != nil || resp.Error != nil {
		t.Fatalf("ask: %v %+v", err, resp.Error)
	}
	if !strings.Contains(resp.Answer, "width: 640") || len(resp.Artifacts) != 1 || resp.Artifacts[0].Ref != "t2" || resp.Artifacts[0].MIME != "image/png" {
		t.Fatalf("answer %q, artifacts %+v", resp.Answer, resp.Artifacts)
	}
	store, err := artifacts.Join(context.Background(), c.nc, artifacts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var edited bytes.Buffer
	if _, err := store.WriteTo(context.Background(), resp.Artifacts[0].ID, &edited); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&edited)
	if err != nil {
		t.Fatal(err)
	}
	if _, gray := img.(*image.Gray); !gray || img.Bounds().Dx() != 128 {
		t.Fatalf("the edited image is a %T of %v", img, img.Bounds())
	}
	// The photo is in the store now: name it by id.
	in, err := store.Stat(context.Background(), task.ArtifactID(sha256Hex(photo)))
	if err != nil {
		t.Fatalf("the router did not store the attachment: %v", err)
	}
	resp, err = c.ask(task.Request{Input: "rotate it 90 degrees", Attachments: []task.Attachment{{Artifact: in.ID}}})
	if err != nil || resp.Error != nil || len(resp.Artifacts) != 1 || !strings.Contains(resp.Answer, "now 480×640") {
		t.Fatalf("by id: %v %+v %q %+v", err, resp.Error, resp.Answer, resp.Artifacts)
	}
	// An edge the types forbid is refused before anything runs.
	resp, err = c.ask(task.Request{Input: "x", Attachments: []task.Attachment{{Artifact: in.ID}},
		Plan: &task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "summarize", Input: "{{a1}}", Deps: []string{}}}}})
	if err != nil || resp.Error == nil || resp.Error.Code != task.CodeInvalidPlan || !strings.Contains(resp.Error.Message, "caption") {
		t.Fatalf("an image into summarize: %v %+v", err, resp.Error)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
