package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/artifacts/artifactstest"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

// Remote models serve the media capabilities to executors.
var _ executors.ArtifactModel = (*Model)(nil)

func mediaStore(t *testing.T) *artifacts.Store {
	t.Helper()
	return artifactstest.Store(t, artifacts.Config{})
}

func mediaModel(t *testing.T, s *openaitest.Server, name string, caps ...string) *Model {
	t.Helper()
	s.Script(name, openaitest.Behaviour{})
	return newModel(t, task.ModelSpec{Name: name, Backend: task.BackendOpenAI, BaseURL: s.URL(), Capabilities: caps}, "")
}

func fetch(t *testing.T, store *artifacts.Store, ref task.ArtifactRef) []byte {
	t.Helper()
	rc, _, err := store.Open(context.Background(), ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// image-generate -> caption -> tts -> asr, each through its own API: the
// picture is drawn, seen, spoken and heard back, every file passing
// through the store.
func TestMediaCapabilitiesRoundTrip(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	store := mediaStore(t)
	ctx := context.Background()
	painter := mediaModel(t, s, "dall-e-3", "image-generate")
	out, err := painter.GenerateArtifacts(ctx, task.Work{SubtaskID: "t1", Capability: "image-generate", Input: "a red fox in the snow", Args: map[string]string{"size": "48x32"}}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Artifacts) != 1 || out.Artifacts[0].MIME != "image/png" || out.Artifacts[0].Name != "t1-image-1.png" || !strings.Contains(out.Text, out.Artifacts[0].ID) {
		t.Fatalf("output %+v", out)
	}
	if rec, _ := s.Last("dall-e-3"); rec.Path != openaitest.PathImages || rec.Form["response_format"] != "b64_json" || rec.Prompt != "a red fox in the snow" || rec.Form["size"] != "48x32" {
		t.Fatalf("upstream got %+v", rec.Form)
	}
	pic := out.Artifacts[0]
	pic.Ref = "t1"

	seer := mediaModel(t, s, "gpt-4o", "chat", "caption")
	out, err = seer.GenerateArtifacts(ctx, task.Work{Capability: "caption", Input: pic.Placeholder(), Artifacts: []task.ArtifactRef{pic}}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Text != "A 48x32 PNG picture: a red shape in the middle of a white background." || len(out.Artifacts) != 0 {
		t.Fatalf("caption %+v", out)
	}
	rec, _ := s.Last("gpt-4o")
	if len(rec.Images) != 1 || !bytes.Equal(rec.Images[0].Data, fetch(t, store, pic)) || !strings.Contains(rec.Messages[0].Content, "Describe the image") {
		t.Fatalf("the vision model got %d images, messages %+v", len(rec.Images), rec.Messages)
	}
	if strings.Contains(string(rec.Body), "[image t1]") {
		t.Fatal("the placeholder went upstream as text")
	}

	speaker := mediaModel(t, s, "tts-1", "tts")
	said := "Un renard roux dans la neige."
	out, err = speaker.GenerateArtifacts(ctx, task.Work{SubtaskID: "t4", Capability: "tts", Input: said, Args: map[string]string{"voice": "nova"}}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	wav := out.Artifacts[0]
	if wav.MIME != "audio/wav" || wav.Name != "t4-speech.wav" || out.Usage.PromptTokens == 0 {
		t.Fatalf("speech %+v", wav)
	}
	if info, err := openaitest.ReadWAV(fetch(t, store, wav)); err != nil || info.Comment != said {
		t.Fatalf("WAV %+v, %v", info, err)
	}
	if rec, _ := s.Last("tts-1"); rec.Form["voice"] != "nova" || rec.Form["response_format"] != "wav" {
		t.Fatalf("speech request %+v", rec.Form)
	}

	wav.Ref = "a1"
	listener := mediaModel(t, s, "whisper-1", "asr")
	out, err = listener.GenerateArtifacts(ctx, task.Work{Capability: "asr", Input: wav.Placeholder(), Artifacts: []task.ArtifactRef{wav}, Args: map[string]string{"language": "fr"}}, store, nil)
	if err != nil || out.Text != said {
		t.Fatalf("transcript %q, %v", out.Text, err)
	}
	if rec, _ := s.Last("whisper-1"); rec.Form["filename"] != "t4-speech.wav" || rec.Form["language"] != "fr" {
		t.Fatalf("transcription form %+v", rec.Form)
	}
}

// image-edit goes to /images/edits as multipart, with the image streamed
// from the store.
func TestImageEdit(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	store := mediaStore(t)
	m := mediaModel(t, s, "dall-e-2", "image-edit")
	src, err := store.Put(context.Background(), task.ArtifactRef{Name: "fox.png"}, bytes.NewReader(openaitest.Picture("red fox, white snow", 16, 16)))
	if err != nil {
		t.Fatal(err)
	}
	src.Ref = "a1"
	out, err := m.GenerateArtifacts(context.Background(), task.Work{SubtaskID: "t1", Capability: "image-edit", Input: "invert the colours of " + src.Placeholder(), Artifacts: []task.ArtifactRef{src}}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := openaitest.Describe(fetch(t, store, out.Artifacts[0])); !strings.Contains(d, "black background") {
		t.Fatalf("edited: %q", d)
	}
	rec, _ := s.Last("dall-e-2")
	if rec.Prompt != "invert the colours of" || len(rec.Images) != 1 || rec.Form["response_format"] != "b64_json" {
		t.Fatalf("edit request prompt %q, %d images, %v", rec.Prompt, len(rec.Images), rec.Form)
	}
}

// Media bodies relay as the caller sent them: images come back named by
// their artifacts, speech as an artifact, and a transcription's fields
// go upstream as multipart with the recording.
func TestRelayMedia(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	store := mediaStore(t)
	ctx := context.Background()
	m := mediaModel(t, s, "dall-e-3", "image-generate")
	out, err := m.GenerateArtifacts(ctx, task.Work{API: task.APIImages, Body: json.RawMessage(`{"model":"x","prompt":"a blue sea","n":2,"response_format":"b64_json","size":"8x8"}`)}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := gjson.GetBytes(out.Body, "data").Array()
	if len(out.Artifacts) != 2 || len(data) != 2 || data[0].Get("b64_json").Str != out.Artifacts[0].ID || data[0].Get("revised_prompt").Str != "a blue sea" {
		t.Fatalf("relayed body %s, artifacts %+v", out.Body, out.Artifacts)
	}
	if rec, _ := s.Last("dall-e-3"); gjson.GetBytes(rec.Body, "model").Str != "dall-e-3" {
		t.Fatalf("upstream body %s", rec.Body)
	}
	out, err = m.GenerateArtifacts(ctx, task.Work{API: task.APIImages, Body: json.RawMessage(`{"model":"x","prompt":"a blue sea"}`)}, store, nil)
	if err != nil || len(out.Artifacts) != 0 || !strings.HasPrefix(gjson.GetBytes(out.Body, "data.0.url").Str, "http://") {
		t.Fatalf("url answer %s, %+v, %v", out.Body, out.Artifacts, err)
	}

	tts := mediaModel(t, s, "tts-1", "tts")
	out, err = tts.GenerateArtifacts(ctx, task.Work{API: task.APISpeech, Body: json.RawMessage(`{"model":"x","input":"hello there","voice":"alloy","response_format":"wav"}`)}, store, nil)
	if err != nil || len(out.Artifacts) != 1 || out.Artifacts[0].MIME != "audio/wav" {
		t.Fatalf("speech %+v, %v", out, err)
	}
	wav := out.Artifacts[0]
	wav.Name = "memo.wav"

	asr := mediaModel(t, s, "whisper-1", "asr")
	for _, c := range []struct{ format, want string }{{"json", "hello there"}, {"srt", "00:00:00,000 --> 00:00:00,240\nhello there"}} {
		body := `{"model":"x","response_format":"` + c.format + `","timestamp_granularities[]":["word","segment"]}`
		out, err = asr.GenerateArtifacts(ctx, task.Work{API: task.APITranscriptions, Body: json.RawMessage(body), Artifacts: []task.ArtifactRef{wav}}, store, nil)
		if err != nil || !strings.Contains(out.Text, c.want) || (c.format == "json") != (out.Body != nil) {
			t.Fatalf("%s: %+v, %v", c.format, out, err)
		}
	}
	if rec, _ := s.Last("whisper-1"); rec.Form["filename"] != "memo.wav" || rec.Form["model"] != "whisper-1" || rec.Form["timestamp_granularities[]"] != "word" {
		t.Fatalf("form %+v", rec.Form)
	}
}

// A scripted failure of a media API is classified as any other.
func TestMediaFailures(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	store := mediaStore(t)
	m := newModel(t, task.ModelSpec{Name: "dall-e-3", Backend: task.BackendOpenAI, BaseURL: s.URL(), Capabilities: []string{"image-generate"}}, "")
	s.Script("dall-e-3", openaitest.Behaviour{Fail: openaitest.FailRateLimit})
	_, err := m.GenerateArtifacts(context.Background(), task.Work{Capability: "image-generate", Input: "a fox"}, store, nil)
	if e := asTaskError(t, err); e.Code != task.CodeRateLimited {
		t.Fatalf("code %s: %v", e.Code, e)
	}
	s.Script("dall-e-3", openaitest.Behaviour{})
	seer := mediaModel(t, s, "gpt-4o", "caption")
	audio, _ := store.Put(context.Background(), task.ArtifactRef{MIME: "audio/wav"}, bytes.NewReader(openaitest.Speech("x")))
	audio.Ref = "a1"
	_, err = seer.GenerateArtifacts(context.Background(), task.Work{Capability: "caption", Input: "[audio a1]", Artifacts: []task.ArtifactRef{audio}}, store, nil)
	if e := asTaskError(t, err); e.Code != task.CodeBadInput || !strings.Contains(e.Message, "audio/wav") {
		t.Fatalf("caption of audio: %v", err)
	}
}

func TestCheckAPI(t *testing.T) {
	for _, c := range []struct {
		api  string
		caps []string
		want string
	}{
		{"", []string{"tts", "caption", "chat"}, ""},
		{"images", []string{"image-generate", "sketch"}, ""},
		{"chat", []string{"caption", "vqa", "ocr", "chat"}, ""},
		{"speech", []string{"tts"}, ""},
		{"image", []string{"image-generate"}, `api "image" must be one of chat, images, transcriptions, speech`},
		{"speech", []string{"tts", "caption"}, `api "speech" cannot serve capability caption; caption goes through api chat`},
		{"chat", []string{"image-generate"}, `api "chat" cannot serve capability image-generate; image-generate goes through api images`},
		{"transcriptions", []string{"tts"}, "tts goes through api speech"},
	} {
		err := CheckAPI(task.ModelSpec{Name: "m", API: c.api, Capabilities: c.caps})
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("api %q %v: %v, want %q", c.api, c.caps, err, c.want)
		}
	}
	if _, err := New(task.ModelSpec{Name: "m", BaseURL: "http://x/v1", API: "audio", Capabilities: []string{"asr"}}, ""); err == nil || !strings.Contains(err.Error(), `configuring model "m": api "audio"`) {
		t.Fatalf("New: %v", err)
	}
}

// The api a spec names sends every capability through it: a custom
// capability drawn through images.
func TestAPIOverridesTheCapability(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("painter", openaitest.Behaviour{})
	m := newModel(t, task.ModelSpec{Name: "painter", Backend: task.BackendOpenAI, BaseURL: s.URL(), API: task.APIImages, Capabilities: []string{"sketch"}}, "")
	store := mediaStore(t)
	out, err := m.GenerateArtifacts(context.Background(), task.Work{Capability: "sketch", Input: "a green forest"}, store, nil)
	if err != nil || len(out.Artifacts) != 1 {
		t.Fatalf("%+v, %v", out, err)
	}
	if d, _ := openaitest.Describe(fetch(t, store, out.Artifacts[0])); !strings.Contains(d, "green") {
		t.Fatalf("sketch: %q", d)
	}
}

// A media call is a client span too, named by its API.
func TestMediaCallSpan(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("tts-1", openaitest.Behaviour{})
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	m := newModel(t, task.ModelSpec{Name: "tts-1", Backend: task.BackendOpenAI, BaseURL: s.URL(), Capabilities: []string{"tts"}}, "", WithTracer(tp.Tracer("test")))
	if _, err := m.GenerateArtifacts(context.Background(), task.Work{Capability: "tts", Input: "hello there"}, mediaStore(t), nil); err != nil {
		t.Fatal(err)
	}
	ended := spans.Ended()
	if len(ended) != 1 || ended[0].Name() != "speech tts-1" || ended[0].SpanKind() != trace.SpanKindClient {
		t.Fatalf("spans %v", ended)
	}
	if rec, _ := s.Last("tts-1"); rec.Header.Get("Traceparent") == "" {
		t.Error("the call carried no traceparent")
	}
}

// An upstream whose image is not base64 fails the step as the upstream's
// fault, and nothing is stored.
func TestCorruptImageIsTheUpstreams(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"created":1,"data":[{"b64_json":"iVBORw0KGgo@@@@"}]}`)
	}))
	defer up.Close()
	m := newModel(t, task.ModelSpec{Name: "painter", Backend: task.BackendOpenAI, BaseURL: up.URL + "/v1", Capabilities: []string{"image-generate"}}, "")
	_, err := m.GenerateArtifacts(context.Background(), task.Work{Capability: "image-generate", Input: "a fox"}, mediaStore(t), nil)
	if e := asTaskError(t, err); e.Code != task.CodeUpstream || !strings.Contains(e.Message, "not in valid base64") {
		t.Fatalf("%v", err)
	}
}

// FuzzRewriteImages: whatever an upstream answers to an images request,
// reading it either fails or gives a JSON answer in which every base64
// image put was given is replaced by what put returned.
func FuzzRewriteImages(f *testing.F) {
	f.Add([]byte(`{"created":1,"data":[{"b64_json":"iVBORw0KGgo=","revised_prompt":"x"},{"url":"https://x/y.png"}]}`))
	f.Add([]byte(`{"data":[null,{"b64_json":""},{"b64_json":7}]}`))
	f.Add([]byte(`{"data":{}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var given []string
		out, err := rewriteImages(raw, func(i int, b64 string) (string, error) {
			given = append(given, b64)
			return "art_stored", nil
		})
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("rewrote %s into invalid JSON %s", raw, out)
		}
		if n := strings.Count(string(out), `"art_stored"`); n < len(given) {
			t.Fatalf("%d images put, %d replaced: %s", len(given), n, out)
		}
	})
}
