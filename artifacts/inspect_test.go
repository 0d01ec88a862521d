package artifacts

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.White)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// wav is the smallest RIFF WAVE file: a header and no samples.
var wav, _ = base64.StdEncoding.DecodeString("UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=")

func TestInspect(t *testing.T) {
	pngData, jpegData := pngBytes(t, 4, 3), jpegBytes(t)
	for _, c := range []struct {
		name, declared, file string
		data                 []byte
		want                 string // the MIME type, or the error's words after "error:"
	}{
		{"png as png", "image/png", "", pngData, "image/png"},
		{"jpeg as jpg", "image/jpg", "", jpegData, "image/jpg"},
		{"sniffed png", "", "", pngData, "image/png"},
		{"wav", "audio/wav", "", wav, "audio/wav"},
		{"by extension", "", "notes.csv", []byte{0, 1, 2}, "text/csv"},
		{"pdf", "application/pdf", "", []byte("%PDF-1.4\n..."), "application/pdf"},
		{"png declared jpeg", "image/jpeg", "", pngData, "error:content is a PNG image"},
		{"png declared audio", "audio/wav", "", pngData, "error:content is image/png"},
		{"text declared png", "image/png", "", []byte("just some words, not pixels"), "error:content is text/plain"},
		{"garbage declared png", "image/png", "", append([]byte("\x89PNG\r\n\x1a\n"), "\x00\x00\x00\x0dIHDRbroken-header-bytes"...), "error:cannot be decoded"},
		{"truncated png", "image/png", "", pngData[:20], "error:cannot be decoded"},
		{"html declared audio", "audio/mpeg", "", []byte("<html><body>hi</body></html>"), "error:content is text/html"},
		{"text declared audio", "audio/wav", "", []byte("just some words, not sound"), "error:content is text/plain"},
		{"unknown binary declared audio", "audio/flac", "", []byte("fLaC\x00\x00\x00\x22\x10\x00"), "audio/flac"},
		{"params kept out", "image/png; charset=x", "", pngData, "image/png"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, mt, err := Inspect(bytes.NewReader(c.data), c.declared, c.file)
			if want, isErr := strings.CutPrefix(c.want, "error:"); isErr {
				var te *task.Error
				if !errors.As(err, &te) || te.Code != task.CodeInvalidRequest || !strings.Contains(te.Message, want) {
					t.Fatalf("Inspect = %q, %v; want an error saying %q", mt, err, want)
				}
				return
			}
			if err != nil || mt != c.want {
				t.Fatalf("Inspect = %q, %v; want %q", mt, err, c.want)
			}
			if got, _ := io.ReadAll(r); !bytes.Equal(got, c.data) {
				t.Fatalf("the reader gives %d bytes, want the %d given", len(got), len(c.data))
			}
		})
	}
}

// Inspect reads only its head of a long stream before it answers, and the
// reader it returns gives every byte.
func TestInspectStreams(t *testing.T) {
	data := append(pngBytes(t, 600, 400), make([]byte, 2<<20)...)
	r, _, err := Inspect(bytes.NewReader(data), "image/png", "")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	if !bytes.Equal(got, data) {
		t.Fatal("the bytes changed")
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(pngBytes(f, 2, 2), "image/png", "")
	f.Add(jpegBytes(f), "image/jpeg", "a.jpg")
	f.Add(wav, "audio/wav", "")
	f.Add([]byte("GIF89a\x01\x00\x01\x00"), "image/gif", "")
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "image/webp", "")
	f.Add([]byte("BM"), "", "x.bmp")
	f.Add([]byte("II*\x00"), "image/tiff", "")
	f.Fuzz(func(t *testing.T, data []byte, declared, name string) {
		r, mt, err := Inspect(bytes.NewReader(data), declared, name)
		if err != nil {
			var te *task.Error
			if !errors.As(err, &te) || te.Message == "" {
				t.Fatalf("Inspect failed without a task error: %v", err)
			}
			return
		}
		if mt == "" {
			t.Fatal("Inspect accepted data without a MIME type")
		}
		if got, _ := io.ReadAll(r); !bytes.Equal(got, data) {
			t.Fatal("the bytes changed")
		}
	})
}
