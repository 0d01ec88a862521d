package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/localmodel"
	"github.com/taskrouter/taskrouter/planner"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// mediaEnv is the real pipeline for binary data: embedded NATS with the
// artifact store, executors of the built-in image models, a router
// planning with the rules, jobs, and the HTTP server with the files API.
type mediaEnv struct {
	*env
	store *artifacts.Store
}

const mediaKey = "sk-media"

func newMediaEnv(t *testing.T, maxBytes int64, cfg httpapi.Config) *mediaEnv {
	t.Helper()
	ctx := context.Background()
	b, err := bus.Start(ctx, bus.Config{Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	e := &mediaEnv{env: &env{t: t, bus: b, reg: registry.NewMemory()}}
	if e.store, err = artifacts.Open(ctx, e.connect("artifacts"), artifacts.Config{MaxBytes: maxBytes}); err != nil {
		t.Fatal(err)
	}
	var served []executors.Served
	for _, name := range []string{"local/imageinfo", "local/imageops"} {
		bi, _ := localmodel.Lookup(name)
		served = append(served, executors.Served{Spec: bi.Spec, Model: bi.New()})
	}
	ex, err := executors.Start(ctx, e.connect("executor"), executors.Config{Models: served, Announcer: e.reg, Artifacts: e.store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Stop)
	cat := task.BuiltinCatalog()
	pl, err := planner.New(planner.ModeRules, cat)
	if err != nil {
		t.Fatal(err)
	}
	if e.router, err = router.New(e.connect("router"), e.reg, pl, router.Config{Catalog: cat, Artifacts: e.store, DisableModelMerge: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.router.Close() })
	feed := jobs.NewNATSFeed(e.connect("jobs"))
	if e.jobs, err = jobs.New(jobs.Config{Runner: e.router, Planner: pl, Store: kv.NewMemory(time.Hour), Feed: feed, Broadcast: feed}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.jobs.Close(context.Background()) })
	cfg.Runner, cfg.Models, cfg.Jobs, cfg.Files = e.router, e.reg, e.jobs, e.store
	cfg.APIKeys = append([]string{mediaKey}, cfg.APIKeys...)
	srv, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	e.srv, e.url = srv, "http://"+addr.String()
	return e
}

func photoPNG(t testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload posts a file as OpenAI's clients do: multipart, "file" then "purpose".
func (e *mediaEnv) upload(key, name, mimeType string, data []byte, purpose string) *http.Response {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
	h.Set("Content-Type", mimeType)
	part, _ := mw.CreatePart(h)
	_, _ = part.Write(data)
	if purpose != "" {
		_ = mw.WriteField("purpose", purpose)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/files", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func decodeBody[T any](t *testing.T, resp *http.Response) T {
	t.Helper()
	var v T
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return v
}

type fileObj struct {
	ID, Object, Filename, Purpose, Status string
	Bytes                                 int64
	CreatedAt                             int64  `json:"created_at"`
	ExpiresAt                             int64  `json:"expires_at"`
	MIME                                  string `json:"mime_type"`
}

type mediaErr struct {
	Error struct{ Message, Type, Code, Param string }
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// notStored fails the test when data is in the store.
func (e *mediaEnv) notStored(data []byte) {
	e.t.Helper()
	if _, err := e.store.Stat(context.Background(), task.ArtifactID(sha(data))); !errors.Is(err, artifacts.ErrNotFound) {
		e.t.Fatalf("refused data was stored: %v", err)
	}
}

func TestFilesAPI(t *testing.T) {
	e := newMediaEnv(t, 0, httpapi.Config{})
	photo := photoPNG(t, 64, 48)
	if resp := e.upload("", "photo.png", "image/png", photo, "vision"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an upload without a key: %d", resp.StatusCode)
	}
	resp := e.upload(mediaKey, "photo.png", "application/octet-stream", photo, "vision")
	f := decodeBody[fileObj](t, resp)
	if resp.StatusCode != 200 || f.ID != task.ArtifactID(sha(photo)) || f.Object != "file" || f.Bytes != int64(len(photo)) || f.Filename != "photo.png" ||
		f.Purpose != "vision" || f.MIME != "image/png" || f.Status != "processed" || f.ExpiresAt-f.CreatedAt != 24*3600 {
		t.Fatalf("upload: %d %+v", resp.StatusCode, f)
	}
	got := decodeBody[fileObj](t, e.do("GET", "/v1/files/"+f.ID, mediaKey, nil))
	if got.ID != f.ID || got.Bytes != f.Bytes || got.MIME != "image/png" || got.CreatedAt == 0 {
		t.Fatalf("GET = %+v", got)
	}
	content := e.do("GET", "/v1/files/"+f.ID+"/content", mediaKey, nil)
	data, _ := io.ReadAll(content.Body)
	if content.StatusCode != 200 || content.Header.Get("Content-Type") != "image/png" || !bytes.Equal(data, photo) ||
		content.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("content: %d %v, %d bytes", content.StatusCode, content.Header, len(data))
	}
	if resp := e.do("DELETE", "/v1/files/"+f.ID, mediaKey, nil); resp.StatusCode != 200 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	gone := e.do("GET", "/v1/files/"+f.ID+"/content", mediaKey, nil)
	if er := decodeBody[mediaErr](t, gone); gone.StatusCode != 404 || er.Error.Code != "file_not_found" {
		t.Fatalf("after DELETE: %d %+v", gone.StatusCode, er)
	}
}

func TestFilesAPIBadInput(t *testing.T) {
	e := newMediaEnv(t, 64<<10, httpapi.Config{})
	words := []byte("these are words, not pixels at all")
	for _, c := range []struct {
		name, file, mime string
		data             []byte
		purpose          string
		code, says       string
	}{
		{"a MIME type that lies", "x.png", "image/png", words, "vision", "invalid_file", "declared as image/png, but the content is text/plain"},
		{"an undecodable image", "x.png", "image/png", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), words...), "vision", "invalid_file", "cannot be decoded"},
		{"over the limit", "big.png", "image/png", append(photoPNG(t, 8, 8), make([]byte, 65<<10)...), "vision", "file_too_large", "limit of 65536 bytes"},
		{"no purpose", "x.png", "image/png", photoPNG(t, 4, 4), "", "missing_purpose", "purpose"},
	} {
		resp := e.upload(mediaKey, c.file, c.mime, c.data, c.purpose)
		er := decodeBody[mediaErr](t, resp)
		if resp.StatusCode != 400 || er.Error.Code != c.code || !strings.Contains(er.Error.Message, c.says) {
			t.Errorf("%s: %d %+v", c.name, resp.StatusCode, er)
		}
		if c.code != "missing_purpose" {
			e.notStored(c.data)
		}
	}
}

type chatAnswer struct {
	Choices []struct {
		Message struct{ Content string }
	}
}

var link = regexp.MustCompile(`!\[([^\]]*)\]\((http://[^)]+/v1/files/(art_[0-9a-f]{32})/content)\)`)

// Model "taskrouter" takes an image content part as the request's
// attachment, and the answer links the image it produced.
func TestChatImagePartBecomesAnAttachment(t *testing.T) {
	e := newMediaEnv(t, 0, httpapi.Config{})
	photo := photoPNG(t, 640, 480)
	body := map[string]any{"model": "taskrouter", "messages": []any{map[string]any{"role": "user", "content": []any{
		map[string]any{"type": "text", "text": "What size is this image? Then make it grayscale and 128 px wide."},
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64," + base64.StdEncoding.EncodeToString(photo)}},
	}}}}
	for _, stream := range []bool{false, true} {
		body["stream"] = stream
		resp := e.do("POST", "/v1/chat/completions", mediaKey, body)
		raw, _ := io.ReadAll(resp.Body)
		answer := string(raw)
		if !stream {
			var c chatAnswer
			_ = json.Unmarshal(raw, &c)
			if len(c.Choices) == 1 {
				answer = c.Choices[0].Message.Content
			}
		} else {
			answer = streamedContent(t, answer)
		}
		m := link.FindStringSubmatch(answer)
		if resp.StatusCode != 200 || !strings.Contains(answer, "width: 640") || m == nil || m[1] != "image-edited.png" {
			t.Fatalf("stream %v: %d %s", stream, resp.StatusCode, answer)
		}
		img := fetchPNG(t, m[2])
		if _, gray := img.(*image.Gray); !gray || img.Bounds().Dx() != 128 {
			t.Fatalf("the linked image is a %T of %v", img, img.Bounds())
		}
	}
}

// streamedContent joins the content deltas of an SSE chat stream.
func streamedContent(t *testing.T, sse string) string {
	var b strings.Builder
	for _, line := range strings.Split(sse, "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct{ Delta struct{ Content string } }
		}
		if json.Unmarshal([]byte(data), &chunk) == nil && len(chunk.Choices) > 0 {
			b.WriteString(chunk.Choices[0].Delta.Content)
		}
	}
	return b.String()
}

func fetchPNG(t *testing.T, url string) image.Image {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+mediaKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "image/png" {
		t.Fatalf("Content-Type %q", ct)
	}
	img, err := png.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestChatBadMediaParts(t *testing.T) {
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(photoPNG(t, 32, 32))
	}))
	defer tls.Close()
	e := newMediaEnv(t, 64<<10, httpapi.Config{FetchTimeout: 2 * time.Second})
	words := []byte("these are words, not pixels at all")
	big := append(photoPNG(t, 8, 8), make([]byte, 65<<10)...)
	b64 := base64.StdEncoding.EncodeToString
	for _, c := range []struct {
		name, part, code, says string
		data                   []byte
	}{
		{"undecodable image", `{"type":"image_url","image_url":{"url":"data:image/png;base64,` + b64(append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), words...)) + `"}}`, "invalid_file", "cannot be decoded", nil},
		{"a MIME type that lies", `{"type":"image_url","image_url":{"url":"data:image/png;base64,` + b64(words) + `"}}`, "invalid_file", "content is text/plain", words},
		{"over the limit", `{"type":"image_url","image_url":{"url":"data:image/png;base64,` + b64(big) + `"}}`, "file_too_large", "limit of 65536", big},
		{"not base64", `{"type":"image_url","image_url":{"url":"data:image/png,rawbytes"}}`, "invalid_content", "not base64", nil},
		{"bad base64", `{"type":"image_url","image_url":{"url":"data:image/png;base64,@@@@"}}`, "invalid_content", "not valid base64", nil},
		{"loopback url", `{"type":"image_url","image_url":{"url":"` + tls.URL + `/p.png"}}`, "invalid_content", "public addresses only", nil},
		{"plain http url", `{"type":"image_url","image_url":{"url":"http://example.com/p.png"}}`, "invalid_content", "https URL", nil},
		{"unknown file", `{"type":"file","file":{"file_id":"art_00000000000000000000000000000000"}}`, "invalid_content", "does not exist", nil},
		{"audio that is an image", `{"type":"input_audio","input_audio":{"data":"` + b64(photoPNG(t, 2, 2)) + `","format":"wav"}}`, "invalid_file", "content is image/png", nil},
	} {
		body := `{"model":"taskrouter","messages":[{"role":"user","content":[{"type":"text","text":"What size is this image?"},` + c.part + `]}]}`
		resp := e.do("POST", "/v1/chat/completions", mediaKey, body)
		er := decodeBody[mediaErr](t, resp)
		if resp.StatusCode != 400 || er.Error.Code != c.code || !strings.Contains(er.Error.Message, c.says) || er.Error.Param != "messages[0].content[1]" ||
			!strings.Contains(er.Error.Message, "messages[0].content[1]") {
			t.Errorf("%s: %d %+v", c.name, resp.StatusCode, er)
		}
		if c.data != nil {
			e.notStored(c.data)
		}
	}
}

// An https URL is fetched with the fetch client, here one that trusts a
// test server on loopback: the rules of callbacks allow it by config.
func TestChatFetchesImageURLs(t *testing.T) {
	photo := photoPNG(t, 40, 30)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(photo)
	}))
	defer srv.Close()
	e := newMediaEnv(t, 0, httpapi.Config{FetchClient: srv.Client()})
	body := `{"model":"taskrouter","messages":[{"role":"user","content":[{"type":"text","text":"What size is this image?"},{"type":"image_url","image_url":{"url":"` + srv.URL + `/photo.png"}}]}]}`
	resp := e.do("POST", "/v1/chat/completions", mediaKey, body)
	c := decodeBody[chatAnswer](t, resp)
	if resp.StatusCode != 200 || len(c.Choices) != 1 || !strings.Contains(c.Choices[0].Message.Content, "width: 40") {
		t.Fatalf("%d %+v", resp.StatusCode, c)
	}
	if _, err := e.store.Stat(context.Background(), task.ArtifactID(sha(photo))); err != nil {
		t.Fatalf("the fetched image is not stored: %v", err)
	}
}

// Jobs name uploaded files by id.
func TestJobWithFileIDs(t *testing.T) {
	e := newMediaEnv(t, 0, httpapi.Config{})
	f := decodeBody[fileObj](t, e.upload(mediaKey, "photo.png", "image/png", photoPNG(t, 20, 10), "vision"))
	resp := e.do("POST", "/v1/jobs", mediaKey, map[string]any{"input": "Make it grayscale", "file_ids": []string{f.ID}})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/jobs: %d", resp.StatusCode)
	}
	job := decodeBody[struct{ ID string }](t, resp)
	var j struct {
		Status, Answer string
		Artifacts      []task.ArtifactRef
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		j = decodeBody[struct {
			Status, Answer string
			Artifacts      []task.ArtifactRef
		}](t, e.do("GET", "/v1/jobs/"+job.ID, mediaKey, nil))
		if j.Status == "done" || j.Status == "failed" {
			break
		}
	}
	if j.Status != "done" || len(j.Artifacts) != 1 || j.Artifacts[0].MIME != "image/png" {
		t.Fatalf("job = %+v", j)
	}
	bad := e.do("POST", "/v1/jobs", mediaKey, map[string]any{"input": "x", "file_ids": []string{"art_00000000000000000000000000000000"}})
	if er := decodeBody[mediaErr](t, bad); bad.StatusCode != 404 || er.Error.Code != "file_not_found" || er.Error.Param != "file_ids[0]" {
		t.Fatalf("an unknown file id: %d %+v", bad.StatusCode, er)
	}
}

// A webhook's job names files by id, as a job does.
func TestWebhookWithFileIDs(t *testing.T) {
	secret, err := webhook.ParseSecret(hookSecret)
	if err != nil {
		t.Fatal(err)
	}
	e := newMediaEnv(t, 0, httpapi.Config{Hooks: []httpapi.Hook{{Name: "default", Verifier: webhook.Verifier{Secrets: []webhook.Secret{secret}}}}})
	f := decodeBody[fileObj](t, e.upload(mediaKey, "photo.png", "image/png", photoPNG(t, 30, 20), "vision"))
	body := `{"input":"What size is this image?","file_ids":["` + f.ID + `"]}`
	resp := postHook(t, e.env, "default", signed(secret, "msg_files", time.Now(), body), body)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	id := decodeBody[hookReply](t, resp).ID
	var j struct{ Status, Answer string }
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && j.Status != "done" && j.Status != "failed"; time.Sleep(50 * time.Millisecond) {
		j = decodeBody[struct{ Status, Answer string }](t, e.do("GET", "/v1/jobs/"+id, mediaKey, nil))
	}
	if j.Status != "done" || !strings.Contains(j.Answer, "width: 30") {
		t.Fatalf("job = %+v", j)
	}
	body = `{"input":"x","file_ids":["art_00000000000000000000000000000000"]}`
	if resp := postHook(t, e.env, "default", signed(secret, "msg_nofile", time.Now(), body), body); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a webhook naming an unknown file: %d", resp.StatusCode)
	}
}
