package httpapi

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

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
