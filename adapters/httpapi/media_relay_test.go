package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/openai"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/task"
)

// newMediaRelayEnv is the media pipeline with remote models for images
// and audio, served from a scripted upstream by an executor that has the
// artifact store.
func newMediaRelayEnv(t *testing.T) (*mediaEnv, *openaitest.Server) {
	t.Helper()
	e := newMediaEnv(t, 1<<20, httpapi.Config{})
	up := openaitest.New()
	t.Cleanup(up.Close)
	var served []executors.Served
	for name, capability := range map[string]string{"dall-e-3": "image-generate", "tts-1": "tts", "whisper-1": "asr", "gpt-4o": "chat", "seer": "caption"} {
		up.Script(name, openaitest.Behaviour{Reply: map[bool]string{true: "Hello.", false: ""}[name == "gpt-4o"]})
		spec := task.ModelSpec{Name: name, Backend: task.BackendOpenAI, BaseURL: up.URL(), Capabilities: []string{capability}, Concurrency: 4}
		m, err := openai.New(spec, "")
		if err != nil {
			t.Fatal(err)
		}
		served = append(served, executors.Served{Spec: spec, Model: m})
	}
	ex, err := executors.Start(context.Background(), e.connect("remote-executor"), executors.Config{ID: "remote-" + t.Name(), Models: served, Announcer: e.reg, Artifacts: e.store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Stop)
	return e, up
}

func (e *mediaEnv) client(key string) *goopenai.Client {
	cfg := goopenai.DefaultConfig(key)
	cfg.BaseURL = e.url + "/v1"
	return goopenai.NewClientWithConfig(cfg)
}

// The media routes relay to the model named, behind the API keys, with
// OpenAI's own client: images come back as b64_json and as urls, speech
// as WAV bytes, and a multipart transcription hears the speech back.
func TestMediaRoutesRelay(t *testing.T) {
	e, up := newMediaRelayEnv(t)
	ctx := context.Background()
	c := e.client(mediaKey)
	img, err := c.CreateImage(ctx, goopenai.ImageRequest{Model: "dall-e-3", Prompt: "a red fox in the snow", Size: "40x30", ResponseFormat: goopenai.CreateImageResponseFormatB64JSON})
	if err != nil {
		t.Fatal(err)
	}
	pic, err := base64.StdEncoding.DecodeString(img.Data[0].B64JSON)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := openaitest.Describe(pic); d != "A 40x30 PNG picture: a red shape in the middle of a white background." {
		t.Fatalf("the relayed image shows %q", d)
	}
	if rec, _ := up.Last("dall-e-3"); !strings.Contains(string(rec.Body), `"size":"40x30"`) {
		t.Fatalf("upstream body %s", rec.Body)
	}
	img, err = c.CreateImage(ctx, goopenai.ImageRequest{Model: "dall-e-3", Prompt: "a yellow sun"})
	if err != nil || !strings.HasPrefix(img.Data[0].URL, up.URL()[:len(up.URL())-3]) {
		t.Fatalf("url answer %+v, %v", img, err)
	}

	said := "Bonjour tout le monde."
	audio, err := c.CreateSpeech(ctx, goopenai.CreateSpeechRequest{Model: "tts-1", Input: said, Voice: goopenai.VoiceNova, ResponseFormat: goopenai.SpeechResponseFormatWav})
	if err != nil {
		t.Fatal(err)
	}
	wav, _ := io.ReadAll(audio)
	audio.Close()
	if info, err := openaitest.ReadWAV(wav); err != nil || info.Comment != said || audio.Header().Get("Content-Type") != "audio/wav" {
		t.Fatalf("speech %+v, %v, %s", info, err, audio.Header().Get("Content-Type"))
	}
	if audio.Header().Get(httpapi.HeaderModel) != "tts-1" {
		t.Fatalf("answered by %q", audio.Header().Get(httpapi.HeaderModel))
	}

	for _, format := range []goopenai.AudioResponseFormat{goopenai.AudioResponseFormatJSON, goopenai.AudioResponseFormatText, goopenai.AudioResponseFormatVTT} {
		tr, err := c.CreateTranscription(ctx, goopenai.AudioRequest{Model: "whisper-1", FilePath: "hello.wav", Reader: bytes.NewReader(wav), Format: format, Language: "fr"})
		if err != nil || !strings.Contains(tr.Text, said) {
			t.Fatalf("%s: %q, %v", format, tr.Text, err)
		}
	}
	rec, _ := up.Last("whisper-1")
	if !bytes.Equal(rec.Audio, wav) || rec.Form["filename"] != "hello.wav" || rec.Form["language"] != "fr" || rec.Form["model"] != "whisper-1" {
		t.Fatalf("the upstream got %d bytes, form %v", len(rec.Audio), rec.Form)
	}
	if _, err := e.store.Stat(ctx, task.ArtifactID(sha(wav))); err != nil {
		t.Fatalf("the recording is not in the store: %v", err)
	}
}

// The media routes refuse what they cannot relay, each with a 400 (or
// 401) naming the problem; a refused recording is not stored.
func TestMediaRoutesRefuse(t *testing.T) {
	e, _ := newMediaRelayEnv(t)
	ctx := context.Background()
	var apiErr *goopenai.APIError
	check := func(what string, err error, status int, want string) {
		t.Helper()
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != status || !strings.Contains(apiErr.Message, want) {
			t.Errorf("%s: %v, want %d %q", what, err, status, want)
		}
		t.Logf("%s: %v", what, err)
	}
	_, err := e.client("wrong").CreateImage(ctx, goopenai.ImageRequest{Model: "dall-e-3", Prompt: "x"})
	check("a wrong key", err, http.StatusUnauthorized, "")
	c := e.client(mediaKey)
	_, err = c.CreateImage(ctx, goopenai.ImageRequest{Model: "gpt-4o", Prompt: "x"})
	check("a chat model", err, http.StatusBadRequest, "does not offer image-generate")
	_, err = c.CreateImage(ctx, goopenai.ImageRequest{Model: "nope", Prompt: "x"})
	check("an unknown model", err, http.StatusNotFound, "nope")
	_, err = c.CreateSpeech(ctx, goopenai.CreateSpeechRequest{Model: "whisper-1", Input: "x", Voice: goopenai.VoiceNova})
	check("speech from asr", err, http.StatusBadRequest, "does not offer tts")
	png := photoPNG(t, 8, 8)
	_, err = c.CreateTranscription(ctx, goopenai.AudioRequest{Model: "whisper-1", FilePath: "photo.png", Reader: bytes.NewReader(png)})
	check("an image to transcribe", err, http.StatusBadRequest, "not a recording")
	lying := append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), bytes.Repeat([]byte{1}, 64)...)
	_, err = c.CreateTranscription(ctx, goopenai.AudioRequest{Model: "whisper-1", FilePath: "memo.png", Reader: goopenai.WrapReader(bytes.NewReader(lying), "memo.png", "image/png")})
	check("a WAV that says it is a PNG", err, http.StatusBadRequest, "declared as image/png, but the content is audio/wave")
	e.notStored(lying)
	big := openaitest.Speech(strings.Repeat("word ", 400)) // over the 1 MiB limit
	_, err = c.CreateTranscription(ctx, goopenai.AudioRequest{Model: "whisper-1", FilePath: "big.wav", Reader: bytes.NewReader(big)})
	check("a recording over the limit", err, http.StatusBadRequest, "larger than the limit")
	e.notStored(big)
}

// TestOpenAINodeClientMedia drives the relayed media routes with the
// official OpenAI Node client: images.generate, audio.speech.create and
// audio.transcriptions.create (multipart, as it sends it).
func TestOpenAINodeClientMedia(t *testing.T) {
	node := installNodeClient(t)
	e, _ := newMediaRelayEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "media.mjs")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "TR_BASE_URL="+e.url+"/v1", "TR_API_KEY="+mediaKey)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node media.mjs: %v\n%s", err, stderr.String())
	}
	var r struct {
		Image struct {
			Bytes, Width, Height int
			Signature            string
		}
		Speech struct {
			Type, Riff string
			Bytes      int
		}
		Transcript string
		Bad        struct {
			Status       int
			Code, Param  string
			IsBadRequest bool `json:"is_bad_request"`
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("decoding the script's report %q: %v", out, err)
	}
	if r.Image.Signature != "PNG" || r.Image.Width != 32 || r.Image.Height != 24 {
		t.Errorf("image %+v", r.Image)
	}
	if r.Speech.Type != "audio/wav" || r.Speech.Riff != "RIFF" || r.Speech.Bytes < 1000 {
		t.Errorf("speech %+v", r.Speech)
	}
	if r.Transcript != "Bonjour le renard." {
		t.Errorf("transcript %q", r.Transcript)
	}
	if r.Bad.Status != 400 || !r.Bad.IsBadRequest || r.Bad.Code != "invalid_file" || r.Bad.Param != "file" {
		t.Errorf("bad recording %+v", r.Bad)
	}
}

// A chat frontend's image goes, with model "taskrouter", to a remote
// vision model that a planned caption step chose, as an image part.
func TestChatImageToRemoteVisionModel(t *testing.T) {
	e, up := newMediaRelayEnv(t)
	pic := openaitest.Picture("green grass under a blue sky", 24, 16)
	uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pic)
	resp, err := e.client(mediaKey).CreateChatCompletion(context.Background(), goopenai.ChatCompletionRequest{Model: "taskrouter", Messages: []goopenai.ChatCompletionMessage{
		{Role: "user", MultiContent: []goopenai.ChatMessagePart{{Type: goopenai.ChatMessagePartTypeText, Text: "Describe this image"},
			{Type: goopenai.ChatMessagePartTypeImageURL, ImageURL: &goopenai.ChatMessageImageURL{URL: uri}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "A 24x16 PNG picture: a green shape in the middle of a blue background." {
		t.Fatalf("answer %q", got)
	}
	if rec, _ := up.Last("seer"); len(rec.Images) != 1 || !bytes.Equal(rec.Images[0].Data, pic) {
		t.Fatalf("the vision model got %d images", len(rec.Images))
	}
}
