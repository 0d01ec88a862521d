package main

import (
	"bytes"
	"context"

	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/task"
)

// foxRequest is the demonstration of a plan across modalities.
const foxRequest = "Draw a red fox in the snow, describe the picture, and read the description aloud in French"

// foxSteps is how the rules planner plans foxRequest.
var foxSteps = []string{"image-generate", "caption", "translate", "tts"}

// french translates the scripted vision model's captions.
var french = strings.NewReplacer("A ", "Une image ", " PNG picture:", " PNG :", "a red shape", "une forme rouge",
	"in the middle of a", "au milieu d'un", "white background", "fond blanc")

// mediaExecutor starts `taskrouter executor` serving remote models of the
// scripted upstream at baseURL, each "name: capability".
func (c *cluster) mediaExecutor(name, baseURL string, models map[string]string) *proc {
	c.t.Helper()
	var cfg strings.Builder
	var names []string
	cfg.WriteString("models:\n")
	for model, capability := range models {
		fmt.Fprintf(&cfg, "  - {name: %s, backend: openai, base_url: %q, capabilities: [%s], concurrency: 4}\n", model, baseURL, capability)
		names = append(names, model)
	}
	p := startProc(c.t, name, c.bin, "executor", "--config", c.writeConfig(name, cfg.String()),
		"--nats", c.natsURL, "--redis", c.redisURL, "--models", strings.Join(names, ","))
	p.waitOutput(c.t, "taskrouter executor serving", 30*time.Second)
	return p
}

// Remote models for images and audio, served by executors in two
// processes, run a plan across modalities for a router in a third: the
// picture one executor's model drew reaches the other's vision model
// through the object store, its French description is read aloud, and
// the answer links the image and the WAV file, which are in the store,
// and which `ask --out` writes.
func TestDistributedMediaPlanAcrossProcesses(t *testing.T) {
	c := newCluster(t, redisDB(t))
	up := openaitest.New()
	defer up.Close()
	for _, m := range []string{"painter", "seer", "speaker"} {
		up.Script(m, openaitest.Behaviour{})
	}
	up.Script("translator", openaitest.Behaviour{ReplyFunc: func(msgs []task.Message) string { return french.Replace(msgs[len(msgs)-1].Content) }})
	c.router("router", "")
	vision := c.mediaExecutor("vision", up.URL(), map[string]string{"painter": "image-generate", "seer": "caption"})
	voice := c.mediaExecutor("voice", up.URL(), map[string]string{"translator": "translate", "speaker": "tts"})
	c.waitReplicas(map[string]int{"painter": 1, "seer": 1, "translator": 1, "speaker": 1}, 20*time.Second)

	var resp task.Response
	var err error
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err = c.ask(task.Request{Input: foxRequest})
		if err == nil && resp.Error == nil || time.Now().After(deadline) {
			break // the router's registry snapshot may lag the executors' start
		}
	}
	if err != nil || resp.Error != nil {
		t.Fatalf("ask: %v %+v", err, resp.Error)
	}
	var steps []string
	for _, st := range resp.Subtasks {
		steps = append(steps, st.Capability)
	}
	if !slices.Equal(steps, foxSteps) {
		t.Fatalf("the router planned %v, want %v", steps, foxSteps)
	}
	if len(resp.Artifacts) != 2 || resp.Artifacts[0].Ref != "t1" || resp.Artifacts[0].MIME != "image/png" ||
		resp.Artifacts[1].Ref != "t4" || resp.Artifacts[1].MIME != "audio/wav" {
		t.Fatalf("artifacts %+v", resp.Artifacts)
	}
	img, wav := resp.Artifacts[0], resp.Artifacts[1]
	if !strings.Contains(resp.Answer, "![t1-image-1.png](/v1/files/"+img.ID+"/content)") || !strings.Contains(resp.Answer, "[t4-speech.wav](/v1/files/"+wav.ID+"/content)") {
		t.Fatalf("answer %q", resp.Answer)
	}
	for i, want := range []*proc{vision, vision, voice, voice} {
		if st := resp.Subtasks[i]; !strings.Contains(st.Executor, want.idMark()) {
			t.Errorf("%s ran on %s, not in process %s", st.ID, st.Executor, want.name)
		}
	}
	store, err := artifacts.Join(context.Background(), c.nc, artifacts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var picture, speech bytes.Buffer
	if _, err := store.WriteTo(context.Background(), img.ID, &picture); err != nil {
		t.Fatal(err)
	}
	if _, err := store.WriteTo(context.Background(), wav.ID, &speech); err != nil {
		t.Fatal(err)
	}
	// The vision model saw the very picture the painter drew.
	seen, _ := up.Last("seer")
	if len(seen.Images) != 1 || !bytes.Equal(seen.Images[0].Data, picture.Bytes()) {
		t.Fatalf("the vision model got %d images, not the drawn one", len(seen.Images))
	}
	said := "Une image 64x64 PNG : une forme rouge au milieu d'un fond blanc."
	if resp.Subtasks[2].Output != said {
		t.Fatalf("translation %q", resp.Subtasks[2].Output)
	}
	info, err := openaitest.ReadWAV(speech.Bytes())
	if err != nil || info.Comment != said || info.SampleRate != openaitest.SpeechRate {
		t.Fatalf("the speech file: %+v, %v", info, err)
	}

	// ask over NATS writes the image and the WAV file and names them.
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	cmd := exec.Command(c.bin, "ask", "--nats", c.natsURL, "--out", out, foxRequest)
	stdout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ask: %v\n%s", err, stdout)
	}
	for _, f := range []string{"t1-image-1.png", "t4-speech.wav"} {
		if !strings.Contains(string(stdout), filepath.Join(out, f)) {
			t.Errorf("ask does not name %s:\n%s", f, stdout)
		}
	}
	t.Logf("answer over tr.v1.req:\n%s\nask --out:\n%s", resp.Answer, stdout)
	written, err := os.ReadFile(filepath.Join(out, "t4-speech.wav"))
	if err != nil || !bytes.Equal(written, speech.Bytes()) {
		t.Fatalf("the written WAV file differs from the stored one: %v", err)
	}
}
