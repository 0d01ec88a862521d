package artifacts

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	// The image formats taskrouter reads: what Inspect checks and the
	// built-in image models decode.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"

	"github.com/taskrouter/taskrouter/task"
)

// inspectLen is how much of an artifact Inspect reads to check it: an
// image's header lies within it, after any EXIF or colour profile.
const inspectLen = 256 << 10

// Inspect checks binary data that arrives from outside before it is
// stored: the MIME type it declares must not lie about the content
// (sniffed with http.DetectContentType), and data declared as an image
// must be one whose header a decoder reads (PNG, JPEG, GIF, WebP, BMP,
// TIFF). declared may be empty: the type is then sniffed, or taken from
// name's extension when sniffing says only "bytes". It reads the first
// bytes of r and returns a reader of the whole data and the MIME type to
// store it with; an error is a *task.Error with CodeInvalidRequest that
// says what is wrong, after which nothing should be stored.
func Inspect(r io.Reader, declared, name string) (io.Reader, string, error) {
	head := make([]byte, inspectLen)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("reading the data: %w", err)
	}
	head = head[:n]
	if n == 0 {
		return nil, "", task.Errorf(task.CodeInvalidRequest, "the data is empty")
	}
	mt, err := checkContent(head, declared, name, n < inspectLen)
	if err != nil {
		return nil, "", err
	}
	return io.MultiReader(bytes.NewReader(head), r), mt, nil
}

// checkContent returns the MIME type of data starting with head, or why
// its declared type is wrong. whole says head is all of the data.
func checkContent(head []byte, declared, name string, whole bool) (string, error) {
	sniffed := baseType(http.DetectContentType(head))
	declared = baseType(declared)
	if declared == "" {
		declared = sniffed
		if declared == "application/octet-stream" || declared == "text/plain" {
			if byExt := baseType(mime.TypeByExtension(path.Ext(name))); byExt != "" {
				declared = byExt
			}
		}
	}
	if strings.HasPrefix(declared, "image/") && declared != "image/svg+xml" {
		return declared, checkImage(head, declared, whole)
	}
	if lies(declared, sniffed) {
		return "", task.Errorf(task.CodeInvalidRequest, "it is declared as %s, but the content is %s; send the right MIME type", declared, sniffed)
	}
	return declared, nil
}

// imageFormats maps the formats image.DecodeConfig names to MIME types.
var imageFormats = map[string][]string{
	"png": {"image/png"}, "jpeg": {"image/jpeg", "image/jpg", "image/pjpeg"}, "gif": {"image/gif"},
	"webp": {"image/webp"}, "bmp": {"image/bmp", "image/x-ms-bmp"}, "tiff": {"image/tiff"},
}

// checkImage checks that head starts an image of the declared type.
func checkImage(head []byte, declared string, whole bool) error {
	_, format, err := image.DecodeConfig(bytes.NewReader(head))
	if err != nil {
		if !whole && errors.Is(err, io.ErrUnexpectedEOF) {
			return nil // a header longer than inspectLen: the decoder will tell
		}
		if errors.Is(err, image.ErrFormat) {
			if s := baseType(http.DetectContentType(head)); s != "application/octet-stream" {
				return task.Errorf(task.CodeInvalidRequest, "it is declared as %s, but the content is %s; send the right MIME type", declared, s)
			}
			return task.Errorf(task.CodeInvalidRequest, "it is declared as %s, but the content is no image taskrouter can read (PNG, JPEG, GIF, WebP, BMP or TIFF)", declared)
		}
		return task.Errorf(task.CodeInvalidRequest, "it is declared as %s, but the image cannot be decoded: %v", declared, err)
	}
	for _, m := range imageFormats[format] {
		if m == declared {
			return nil
		}
	}
	return task.Errorf(task.CodeInvalidRequest, "it is declared as %s, but the content is a %s image; send %s", declared, strings.ToUpper(format), imageFormats[format][0])
}

// lies reports whether a declared type contradicts the sniffed one: the
// content is an image, audio or video of another kind, or a document or
// archive declared as media.
func lies(declared, sniffed string) bool {
	dk, sk := task.KindOfMIME(declared), task.KindOfMIME(sniffed)
	switch {
	case strings.HasSuffix(declared, "/webm") && strings.HasSuffix(sniffed, "/webm"):
		return false // WebM holds audio, video or both
	case sk != task.TypeFile:
		return sk != dk
	case dk == task.TypeFile:
		return false // documents: zip-based formats sniff as zip, and so on
	}
	switch sniffed {
	case "application/pdf", "application/zip", "application/x-gzip", "application/x-rar-compressed", "text/html", "text/xml", "application/postscript":
		return true
	}
	// Text is no image, audio or video: the sniffer names every binary
	// format it knows, and calls the others application/octet-stream.
	return strings.HasPrefix(sniffed, "text/")
}

// baseType is a media type without parameters, lower case.
func baseType(mt string) string {
	mt, _, _ = strings.Cut(mt, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}
