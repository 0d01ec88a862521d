package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// FileStore is the artifact store as the files API and attachments use
// it: binary data checked and stored, read back, and deleted.
type FileStore interface {
	fileReader
	fileWriter
	// MaxBytes is the largest file the store takes.
	MaxBytes() int64
}

type fileReader interface {
	Open(ctx context.Context, id string) (io.ReadCloser, task.ArtifactRef, error)
	Stat(ctx context.Context, id string) (task.ArtifactRef, error)
}

type fileWriter interface {
	// Ingest checks data from outside against its declared MIME type and
	// stores it, streaming; nothing is stored when the check fails.
	Ingest(ctx context.Context, meta task.ArtifactRef, r io.Reader) (task.ArtifactRef, error)
	Delete(ctx context.Context, id string) error
}

// fileObject is a file as OpenAI's Files API shows it, plus its MIME type.
// Files are artifacts: content-addressed, so the same bytes uploaded twice
// are one file, and kept for artifacts.ttl.
type fileObject struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Bytes     int64  `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	ExpiresAt int64  `json:"expires_at,omitempty"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"`
	MIMEType  string `json:"mime_type"`
	SHA256    string `json:"sha256,omitempty"`
}

// defaultPurpose is what a file read back says: the store keeps no
// purpose, as files are shared by content.
const defaultPurpose = "user_data"

func newFileObject(ref task.ArtifactRef, purpose string) fileObject {
	f := fileObject{ID: ref.ID, Object: "file", Bytes: ref.Size, Filename: ref.Name, Purpose: purpose,
		Status: "processed", MIMEType: ref.MIME, SHA256: ref.SHA256}
	if !ref.Stored.IsZero() {
		f.CreatedAt = ref.Stored.Unix()
	}
	if !ref.Expires.IsZero() {
		f.ExpiresAt = ref.Expires.Unix()
	}
	if f.Filename == "" {
		f.Filename = ref.ID
	}
	return f
}

// filesEnabled answers 503 when the server has no file store.
func (s *Server) filesEnabled(w http.ResponseWriter) bool {
	if s.cfg.Files != nil {
		return true
	}
	writeError(w, newError(http.StatusServiceUnavailable, typeServer, "files_disabled",
		"This router has no artifact store (its NATS has no JetStream), so it takes no files or attachments."))
	return false
}

// postFile answers POST /v1/files: multipart/form-data with "file" and
// "purpose", as OpenAI's clients send it. The file streams into the
// store; only a small head of it is held to check its type.
func (s *Server) postFile(w http.ResponseWriter, r *http.Request, _ caller) {
	if !allow(w, r, http.MethodPost) || !s.filesEnabled(w) {
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, badRequest("invalid_multipart", "Send the file as multipart/form-data with a 'file' part and a 'purpose' field, as OpenAI's files.create does: "+err.Error()+"."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.Files.MaxBytes()+1<<20)
	var ref task.ArtifactRef
	var purpose string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			writeError(w, s.uploadError("file", err))
			return
		}
		switch part.FormName() {
		case "purpose":
			b, _ := io.ReadAll(io.LimitReader(part, 64))
			purpose = strings.TrimSpace(string(b))
		case "file":
			if ref.ID != "" {
				writeError(w, badRequest("too_many_files", "Send one 'file' part per upload.").withParam("file"))
				return
			}
			if ref, err = s.cfg.Files.Ingest(r.Context(), task.ArtifactRef{Name: part.FileName(), MIME: declaredType(part.Header.Get("Content-Type"))}, part); err != nil {
				writeError(w, s.uploadError("file", err))
				return
			}
		}
		part.Close()
	}
	switch {
	case ref.ID == "":
		writeError(w, badRequest("missing_file", "The upload has no 'file' part; send the file as multipart/form-data field 'file'.").withParam("file"))
	case purpose == "":
		writeError(w, badRequest("missing_purpose", "Send a 'purpose' field too, such as \"user_data\" or \"vision\", as OpenAI's Files API asks.").withParam("purpose"))
	default:
		writeJSON(w, http.StatusOK, newFileObject(ref, purpose))
	}
}

// declaredType is a part's or a response's MIME type as a claim to check:
// application/octet-stream, which clients send when they do not know,
// claims nothing.
func declaredType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt == "application/octet-stream" {
		return ""
	}
	return mt
}

// uploadError says what is wrong with data sent as part at: content that
// contradicts its type, an image that cannot be decoded, data over the
// limit; each a 400 naming the part, as nothing of it was stored.
func (s *Server) uploadError(at string, err error) *apiError {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return badRequest("file_too_large", fmt.Sprintf("%s is larger than the limit of %d bytes (artifacts.max_bytes); nothing was stored.", at, s.cfg.Files.MaxBytes())).withParam(at)
	}
	e := task.AsError(err)
	switch e.Code {
	case task.CodeTooLarge:
		return badRequest("file_too_large", fmt.Sprintf("%s is larger than the limit of %d bytes (artifacts.max_bytes); nothing was stored.", at, s.cfg.Files.MaxBytes())).withParam(at)
	case task.CodeInvalidRequest:
		return badRequest("invalid_file", fmt.Sprintf("%s: %s; nothing was stored.", at, e.Message)).withParam(at)
	case task.CodeInternal:
		return badRequest("unreadable_file", fmt.Sprintf("%s could not be read: %s.", at, e.Message)).withParam(at)
	}
	return fromTaskError(e)
}

// file answers GET and DELETE /v1/files/{id}.
func (s *Server) file(w http.ResponseWriter, r *http.Request, _ caller) {
	if !allow(w, r, http.MethodGet, http.MethodDelete) || !s.filesEnabled(w) {
		return
	}
	id := r.PathValue("id")
	if r.Method == http.MethodDelete {
		if err := s.cfg.Files.Delete(r.Context(), id); err != nil {
			writeError(w, fileError(id, err))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "file", "deleted": true})
		return
	}
	ref, err := s.cfg.Files.Stat(r.Context(), id)
	if err != nil {
		writeError(w, fileError(id, err))
		return
	}
	writeJSON(w, http.StatusOK, newFileObject(ref, defaultPurpose))
}

// fileContent answers GET /v1/files/{id}/content with the bytes, served
// with their MIME type. The browser is told to run nothing in them: an
// uploaded HTML page must not act on this origin.
func (s *Server) fileContent(w http.ResponseWriter, r *http.Request, _ caller) {
	if !allow(w, r, http.MethodGet) || !s.filesEnabled(w) {
		return
	}
	id := r.PathValue("id")
	rc, ref, err := s.cfg.Files.Open(r.Context(), id)
	if err != nil {
		writeError(w, fileError(id, err))
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", ref.MIME)
	h.Set("Content-Length", strconv.FormatInt(ref.Size, 10))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(int(time.Until(ref.Expires).Seconds())))
	if ref.Name != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": ref.Name}))
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		s.cfg.Logger.Debug("serving a file", "id", id, "err", err)
	}
}

func fileError(id string, err error) *apiError {
	if e := task.AsError(err); e.Code == task.CodeNotFound {
		return newError(http.StatusNotFound, typeNotFound, "file_not_found",
			"No file "+id+" exists; it may have expired (files are kept for a limited time, artifacts.ttl).").withParam("id")
	}
	return asAPIError(err)
}

// resolveFiles looks up the files a job names, so that one that does not
// exist is refused when the job is submitted, not when it runs.
func (s *Server) resolveFiles(ctx context.Context, req *task.Request) *apiError {
	if len(req.Attachments) == 0 {
		return nil
	}
	if s.cfg.Files == nil {
		return badRequest("files_disabled", "This router has no artifact store, so jobs cannot name files; leave out file_ids.").withParam("file_ids")
	}
	for i, a := range req.Attachments {
		ref, err := s.cfg.Files.Stat(ctx, a.Artifact)
		if err != nil {
			e := fileError(a.Artifact, err)
			return e.withParam(fmt.Sprintf("file_ids[%d]", i))
		}
		req.Attachments[i] = task.Attachment{Name: ref.Name, MIME: ref.MIME, Artifact: ref.ID, Size: ref.Size}
	}
	return nil
}
