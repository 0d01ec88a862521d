package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/adapters/httpapi/jobs"
	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/task"
)

// mediaPart is a content part that carries binary data, for model
// "taskrouter", which takes it as one of the request's attachments: a
// data: URI or base64 (checked and stored), an https URL (fetched under
// the rules of callbacks), or a file id (looked up).
type mediaPart struct {
	at       string // where it is: messages[1].content[0]
	mime     string // the declared type; empty to sniff
	name     string
	b64      string // inline data, base64
	url      string // an https URL to fetch
	artifact string // a stored file's id
}

// readMediaParts finds the media parts of the messages, in order, and
// reads what each carries. A part it cannot read is a 400 naming it.
func readMediaParts(msgs []task.Message, host string) ([]mediaPart, *apiError) {
	var out []mediaPart
	for i, m := range msgs {
		if len(m.Parts) == 0 {
			continue
		}
		var e *apiError
		k := 0
		gjson.ParseBytes(m.Parts).ForEach(func(_, p gjson.Result) bool {
			at := fmt.Sprintf("messages[%d].content[%d]", i, k)
			k++
			if typ := p.Get("type").Str; typ != "text" {
				var mp mediaPart
				if mp, e = readMediaPart(at, typ, p, host); e == nil {
					out = append(out, mp)
				}
			}
			return e == nil
		})
		if e != nil {
			return nil, e
		}
	}
	return out, nil
}

// readMediaPart reads one part of type image_url, input_audio or file.
func readMediaPart(at, typ string, p gjson.Result, host string) (mediaPart, *apiError) {
	mp := mediaPart{at: at}
	switch typ {
	case "image_url":
		u := p.Get("image_url.url")
		if !u.Exists() {
			u = p.Get("image_url")
		}
		if u.Type != gjson.String || u.Str == "" {
			return mp, badPart(at, "is an image_url part without a url: send {\"type\": \"image_url\", \"image_url\": {\"url\": ...}}")
		}
		return mp, mp.fromURL(u.Str, host)
	case "input_audio":
		data, format := p.Get("input_audio.data"), p.Get("input_audio.format")
		if data.Type != gjson.String || data.Str == "" || format.Type != gjson.String {
			return mp, badPart(at, "is an input_audio part without data and format: send {\"input_audio\": {\"data\": base64, \"format\": \"wav\"}}")
		}
		mp.b64, mp.mime = data.Str, audioMIME(format.Str)
		mp.name = "audio." + format.Str
		return mp, nil
	case "file":
		return mp, mp.fromFile(p.Get("file"))
	}
	return mp, badPart(at, "is of type "+quote(typ)+", which model \"taskrouter\" does not take: send text, image_url, input_audio or file parts")
}

// fromURL reads an image URL: a data: URI, an https URL, or this
// router's own /v1/files/{id}/content link.
func (mp *mediaPart) fromURL(raw, host string) *apiError {
	if strings.HasPrefix(strings.ToLower(raw), "data:") {
		mt, b64, err := parseDataURI(raw)
		if err != nil {
			return badPart(mp.at, err.Error())
		}
		if b64 == "" {
			return badPart(mp.at, "is a data: URI with no data")
		}
		mp.mime, mp.b64, mp.name = mt, b64, "image"
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme != "https" && !(u.Scheme == "http" && u.Host == host) {
		return badPart(mp.at, "has url "+quote(raw)+": send a data: URI, or an https URL")
	}
	if id, ok := ownFile(u, host); ok {
		mp.artifact = id
		return nil
	}
	mp.url, mp.name = raw, path.Base(u.Path)
	return nil
}

// ownFile reports whether u is this router's link to a stored file.
func ownFile(u *url.URL, host string) (string, bool) {
	rest, ok := strings.CutPrefix(u.Path, "/v1/files/")
	id, tail, _ := strings.Cut(rest, "/")
	return id, ok && u.Host == host && tail == "content" && task.ValidArtifactID(id)
}

// fromFile reads a file part: {"file": {"file_id"} or {"file_data", "filename"}}.
func (mp *mediaPart) fromFile(f gjson.Result) *apiError {
	mp.name = f.Get("filename").Str
	if id := f.Get("file_id"); id.Exists() {
		if id.Type != gjson.String || !task.ValidArtifactID(id.Str) {
			return badPart(mp.at, "has file_id "+quote(id.String())+", which is no file of this router: upload it with POST /v1/files first")
		}
		mp.artifact = id.Str
		return nil
	}
	data := f.Get("file_data")
	if data.Type != gjson.String || data.Str == "" {
		return badPart(mp.at, "is a file part without file_id or file_data")
	}
	if strings.HasPrefix(strings.ToLower(data.Str), "data:") {
		mt, b64, err := parseDataURI(data.Str)
		if err != nil {
			return badPart(mp.at, err.Error())
		}
		if b64 == "" {
			return badPart(mp.at, "is a data: URI with no data")
		}
		mp.mime, mp.b64 = mt, b64
		return nil
	}
	mp.b64 = data.Str
	return nil
}

func audioMIME(format string) string {
	switch strings.ToLower(format) {
	case "wav":
		return "audio/wav"
	case "mp3":
		return "audio/mpeg"
	}
	return "audio/" + strings.ToLower(format)
}

func badPart(at, problem string) *apiError {
	return badRequest("invalid_content", at+" "+problem+".").withParam(at)
}

// attach turns media parts into the request's attachments. Inline data
// is checked whole before anything is stored: valid base64, within the
// size limit, of the type it claims. Then it is stored, URLs are fetched
// (each checked as it arrives) and file ids looked up.
func (s *Server) attach(ctx context.Context, parts []mediaPart) ([]task.Attachment, *apiError) {
	for _, p := range parts {
		if p.b64 != "" {
			if e := s.checkInline(p); e != nil {
				return nil, e
			}
		}
	}
	atts := make([]task.Attachment, 0, len(parts))
	for _, p := range parts {
		ref, e := s.storePart(ctx, p)
		if e != nil {
			return nil, e
		}
		atts = append(atts, task.Attachment{Name: ref.Name, MIME: ref.MIME, Artifact: ref.ID, Size: ref.Size})
	}
	return atts, nil
}

// checkInline checks a part's inline data without storing any of it.
func (s *Server) checkInline(p mediaPart) *apiError {
	n, err := io.Copy(io.Discard, decodeBase64(p.b64))
	if err != nil {
		return badPart(p.at, "is not valid base64: "+err.Error())
	}
	if max := s.cfg.Files.MaxBytes(); n > max {
		return badRequest("file_too_large", fmt.Sprintf("%s is %d bytes, more than the limit of %d (artifacts.max_bytes); nothing was stored.", p.at, n, max)).withParam(p.at)
	}
	if _, _, err := artifacts.Inspect(decodeBase64(p.b64), p.mime, p.name); err != nil {
		return s.uploadError(p.at, err)
	}
	return nil
}

// decodeBase64 reads standard base64, padded or not, ignoring line breaks.
func decodeBase64(s string) io.Reader {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	}
	return base64.NewDecoder(base64.RawStdEncoding, strings.NewReader(s))
}

func (s *Server) storePart(ctx context.Context, p mediaPart) (task.ArtifactRef, *apiError) {
	var ref task.ArtifactRef
	var err error
	switch {
	case p.artifact != "":
		if ref, err = s.cfg.Files.Stat(ctx, p.artifact); err != nil {
			if task.AsError(err).Code == task.CodeNotFound {
				return ref, badPart(p.at, "names file "+p.artifact+", which does not exist or has expired")
			}
			return ref, asAPIError(err)
		}
		return ref, nil
	case p.url != "":
		return s.fetchPart(ctx, p)
	}
	if ref, err = s.cfg.Files.Ingest(ctx, task.ArtifactRef{Name: p.name, MIME: p.mime}, decodeBase64(p.b64)); err != nil {
		return ref, s.uploadError(p.at, err)
	}
	return ref, nil
}

// fetchPart fetches an https URL under the rules of callbacks (public
// addresses only, no redirects), within the size limit and FetchTimeout,
// and stores what it gives once it passes the checks.
func (s *Server) fetchPart(ctx context.Context, p mediaPart) (task.ArtifactRef, *apiError) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return task.ArtifactRef{}, badPart(p.at, "has url "+quote(p.url)+", which cannot be fetched: "+err.Error())
	}
	resp, err := s.cfg.FetchClient.Do(req)
	switch {
	case errors.Is(err, jobs.ErrRefusedAddress):
		return task.ArtifactRef{}, badPart(p.at, "has url "+quote(p.url)+", which leads to an address this router does not fetch from (public addresses only): "+err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return task.ArtifactRef{}, badPart(p.at, fmt.Sprintf("has url %s, which did not answer within %s", quote(p.url), s.cfg.FetchTimeout))
	case err != nil:
		return task.ArtifactRef{}, badPart(p.at, "has url "+quote(p.url)+", which could not be fetched: "+err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return task.ArtifactRef{}, badPart(p.at, fmt.Sprintf("has url %s, which answered %d (redirects are not followed)", quote(p.url), resp.StatusCode))
	}
	ref, err := s.cfg.Files.Ingest(ctx, task.ArtifactRef{Name: p.name, MIME: declaredType(resp.Header.Get("Content-Type"))}, resp.Body)
	if err != nil {
		return ref, s.uploadError(p.at, err)
	}
	return ref, nil
}

// withLinks makes the links of an answer to artifacts (the template
// merge writes them relative, /v1/files/{id}/content) absolute, at this
// router, and adds a link to every artifact the request produced that
// the answer does not link to yet: Markdown images for images, plain
// links for the rest.
func withLinks(answer string, refs []task.ArtifactRef, base string) string {
	if len(refs) == 0 {
		return answer
	}
	answer = strings.ReplaceAll(answer, "](/v1/files/", "]("+base+"/v1/files/")
	var b bytes.Buffer
	b.WriteString(strings.TrimRight(answer, "\n"))
	b.WriteString("\n\n")
	for _, a := range refs {
		if strings.Contains(answer, "/v1/files/"+a.ID+"/content") {
			continue
		}
		name := a.Name
		if name == "" {
			name = a.ID
		}
		link := base + "/v1/files/" + a.ID + "/content"
		if a.Kind() == task.TypeImage {
			fmt.Fprintf(&b, "![%s](%s)\n", name, link)
		} else {
			fmt.Fprintf(&b, "[%s](%s)\n", name, link)
		}
	}
	return strings.TrimSpace(b.String())
}

// baseURL is where the client reached this router.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
