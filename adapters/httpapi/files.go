package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
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
	fileOwners
}

// fileOwners keeps which API keys uploaded a file: files are shared by
// content, so an upload claims the file for its key, and a key's delete
// releases its claim; the bytes go with the last claim.
type fileOwners interface {
	// Upload is Ingest, and says whether the bytes were new to the store.
	Upload(ctx context.Context, meta task.ArtifactRef, r io.Reader) (task.ArtifactRef, bool, error)
	Claim(ctx context.Context, id, owner string) error
	// Release fails with a task.CodeNotFound error for a file that owner
	// did not claim.
	Release(ctx context.Context, id, owner string) (gone bool, err error)
	// DeleteUnclaimed deletes a file no key claimed.
	DeleteUnclaimed(ctx context.Context, id string) (gone bool, err error)
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
// store; only a small head of it is held to check its type. The file is
// claimed for the caller's API key once the form is complete; a form
// refused after its file (no purpose, which clients send last) takes
// back what this upload alone stored, never bytes another upload keeps.
func (s *Server) postFile(w http.ResponseWriter, r *http.Request, c caller) {
	if !allow(w, r, http.MethodPost) || !s.filesEnabled(w) {
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, badRequest("invalid_multipart", "Send the file as multipart/form-data with a 'file' part and a 'purpose' field, as OpenAI's files.create does: "+err.Error()+"."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.Files.MaxBytes()+1<<20)
	up := &upload{}
	defer s.takeBack(r.Context(), up)
	if e := s.readUpload(r.Context(), mr, up); e != nil {
		writeError(w, e)
		return
	}
	switch {
	case up.ref.ID == "":
		writeError(w, badRequest("missing_file", "The upload has no 'file' part; send the file as multipart/form-data field 'file'.").withParam("file"))
		return
	case up.purpose == "":
		writeError(w, badRequest("missing_purpose", "Send a 'purpose' field too, such as \"user_data\" or \"vision\", as OpenAI's Files API asks; nothing was stored.").withParam("purpose"))
		return
	}
	if c.owner != "" {
		if err := s.cfg.Files.Claim(r.Context(), up.ref.ID, c.owner); err != nil {
			writeError(w, fileError(up.ref.ID, err))
			return
		}
	}
	up.kept = true
	writeJSON(w, http.StatusOK, newFileObject(up.ref, up.purpose))
}

// upload is a form of POST /v1/files as it is read.
type upload struct {
	ref     task.ArtifactRef
	created bool // the bytes were new to the store
	purpose string
	kept    bool // the upload succeeded: its file stays
}

// readUpload reads the form's parts, storing the file as it streams.
func (s *Server) readUpload(ctx context.Context, mr *multipart.Reader, up *upload) *apiError {
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return s.uploadError("file", err)
		}
		switch part.FormName() {
		case "purpose":
			b, _ := io.ReadAll(io.LimitReader(part, 64))
			up.purpose = strings.TrimSpace(string(b))
		case "file":
			if up.ref.ID != "" {
				return badRequest("too_many_files", "Send one 'file' part per upload; nothing was stored.").withParam("file")
			}
			meta := task.ArtifactRef{Name: part.FileName(), MIME: declaredType(part.Header.Get("Content-Type"))}
			if up.ref, up.created, err = s.cfg.Files.Upload(ctx, meta, part); err != nil {
				return s.uploadError("file", err)
			}
		}
		part.Close()
	}
}

// takeBack deletes the file of a refused upload when the upload stored
// it and no key has claimed it since.
func (s *Server) takeBack(ctx context.Context, up *upload) {
	if up.kept || !up.created {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := s.cfg.Files.DeleteUnclaimed(ctx, up.ref.ID); err != nil {
		s.cfg.Logger.Warn("taking back the file of a refused upload; it expires with artifacts.ttl", "id", up.ref.ID, "err", err)
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

// file answers GET and DELETE /v1/files/{id}. Reading a file takes its
// id, which names its content (a SHA-256): whoever uploaded it, or was
// given the id (the answer that produced it, a shared link), reads it;
// artifacts that models made have no uploader and stay readable so. A
// delete, with API keys, releases the caller key's claim on a file it
// uploaded, and is a 404 to any other key; the bytes go when no key that
// uploaded them keeps them.
func (s *Server) file(w http.ResponseWriter, r *http.Request, c caller) {
	if !allow(w, r, http.MethodGet, http.MethodDelete) || !s.filesEnabled(w) {
		return
	}
	id := r.PathValue("id")
	if r.Method == http.MethodDelete {
		if err := s.deleteFile(r.Context(), id, c); err != nil {
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

// deleteFile deletes a file for c: without API keys, at once; with them,
// as c's release of its upload.
func (s *Server) deleteFile(ctx context.Context, id string, c caller) error {
	if c.owner == "" {
		return s.cfg.Files.Delete(ctx, id)
	}
	_, err := s.cfg.Files.Release(ctx, id, c.owner)
	return err
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
			"No file "+id+" exists for this API key; it may have expired (files are kept for a limited time, artifacts.ttl).").withParam("id")
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
