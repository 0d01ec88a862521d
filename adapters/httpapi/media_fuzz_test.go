package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/artifacts/artifactstest"
	"github.com/taskrouter/taskrouter/task"
)

func TestParseDataURI(t *testing.T) {
	for _, c := range []struct{ uri, mt, b64, err string }{
		{"data:image/png;base64,iVBO", "image/png", "iVBO", ""},
		{"DATA:image/jpeg;name=x.jpg;BASE64,AAAA", "image/jpeg", "AAAA", ""},
		{"data:;base64,AA==", "", "AA==", ""},
		{"data:image/png,raw", "", "", "not base64"},
		{"data:image/png;base64", "", "", "without a comma"},
		{"https://x/y.png", "", "", "not a data: URI"},
		{"data:ima ge/png;base64,AA", "", "", "cannot be read"},
	} {
		mt, b64, err := parseDataURI(c.uri)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseDataURI(%q) = %v, want an error saying %q", c.uri, err, c.err)
			}
			continue
		}
		if err != nil || mt != c.mt || b64 != c.b64 {
			t.Errorf("parseDataURI(%q) = %q, %q, %v", c.uri, mt, b64, err)
		}
	}
}

func FuzzParseDataURI(f *testing.F) {
	for _, s := range []string{"data:image/png;base64,iVBO", "data:,x", "data:;base64,", "data:a/b;c=d;base64,QQ==", "data:text/plain;charset=\"x\";base64,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		mt, b64, err := parseDataURI(uri)
		if err == nil && !strings.HasSuffix(uri, b64) {
			t.Fatalf("the data %q is not the end of %q", b64, uri)
		}
		if err == nil && mt != "" && strings.ContainsAny(mt, ";, ") {
			t.Fatalf("media type %q", mt)
		}
		_, _ = io.Copy(io.Discard, decodeBase64(b64)) // must not panic
	})
}

// FuzzReadMediaParts: whatever content parts a client sends, reading them
// either names a part and its problem or gives each media part one source.
func FuzzReadMediaParts(f *testing.F) {
	f.Add([]byte(`[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBO"}}]`), "h")
	f.Add([]byte(`[{"type":"input_audio","input_audio":{"data":"UklG","format":"wav"}},{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE","filename":"a.pdf"}}]`), "h")
	f.Add([]byte(`[{"type":"file","file":{"file_id":"art_0123456789abcdef0123456789abcdef"}},{"type":"image_url","image_url":"https://x.example/p.png"}]`), "h")
	f.Add([]byte(`[{"type":"image_url","image_url":{"url":"http://h/v1/files/art_0123456789abcdef0123456789abcdef/content"}}]`), "h")
	f.Add([]byte(`[{"type":"video","video":{}}]`), "h")
	f.Add([]byte(`[{"type":"image_url","image_url":{"url":"data:image/png;base64,"}},{"type":"file","file":{"file_data":"data:;base64,"}}]`), "h")
	f.Fuzz(func(t *testing.T, parts []byte, host string) {
		if !json.Valid(parts) || task.CheckJSONDepth(parts, task.MaxJSONDepth) != nil {
			return
		}
		var m task.Message
		if m.SetContent(parts) != nil || len(m.Parts) == 0 {
			return
		}
		got, e := readMediaParts([]task.Message{m}, host)
		if e != nil {
			if e.Param == nil || !strings.HasPrefix(*e.Param, "messages[0].content[") || !strings.HasPrefix(e.Message, *e.Param) {
				t.Fatalf("an error that names no part: %+v", e)
			}
			return
		}
		for _, p := range got {
			n := 0
			for _, s := range []string{p.b64, p.url, p.artifact} {
				if s != "" {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("part %+v has %d sources", p, n)
			}
			if p.artifact != "" && !task.ValidArtifactID(p.artifact) {
				t.Fatalf("artifact %q", p.artifact)
			}
		}
	})
}

// FuzzTranscriptionForm: whatever multipart body a client sends to
// /v1/audio/transcriptions, reading it either refuses it with a 400 that
// names the problem or gives a stored recording and bounded fields.
func FuzzTranscriptionForm(f *testing.F) {
	s := &Server{cfg: Config{Files: artifactstest.Store(f, artifacts.Config{MaxBytes: 1 << 16})}}
	wav := "RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00\x00\x7d\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"
	f.Add("--B\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n" + wav + "\r\n--B--\r\n")
	f.Add("--B\r\nContent-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n\r\nword\r\n--B\r\nContent-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n\r\nsegment\r\n--B--\r\n")
	f.Add("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n" + wav + "\r\n--B--\r\n")
	f.Add("--B\r\n\r\n--B--")
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/audio/transcriptions", strings.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
		fields, file, e := s.readTranscriptionForm(httptest.NewRecorder(), r)
		if e != nil {
			if e.Status != http.StatusBadRequest || e.Message == "" {
				t.Fatalf("refused with %+v", e)
			}
			return
		}
		if len(fields) > maxFormFields || !task.ValidArtifactID(file.ID) || (file.Kind() != task.TypeAudio && file.Kind() != task.TypeVideo) {
			t.Fatalf("accepted %d fields and file %+v", len(fields), file)
		}
	})
}
