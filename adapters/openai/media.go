package openai

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/task"
)

// apis are the values a model's api may take, in the order errors name
// them.
var apis = []string{task.APIChat, task.APIImages, task.APITranscriptions, task.APISpeech}

// defaultAPIs are the APIs the media capabilities go to when a model's
// spec names none; every other capability goes to chat.
var defaultAPIs = map[string]string{
	"image-generate": task.APIImages,
	"image-edit":     task.APIImages,
	"asr":            task.APITranscriptions,
	"tts":            task.APISpeech,
}

// servable says which built-in media capabilities each API can serve:
// chat sees images (caption, vqa, ocr) but makes none, and takes no
// audio here (go-openai has no input_audio parts).
var servable = map[string][]string{
	task.APIChat:           {"caption", "vqa", "ocr"},
	task.APIImages:         {"image-generate", "image-edit"},
	task.APITranscriptions: {"asr"},
	task.APISpeech:         {"tts"},
}

// mediaCapabilities are the built-in capabilities that read or make
// images and audio.
var mediaCapabilities = []string{"caption", "vqa", "ocr", "image-generate", "image-edit", "asr", "tts"}

// CheckAPI reports what is wrong with a spec's api: a value other than
// chat, images, transcriptions or speech, or a built-in media capability
// the API cannot serve (tts through images, caption through speech). A
// capability that is not built in may go through any API: the config
// says what it is.
func CheckAPI(spec task.ModelSpec) error {
	if spec.API == "" {
		return nil
	}
	if !slices.Contains(apis, spec.API) {
		return fmt.Errorf("api %q must be one of %s (or left out: each capability then goes to its own API)", spec.API, strings.Join(apis, ", "))
	}
	for _, c := range spec.Capabilities {
		if slices.Contains(mediaCapabilities, c) && !slices.Contains(servable[spec.API], c) {
			return fmt.Errorf("api %q cannot serve capability %s; %s goes through api %s", spec.API, c, c, defaultAPI(c))
		}
	}
	return nil
}

// defaultAPI is the API a capability goes to when the spec names none.
func defaultAPI(capability string) string {
	if api, ok := defaultAPIs[capability]; ok {
		return api
	}
	return task.APIChat
}

// apiFor is the API the model serves a capability through.
func (m *Model) apiFor(capability string) string {
	if m.spec.API != "" {
		return m.spec.API
	}
	return defaultAPI(capability)
}

// GenerateArtifacts does a subtask that reads or makes images or audio,
// through the API the capability goes to (see apiFor): chat with the
// work's images as image parts (caption, vqa, ocr) or its audio as
// input_audio parts; image generations, or edits when the work brings an
// image; transcriptions; speech. Images and audio the upstream makes are
// stored in store as they arrive and listed in the Output's Artifacts;
// those the work reads are fetched from it. A Work with a media API's
// Body is relayed (see relayMedia). Text work with no artifacts is
// Generate's.
func (m *Model) GenerateArtifacts(ctx context.Context, w task.Work, store task.Artifacts, progress func(delta string)) (task.Output, error) {
	relay := len(w.Body) > 0 && task.IsMediaAPI(w.API)
	api := m.apiFor(w.Capability)
	switch {
	case relay:
		api = w.API
	case api == task.APIChat && len(w.Artifacts) == 0:
		return m.Generate(ctx, w, progress)
	case api == task.APIChat:
		ctx, cancel := m.bound(ctx, w.Deadline)
		defer cancel()
		return m.see(ctx, w, store, progress) // chat has spans of its own
	}
	ctx, cancel := m.bound(ctx, w.Deadline)
	defer cancel()
	ctx, span := m.startMediaSpan(ctx, api)
	var out task.Output
	var err error
	switch {
	case relay:
		out, err = m.relayMedia(ctx, w, store)
	case api == task.APIImages && len(w.Artifacts) > 0:
		out, err = m.editImage(ctx, w, store)
	case api == task.APIImages:
		out, err = m.generateImage(ctx, w, store)
	case api == task.APITranscriptions:
		out, err = m.transcribe(ctx, w, store)
	default:
		out, err = m.speak(ctx, w, store)
	}
	endCallSpan(span, m.upstream, answer{usage: out.Usage}, err)
	return out, err
}

// startMediaSpan starts the span of a call to a media API; nil when
// tracing is off.
func (m *Model) startMediaSpan(ctx context.Context, api string) (context.Context, trace.Span) {
	if m.tracer == nil {
		return ctx, nil
	}
	return m.startSpan(ctx, upstreamCall{operation: api, model: m.upstream})
}

// prompt is the work's input without the placeholders of its artifacts,
// which the upstream gets as files or parts instead.
func prompt(w task.Work) string {
	text := w.Input
	for _, a := range w.Artifacts {
		text = strings.ReplaceAll(text, a.Placeholder(), "")
	}
	return strings.Join(strings.Fields(text), " ")
}

// readArtifact reads one artifact the work lists, whole: for the parts
// of a JSON body, which hold it as base64.
func readArtifact(ctx context.Context, store task.Artifacts, a task.ArtifactRef) ([]byte, task.ArtifactRef, error) {
	rc, ref, err := store.Open(ctx, a.ID)
	if err != nil {
		return nil, ref, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, ref, fmt.Errorf("reading artifact %s: %w", a.ID, err)
	}
	return data, ref, nil
}

// fileName is the name an artifact goes upstream under: its own, or its
// reference with the extension of its type, which servers read the
// format from.
func fileName(a task.ArtifactRef) string {
	if a.Name != "" {
		return a.Name
	}
	base := a.Ref
	if base == "" {
		base = a.Kind()
	}
	return base + extension(a.MIME)
}

// extension is the usual file extension of a media type.
func extension(mime string) string {
	switch strings.ToLower(strings.TrimSpace(strings.SplitN(mime, ";", 2)[0])) {
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "image/webp":
		return ".webp"
	case "image/gif":
		return ".gif"
	case "audio/wav", "audio/x-wav", "audio/wave":
		return ".wav"
	case "audio/mpeg", "audio/mp3":
		return ".mp3"
	case "audio/ogg", "audio/opus":
		return ".ogg"
	case "audio/flac":
		return ".flac"
	case "audio/aac":
		return ".aac"
	case "audio/webm":
		return ".webm"
	case "audio/mp4", "audio/m4a":
		return ".m4a"
	case "audio/pcm", "audio/l16":
		return ".pcm"
	}
	return ""
}

// produced is the Output of a step that stored artifacts: its text names
// them for people and for the steps that read text.
func produced(refs []task.ArtifactRef, text string) task.Output {
	var names []string
	for _, r := range refs {
		names = append(names, r.String())
	}
	out := strings.Join(names, "\n")
	if text != "" {
		out = text + "\n" + out
	}
	return task.Output{Text: out, Artifacts: refs}
}

// stepName starts the names of the files a step makes: its subtask id.
func stepName(w task.Work) string {
	if w.SubtaskID != "" && !strings.ContainsAny(w.SubtaskID, "/\\") {
		return w.SubtaskID
	}
	return "output"
}

// storeErr says why storing what the upstream made failed: the upstream's
// data (not base64, empty, over the limit) or the store.
func (m *Model) storeErr(what string, err error) error {
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) {
		return task.Errorf(task.CodeUpstream, "model %q answered with its %s not in valid base64", m.spec.Name, what)
	}
	if te := (*task.Error)(nil); errors.As(err, &te) {
		e := *te
		e.Message = fmt.Sprintf("model %q: storing its %s: %s", m.spec.Name, what, te.Message)
		return &e
	}
	return task.Errorf(task.CodeUpstream, "model %q: reading its %s: %v", m.spec.Name, what, err)
}
