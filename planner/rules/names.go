package rules

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// fileTypes maps the file extensions the planner recognizes to payload
// types; any other listed extension is a document.
var fileTypes = map[string]string{
	"jpg": "image", "jpeg": "image", "png": "image", "gif": "image", "bmp": "image", "webp": "image",
	"tif": "image", "tiff": "image", "svg": "image", "heic": "image",
	"mp3": "audio", "wav": "audio", "flac": "audio", "ogg": "audio", "m4a": "audio", "aac": "audio",
	"mp4": "video", "mov": "video", "avi": "video", "mkv": "video", "webm": "video",
	"pdf": "document", "doc": "document", "docx": "document", "txt": "document", "md": "document",
	"rtf": "document", "odt": "document", "html": "document", "htm": "document", "csv": "document",
	"tsv": "document", "xls": "document", "xlsx": "document", "json": "document", "xml": "document",
	"ppt": "document", "pptx": "document",
}

// findURLs returns the spans of the URLs in text: http://, https:// or
// www., up to a space, a quote or CJK punctuation, without a trailing
// full stop or bracket.
func findURLs(text string) [][2]int {
	var out [][2]int
	for i := 0; i < len(text); i++ {
		if c := text[i] | 0x20; c != 'h' && c != 'w' {
			continue
		}
		rest := text[i:]
		if !hasPrefixFold(rest, "http://") && !hasPrefixFold(rest, "https://") && !hasPrefixFold(rest, "www.") {
			continue
		}
		if i > 0 && isNameByte(text[i-1]) {
			continue
		}
		j := i
		for j < len(text) {
			r, size := utf8.DecodeRuneInString(text[j:])
			if unicode.IsSpace(r) || strings.ContainsRune("\"'“”‘’「」『』<>，。、；！？（）", r) {
				break
			}
			j += size
		}
		end := i + len(strings.TrimRight(text[i:j], ".,;:!?)]}"))
		if end > i+len("www.") {
			out = append(out, [2]int{i, end})
		}
		i = j
	}
	return out
}

// findFiles returns the spans of file names in text (example.jpg,
// docs/report.pdf) and their extensions; the extension must be one of
// fileTypes and end the name.
func findFiles(text string) (spans [][2]int, exts []string) {
	for i := 1; i < len(text); i++ {
		if text[i] != '.' || !isNameByte(text[i-1]) || text[i-1] == '.' {
			continue
		}
		j := i + 1
		for j < len(text) && isNameByte(text[j]) && text[j] != '.' && text[j] != '/' && text[j] != '\\' {
			j++
		}
		ext := strings.ToLower(text[i+1 : j])
		if _, ok := fileTypes[ext]; !ok || j < len(text) && text[j] == '-' {
			continue
		}
		start := i
		for start > 0 && (isNameByte(text[start-1]) || text[start-1] == ':') {
			start--
		}
		spans = append(spans, [2]int{start, j})
		exts = append(exts, ext)
		i = j
	}
	return spans, exts
}

// isNameByte reports whether b may be part of a file name or URL host.
func isNameByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("_./\\-", b) >= 0
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// isWholeURL and isWholeFile tell a quoted URL or file name from text.
func isWholeURL(s string) bool {
	spans := findURLs(s)
	return len(spans) == 1 && spans[0] == [2]int{0, len(s)}
}

func wholeFile(s string) (string, bool) {
	spans, exts := findFiles(s)
	if len(spans) == 1 && spans[0] == [2]int{0, len(s)} {
		return exts[0], true
	}
	return "", false
}
