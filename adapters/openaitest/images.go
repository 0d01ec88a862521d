package openaitest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The media endpoints the server answers, under its URL's /v1, and where
// it serves the images it answers with a url.
const (
	PathImages         = "/v1/images/generations"
	PathImageEdits     = "/v1/images/edits"
	PathTranscriptions = "/v1/audio/transcriptions"
	PathSpeech         = "/v1/audio/speech"
	PathImageFiles     = "/files/images/"
)

// imagesRequest is the part of an image generations request the server
// reads.
type imagesRequest struct {
	Model          string `json:"model"`
	Prompt         string `json:"prompt"`
	N              int    `json:"n"`
	Size           string `json:"size"`
	ResponseFormat string `json:"response_format"`
}

// images answers POST /v1/images/generations: n pictures of the prompt
// (see Picture), as b64_json or, by default as OpenAI does for DALL-E, as
// a url the server serves.
func (s *Server) images(w http.ResponseWriter, r *http.Request) {
	var ir imagesRequest
	body, m, ok := s.admit(w, r, &ir, func() string { return ir.Model })
	if !ok {
		return
	}
	n := m.calls.Add(1)
	m.remember(Record{Path: PathImages, Model: ir.Model, Authorization: r.Header.Get("Authorization"), Header: r.Header, Body: body,
		Prompt: ir.Prompt, Form: map[string]string{"size": ir.Size, "response_format": ir.ResponseFormat, "n": strconv.Itoa(ir.N)}})
	if !s.admitScripted(w, r, m.script, n) {
		return
	}
	if strings.TrimSpace(ir.Prompt) == "" {
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: "'prompt' is a required property.", typ: "invalid_request_error", param: "prompt"})
		return
	}
	width, height, e := imageSize(ir.Size)
	if e != nil {
		writeAPIError(w, *e)
		return
	}
	pics := make([][]byte, max(ir.N, 1))
	for i := range pics {
		pics[i] = Picture(ir.Prompt, width, height)
	}
	s.writeImages(w, r, pics, ir.ResponseFormat, ir.Prompt)
}

// imageSize reads "WxH"; empty is 64x64, small enough for tests.
func imageSize(size string) (int, int, *apiError) {
	if size == "" || size == "auto" {
		return 64, 64, nil
	}
	ws, hs, _ := strings.Cut(size, "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || w < 1 || h < 1 || w > 2048 || h > 2048 {
		return 0, 0, &apiError{status: http.StatusBadRequest, message: fmt.Sprintf("Invalid size %q: use WIDTHxHEIGHT, such as 256x256, at most 2048 each.", size),
			typ: "invalid_request_error", param: "size"}
	}
	return w, h, nil
}

// writeImages answers with PNGs as OpenAI's images response: b64_json, or
// url (the default) pointing at the server's own PathImageFiles.
func (s *Server) writeImages(w http.ResponseWriter, r *http.Request, pics [][]byte, format, prompt string) {
	if format != "" && format != "url" && format != "b64_json" {
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: fmt.Sprintf("Invalid value %q for 'response_format': use url or b64_json.", format),
			typ: "invalid_request_error", param: "response_format"})
		return
	}
	type datum struct {
		B64JSON       string `json:"b64_json,omitempty"`
		URL           string `json:"url,omitempty"`
		RevisedPrompt string `json:"revised_prompt,omitempty"`
	}
	out := struct {
		Created int64   `json:"created"`
		Data    []datum `json:"data"`
	}{Created: time.Now().Unix()}
	for _, p := range pics {
		d := datum{RevisedPrompt: prompt}
		if format == "b64_json" {
			d.B64JSON = base64.StdEncoding.EncodeToString(p)
		} else {
			d.URL = s.keepImage(r, p)
		}
		out.Data = append(out.Data, d)
	}
	body, _ := json.Marshal(out)
	writeJSON(w, http.StatusOK, body)
}

// keepImage keeps a picture for GET PathImageFiles<id>.png and returns
// its URL.
func (s *Server) keepImage(r *http.Request, pic []byte) string {
	id := "img-" + strconv.FormatInt(s.seq.Add(1), 10) + ".png"
	s.mu.Lock()
	if s.pictures == nil {
		s.pictures = map[string][]byte{}
	}
	s.pictures[id] = pic
	s.mu.Unlock()
	return "http://" + r.Host + PathImageFiles + id
}

// picture serves a picture an images answer gave the url of.
func (s *Server) picture(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	pic, ok := s.pictures[strings.TrimPrefix(r.URL.Path, PathImageFiles)]
	s.mu.RUnlock()
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(pic)))
	_, _ = w.Write(pic)
}

// imageEdits answers POST /v1/images/edits, multipart with the image (as
// "image" or "image[]"), the prompt and the rest: the image with its
// colours inverted, whatever the prompt asks.
func (s *Server) imageEdits(w http.ResponseWriter, r *http.Request) {
	form, m, ok := s.admitForm(w, r)
	if !ok {
		return
	}
	n := m.calls.Add(1)
	fields := formFields(form)
	var imgs []Image
	for _, key := range []string{"image", "image[]"} {
		for _, fh := range form.File[key] {
			data, err := readPart(fh)
			if err != nil {
				writeAPIError(w, apiError{status: http.StatusBadRequest, message: "Could not read the image: " + err.Error(), typ: "invalid_request_error", param: "image"})
				return
			}
			imgs = append(imgs, Image{MIME: fh.Header.Get("Content-Type"), Data: data})
		}
	}
	m.remember(Record{Path: PathImageEdits, Model: fields["model"], Authorization: r.Header.Get("Authorization"), Header: r.Header,
		Prompt: fields["prompt"], Images: imgs, Form: fields})
	if !s.admitScripted(w, r, m.script, n) {
		return
	}
	if len(imgs) == 0 {
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: "'image' is a required property: send it as a file part.", typ: "invalid_request_error", param: "image"})
		return
	}
	pics := make([][]byte, len(imgs))
	for i, img := range imgs {
		out, err := invert(img.Data)
		if err != nil {
			writeAPIError(w, apiError{status: http.StatusBadRequest, message: "Invalid image file: " + err.Error(), typ: "invalid_request_error", param: "image"})
			return
		}
		pics[i] = out
	}
	s.writeImages(w, r, pics, fields["response_format"], fields["prompt"])
}

// admitForm checks the key, reads a multipart body and finds the model
// its "model" field names; it answers the request itself when it cannot
// go on.
func (s *Server) admitForm(w http.ResponseWriter, r *http.Request) (*multipart.Form, *model, bool) {
	if s.apiKey != "" && r.Header.Get("Authorization") != "Bearer "+s.apiKey {
		writeAPIError(w, unauthorized(r))
		return nil, nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseMultipartForm(maxBody); err != nil {
		writeAPIError(w, apiError{status: http.StatusBadRequest, message: "Could not parse multipart form: " + err.Error(), typ: "invalid_request_error"})
		return nil, nil, false
	}
	form := r.MultipartForm
	name := strings.Join(form.Value["model"], "")
	m := s.lookup(name)
	if m == nil {
		m = s.fallback
	}
	if m == nil {
		writeAPIError(w, apiError{status: http.StatusNotFound, message: "The model `" + name + "` does not exist or you do not have access to it.", typ: "invalid_request_error", param: "model", code: "model_not_found"})
		return nil, nil, false
	}
	return form, m, true
}

// formFields returns a form's text fields, the first value of each.
func formFields(f *multipart.Form) map[string]string {
	out := make(map[string]string, len(f.Value))
	for k, v := range f.Value {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

func readPart(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
