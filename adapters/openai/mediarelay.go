package openai

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/adapters/internal/openaibody"
	"github.com/taskrouter/taskrouter/task"
)

// relayMedia sends a caller's own request to a media API upstream as it
// came, but for "model": an images generations body, whose images come
// back stored as artifacts, each b64_json of the answer replaced by the
// id of its artifact (so that the answer travels without the images, and
// whoever writes it to the client puts the base64 back from the store);
// a speech body, whose audio is stored as the
// Output's artifact; a transcriptions body (the form's fields as a JSON
// object) with the recording as the work's artifact, sent upstream as
// multipart, streamed from the store.
func (m *Model) relayMedia(ctx context.Context, w task.Work, store task.Artifacts) (task.Output, error) {
	if !gjson.ValidBytes(w.Body) || !gjson.ParseBytes(w.Body).IsObject() {
		return task.Output{}, task.Errorf(task.CodeInvalidRequest, "model %q: the request body is not a JSON object", m.spec.Name)
	}
	body := openaibody.SetModel(w.Body, m.upstream)
	switch w.API {
	case task.APIImages:
		return m.relayImages(ctx, body, store)
	case task.APISpeech:
		return m.relaySpeech(ctx, body, store)
	}
	return m.relayTranscription(ctx, w, body, store)
}

func (m *Model) relayImages(ctx context.Context, body []byte, store task.Artifacts) (task.Output, error) {
	cctx, call := withCallState(ctx)
	resp, err := m.send(cctx, "/images/generations", "application/json", "", bytes.NewReader(body))
	if err != nil {
		return task.Output{}, m.classify(ctx, cctx, call, err)
	}
	defer resp.Body.Close()
	raw, err := readBounded(resp.Body)
	if err != nil {
		return task.Output{}, m.bodyErr(ctx, cctx, call, err)
	}
	var refs []task.ArtifactRef
	out, err := rewriteImages(raw, func(i int, b64 string) (string, error) {
		ref, err := store.Put(ctx, task.ArtifactRef{Name: fmt.Sprintf("image-%d.png", i+1)}, base64.NewDecoder(base64.StdEncoding, strings.NewReader(b64)))
		if err != nil {
			return "", m.storeErr("image", err)
		}
		refs = append(refs, ref)
		return ref.ID, nil
	})
	if errors.Is(err, errNoImages) {
		return task.Output{}, task.Errorf(task.CodeUpstream, "model %q answered images without a data array; check that base_url points at an OpenAI-compatible API", m.spec.Name)
	}
	if err != nil {
		return task.Output{}, err
	}
	return task.Output{Text: produced(refs, "").Text, Body: out, Artifacts: refs}, nil
}

func (m *Model) relaySpeech(ctx context.Context, body []byte, store task.Artifacts) (task.Output, error) {
	cctx, call := withCallState(ctx)
	resp, err := m.send(cctx, "/audio/speech", "application/json", "", bytes.NewReader(body))
	if err != nil {
		return task.Output{}, m.classify(ctx, cctx, call, err)
	}
	defer resp.Body.Close()
	mt := resp.Header.Get("Content-Type")
	if mt == "" {
		mt = speechFormats[gjson.GetBytes(body, "response_format").Str]
	}
	ref, err := store.Put(ctx, task.ArtifactRef{Name: "speech" + extension(mt), MIME: mt}, resp.Body)
	if err != nil {
		if cctx.Err() != nil {
			return task.Output{}, m.classify(ctx, cctx, call, err)
		}
		return task.Output{}, m.storeErr("speech", err)
	}
	return produced([]task.ArtifactRef{ref}, ""), nil
}

// errNoImages is an images answer with no data array.
var errNoImages = errors.New("no data array")

// rewriteImages reads an images answer and gives each b64_json of its
// data to put, which stores it and returns what stands for it in the
// answer instead; urls stay as they are. The answer is rewritten only
// where it held base64.
func rewriteImages(raw []byte, put func(i int, b64 string) (string, error)) ([]byte, error) {
	var answer map[string]json.RawMessage
	var data []map[string]json.RawMessage
	if json.Unmarshal(raw, &answer) != nil || json.Unmarshal(answer["data"], &data) != nil {
		return nil, errNoImages
	}
	for i, d := range data {
		var b64 string
		if d == nil || json.Unmarshal(d["b64_json"], &b64) != nil || b64 == "" {
			continue // a url: the client fetches it
		}
		id, err := put(i, b64)
		if err != nil {
			return nil, err
		}
		d["b64_json"], _ = json.Marshal(id)
	}
	answer["data"], _ = json.Marshal(data)
	return json.Marshal(answer)
}

// relayTranscription sends the form's fields and the recording upstream
// as multipart, written as it is sent.
func (m *Model) relayTranscription(ctx context.Context, w task.Work, body []byte, store task.Artifacts) (task.Output, error) {
	if len(w.Artifacts) != 1 {
		return task.Output{}, task.Errorf(task.CodeInvalidRequest, "model %q: a transcription needs one recording, and the work brings %d", m.spec.Name, len(w.Artifacts))
	}
	rc, ref, err := store.Open(ctx, w.Artifacts[0].ID)
	if err != nil {
		return task.Output{}, err
	}
	defer rc.Close()
	if w.Artifacts[0].Name != "" {
		ref.Name = w.Artifacts[0].Name
	}
	pr, pw := io.Pipe()
	form := multipart.NewWriter(pw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(writeForm(form, gjson.ParseBytes(body), ref, rc))
	}()
	defer func() {
		pr.Close() // a call that failed early stops the writer
		<-done
	}()
	cctx, call := withCallState(ctx)
	resp, err := m.send(cctx, "/audio/transcriptions", form.FormDataContentType(), "", pr)
	if err != nil {
		return task.Output{}, m.classify(ctx, cctx, call, err)
	}
	defer resp.Body.Close()
	raw, err := readBounded(resp.Body)
	if err != nil {
		return task.Output{}, m.bodyErr(ctx, cctx, call, err)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == "application/json" && gjson.ValidBytes(raw) {
		return task.Output{Text: gjson.GetBytes(raw, "text").Str, Body: raw}, nil
	}
	return task.Output{Text: string(raw)}, nil
}

// writeForm writes the fields of a JSON object (strings, numbers,
// booleans, and arrays of them as repeated fields) and then the file.
func writeForm(form *multipart.Writer, fields gjson.Result, file task.ArtifactRef, r io.Reader) error {
	var err error
	fields.ForEach(func(k, v gjson.Result) bool {
		values := []gjson.Result{v}
		if v.IsArray() {
			values = v.Array()
		}
		for _, e := range values {
			if err = form.WriteField(k.Str, e.String()); err != nil {
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="file"; filename=%q`, fileName(file))}
	h["Content-Type"] = []string{file.MIME}
	part, err := form.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, r); err != nil {
		return err
	}
	return form.Close()
}

// readBounded reads an answer of at most maxRelayBody bytes.
func readBounded(r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxRelayBody+1))
	if err == nil && len(raw) > maxRelayBody {
		return nil, errTooLarge
	}
	return raw, err
}

func (m *Model) bodyErr(ctx, cctx context.Context, call *callState, err error) error {
	if err == errTooLarge {
		return task.Errorf(task.CodeTooLarge, "model %q: %v", m.spec.Name, errTooLarge)
	}
	return m.classify(ctx, cctx, call, err)
}
