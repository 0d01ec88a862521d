package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// The OpenAI media endpoints taskrouter relays to a model named in the
// request that declares their capability. Their files travel as
// artifacts: the recording of a transcription is stored on arrival and
// read by the executor from the store; the images and audio the upstream
// makes are stored by the executor and written to the client from the
// store.
var (
	imagesEndpoint         = endpoint{api: task.APIImages, capability: "image-generate", field: "prompt", object: "img"}
	speechEndpoint         = endpoint{api: task.APISpeech, capability: "tts", field: "input", object: "speech"}
	transcriptionsEndpoint = endpoint{api: task.APITranscriptions, capability: "asr", field: "prompt", object: "transcription"}
)

// Bounds of a transcription's form fields besides the file.
const (
	maxFormFields     = 32
	maxFormFieldBytes = 16 << 10
)

// imageGenerations answers POST /v1/images/generations.
func (s *Server) imageGenerations(w http.ResponseWriter, r *http.Request, _ caller) {
	s.relayMediaJSON(w, r, imagesEndpoint)
}

// speech answers POST /v1/audio/speech with the audio itself.
func (s *Server) speech(w http.ResponseWriter, r *http.Request, _ caller) {
	s.relayMediaJSON(w, r, speechEndpoint)
}

// relayMediaJSON relays a media request whose body is JSON.
func (s *Server) relayMediaJSON(w http.ResponseWriter, r *http.Request, ep endpoint) {
	if !allow(w, r, http.MethodPost) || !s.filesEnabled(w) {
		return
	}
	body, e := s.readBody(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	rq, e := ep.decode(body)
	if e == nil && rq.stream {
		e = badRequest("invalid_value", ep.path()+" is not streamed here; leave out 'stream'.").withParam("stream")
	}
	if e != nil {
		writeError(w, e)
		return
	}
	req, e := s.routeTo(r.Context(), rq, ep)
	if e != nil {
		writeError(w, e)
		return
	}
	s.runMedia(w, r, ep, rq.model, req, body)
}

// transcriptions answers POST /v1/audio/transcriptions: multipart, as
// OpenAI's clients send it. The file streams into the artifact store,
// checked against its type; the other fields go to the model as sent.
func (s *Server) transcriptions(w http.ResponseWriter, r *http.Request, _ caller) {
	if !allow(w, r, http.MethodPost) || !s.filesEnabled(w) {
		return
	}
	fields, file, e := s.readTranscriptionForm(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	model, _ := fields["model"].(string)
	if model == "" {
		writeError(w, badRequest("missing_model", "You must provide a model parameter: a name from GET /v1/models whose capabilities include \"asr\".").withParam("model"))
		return
	}
	prompt, _ := fields["prompt"].(string)
	req, e := s.routeTo(r.Context(), relayed{model: model, text: prompt}, transcriptionsEndpoint)
	if e != nil {
		writeError(w, e)
		return
	}
	// The one step reads the recording, the request's attachment. A
	// video container (MP4, WebM) is heard as the audio it holds, as
	// OpenAI's transcriptions take it.
	if sub, isVideo := strings.CutPrefix(file.MIME, "video/"); isVideo {
		file.MIME = "audio/" + sub
	}
	req.Input, req.Plan.Tasks[0].Input = "{{a1}}", "{{a1}}"
	req.Attachments = []task.Attachment{{Artifact: file.ID, Name: file.Name, MIME: file.MIME, Size: file.Size}}
	body, _ := json.Marshal(fields)
	s.runMedia(w, r, transcriptionsEndpoint, model, req, body)
}

// readTranscriptionForm reads the form: the file, stored, and the other
// fields, a field named with [] (timestamp_granularities[]) as a list.
func (s *Server) readTranscriptionForm(w http.ResponseWriter, r *http.Request) (map[string]any, task.ArtifactRef, *apiError) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, task.ArtifactRef{}, badRequest("invalid_multipart", "Send the recording as multipart/form-data with a 'file' part and a 'model' field, as OpenAI's audio.transcriptions.create does: "+err.Error()+".")
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.Files.MaxBytes()+1<<20)
	fields := map[string]any{}
	var file task.ArtifactRef
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, file, s.uploadError("file", err)
		}
		name := part.FormName()
		switch {
		case name == "file" && file.ID != "":
			return nil, file, badRequest("too_many_files", "Send one 'file' part per transcription.").withParam("file")
		case name == "file":
			file, err = s.cfg.Files.Ingest(r.Context(), task.ArtifactRef{Name: part.FileName(), MIME: declaredType(part.Header.Get("Content-Type"))}, part)
			if err != nil {
				return nil, file, s.uploadError("file", err)
			}
			if part.FileName() != "" {
				// The store keeps the name the bytes first came with;
				// the upstream gets this upload's.
				file.Name = part.FileName()
			}
			if k := file.Kind(); k != task.TypeAudio && k != task.TypeVideo {
				return nil, file, badRequest("invalid_file", fmt.Sprintf("file is %s, not a recording; send audio such as WAV, MP3, M4A, OGG or WebM.", file.MIME)).withParam("file")
			}
		case len(fields) >= maxFormFields:
			return nil, file, badRequest("too_many_fields", fmt.Sprintf("The form has more than %d fields.", maxFormFields))
		default:
			value, err := io.ReadAll(io.LimitReader(part, maxFormFieldBytes+1))
			if err != nil || len(value) > maxFormFieldBytes {
				return nil, file, badRequest("invalid_value", fmt.Sprintf("Field '%s' is longer than %d bytes.", name, maxFormFieldBytes)).withParam(name)
			}
			addField(fields, name, string(value))
		}
		part.Close()
	}
	if file.ID == "" {
		return nil, file, badRequest("missing_file", "The request has no 'file' part: send the recording as multipart/form-data field 'file'.").withParam("file")
	}
	return fields, file, nil
}

func addField(fields map[string]any, name, value string) {
	if !strings.HasSuffix(name, "[]") {
		fields[name] = value
		return
	}
	list, _ := fields[name].([]string)
	fields[name] = append(list, value)
}

// runMedia runs a relayed media request and writes the model's answer.
func (s *Server) runMedia(w http.ResponseWriter, r *http.Request, ep endpoint, model string, req task.Request, body []byte) {
	id := task.NewID("")
	req.ID, req.Body, req.API = "req_"+id, body, ep.api
	w.Header().Set("X-Request-Id", req.ID)
	resp := s.cfg.Runner.Handle(r.Context(), req, nil)
	if failed(resp) {
		writeError(w, fromTaskError(resp.Error))
		return
	}
	w.Header().Set(HeaderModel, answeredBy(resp, model))
	switch ep.api {
	case task.APIImages:
		s.writeImages(w, r, resp)
	case task.APISpeech:
		s.writeAudio(w, r, resp)
	default:
		writeTranscript(w, resp, body)
	}
}

// writeImages writes an images answer with every image the executor
// stored put back as its base64, from the store.
func (s *Server) writeImages(w http.ResponseWriter, r *http.Request, resp task.Response) {
	if resp.Body == nil {
		writeError(w, notRelayed(resp, imagesEndpoint))
		return
	}
	out, err := s.inflateImages(r.Context(), resp.Body, resp.Artifacts)
	if err != nil {
		writeError(w, fromTaskError(task.AsError(err)))
		return
	}
	writeBody(w, http.StatusOK, out)
}

// inflateImages replaces each b64_json that names a produced artifact
// with the artifact's bytes in base64.
func (s *Server) inflateImages(ctx context.Context, body []byte, made []task.ArtifactRef) ([]byte, error) {
	var answer map[string]json.RawMessage
	var data []map[string]json.RawMessage
	if json.Unmarshal(body, &answer) != nil || json.Unmarshal(answer["data"], &data) != nil {
		return body, nil // the upstream's own answer, whatever it is
	}
	for _, d := range data {
		var id string
		if json.Unmarshal(d["b64_json"], &id) != nil || !slices.ContainsFunc(made, func(a task.ArtifactRef) bool { return a.ID == id }) {
			continue
		}
		rc, _, err := s.cfg.Files.Open(ctx, id)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		enc := base64.NewEncoder(base64.StdEncoding, &b)
		_, err = io.Copy(enc, rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading image %s: %w", id, err)
		}
		enc.Close()
		d["b64_json"], _ = json.Marshal(b.String())
	}
	answer["data"], _ = json.Marshal(data)
	return json.Marshal(answer)
}

// writeAudio streams the audio the model made from the store, with its
// media type.
func (s *Server) writeAudio(w http.ResponseWriter, r *http.Request, resp task.Response) {
	if len(resp.Artifacts) == 0 {
		writeError(w, notRelayed(resp, speechEndpoint))
		return
	}
	rc, ref, err := s.cfg.Files.Open(r.Context(), resp.Artifacts[0].ID)
	if err != nil {
		writeError(w, fromTaskError(task.AsError(err)))
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", ref.MIME)
	w.Header().Set("Content-Length", strconv.FormatInt(ref.Size, 10))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, rc)
}

// writeTranscript writes a transcription as the upstream answered it:
// its JSON, or the text, srt or vtt it wrote.
func writeTranscript(w http.ResponseWriter, resp task.Response, body []byte) {
	if resp.Body != nil {
		writeBody(w, http.StatusOK, resp.Body)
		return
	}
	var form struct {
		ResponseFormat string `json:"response_format"`
	}
	_ = json.Unmarshal(body, &form)
	ct := "text/plain; charset=utf-8"
	if form.ResponseFormat == "vtt" {
		ct = "text/vtt; charset=utf-8"
	}
	text := resp.Answer
	if len(resp.Subtasks) == 1 {
		text = resp.Subtasks[0].Output // as written, newlines kept
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, text)
}

func notRelayed(resp task.Response, ep endpoint) *apiError {
	return newError(http.StatusBadGateway, typeServer, "not_relayed", "Model '"+answeredBy(resp, "")+
		"' answered without what "+ep.path()+" returns; name a model served by an OpenAI-compatible backend.")
}
