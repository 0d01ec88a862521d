package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"

	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/task"
)

// artifactStore is what ask needs of the artifact store: to check and
// store the files it attaches, and to fetch what the request produced.
type artifactStore interface {
	Ingest(ctx context.Context, meta task.ArtifactRef, r io.Reader) (task.ArtifactRef, error)
	WriteTo(ctx context.Context, id string, w io.Writer) (task.ArtifactRef, error)
}

// attachFiles stores each file, streaming, and returns the attachments
// that name them. A file whose content contradicts its name's type, or
// that is larger than artifacts.max_bytes, is a usage error.
func attachFiles(ctx context.Context, store artifactStore, paths []string) ([]task.Attachment, error) {
	var out []task.Attachment
	for _, path := range paths {
		ref, err := attachFile(ctx, store, path)
		if err != nil {
			return nil, err
		}
		out = append(out, task.Attachment{Name: ref.Name, MIME: ref.MIME, Artifact: ref.ID, Size: ref.Size})
	}
	return out, nil
}

func attachFile(ctx context.Context, store artifactStore, path string) (task.ArtifactRef, error) {
	f, name, declared, err := openAttachment(path)
	if err != nil {
		return task.ArtifactRef{}, err
	}
	defer f.Close()
	ref, err := store.Ingest(ctx, task.ArtifactRef{Name: name, MIME: declared}, f)
	if err != nil {
		return ref, attachError(path, err)
	}
	return ref, nil
}

// openAttachment opens a file to attach, with its name and the MIME type
// its extension declares.
func openAttachment(path string) (f *os.File, name, declared string, err error) {
	f, err = os.Open(path)
	if err != nil {
		return nil, "", "", usageError{fmt.Sprintf("--file: %v", err)}
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, "", "", usageError{fmt.Sprintf("--file %s is a directory; attach files", path)}
	}
	name = filepath.Base(path)
	return f, name, mime.TypeByExtension(filepath.Ext(name)), nil
}

// attachError: content that lies about its type, or a file over the
// limit, is the user's to fix.
func attachError(path string, err error) error {
	if e := task.AsError(err); e != nil && (e.Code == task.CodeInvalidRequest || e.Code == task.CodeTooLarge) {
		return usageError{fmt.Sprintf("--file %s: %s", path, e.Message)}
	}
	return fmt.Errorf("attaching %s: %w", path, err)
}

// inlineFiles reads the files into attachments that travel inside the
// request, base64 in its JSON, for the router to store: a producer on a
// NATS with logins may not write the artifact store itself. room is what
// the NATS server's max_payload leaves the files of one request; each
// file is checked as the router will check it, so that a lie about its
// type fails here, before anything is sent.
func inlineFiles(paths []string, room int64) ([]task.Attachment, error) {
	var out []task.Attachment
	for _, path := range paths {
		a, err := inlineFile(path, room)
		if err != nil {
			return nil, err
		}
		room -= int64(base64.StdEncoding.EncodedLen(len(a.Data)))
		out = append(out, a)
	}
	return out, nil
}

func inlineFile(path string, room int64) (task.Attachment, error) {
	f, name, declared, err := openAttachment(path)
	if err != nil {
		return task.Attachment{}, err
	}
	defer f.Close()
	checked, mt, err := artifacts.Inspect(f, declared, name)
	if err != nil {
		return task.Attachment{}, attachError(path, err)
	}
	limit := max(room, 0) / 4 * 3 // base64 makes 4 bytes of 3
	data, err := io.ReadAll(io.LimitReader(checked, limit+1))
	switch {
	case err != nil:
		return task.Attachment{}, fmt.Errorf("reading %s: %w", path, err)
	case int64(len(data)) > limit:
		return task.Attachment{}, usageError{fmt.Sprintf("--file %s: over --nats, files travel inside the request, base64, and the NATS server's max_payload "+
			"leaves room for %d more bytes of files in this one; send a smaller file, or raise max_payload (nats-config prints 8MB)", path, limit)}
	case len(data) == 0:
		return task.Attachment{}, usageError{fmt.Sprintf("--file %s is empty; attach a file of at least one byte", path)}
	}
	return task.Attachment{Name: name, MIME: mt, Data: data}, nil
}

// saveArtifacts writes every artifact a response lists into dir, each
// under its name (or its id and an extension of its type), never over an
// existing file, and returns the paths written.
func saveArtifacts(ctx context.Context, store artifactStore, refs []task.ArtifactRef, dir string) ([]string, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	var paths []string
	for _, ref := range refs {
		path, err := saveArtifact(ctx, store, ref, dir)
		if err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func saveArtifact(ctx context.Context, store artifactStore, ref task.ArtifactRef, dir string) (string, error) {
	name := filepath.Base(filepath.Clean("/" + ref.Name))
	if name == "/" || name == "." || strings.HasPrefix(name, ".") {
		name = ref.ID + extensionOf(ref.MIME)
	}
	f, path, err := createFresh(dir, name)
	if err != nil {
		return "", err
	}
	if _, err := store.WriteTo(ctx, ref.ID, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("fetching %s: %w", ref.ID, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// createFresh creates name in dir, or name-2, name-3, ... when it exists.
func createFresh(dir, name string) (*os.File, string, error) {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for n := 1; n < 1000; n++ {
		path := filepath.Join(dir, name)
		if n > 1 {
			path = filepath.Join(dir, fmt.Sprintf("%s-%d%s", base, n, ext))
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("--out: %w", err)
		}
		return f, path, nil
	}
	return nil, "", fmt.Errorf("--out: %s and 998 numbered variants exist in %s", name, dir)
}

// extensionOf is the usual file extension of a MIME type.
func extensionOf(mt string) string {
	switch mt {
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "audio/wav", "audio/wave", "audio/x-wav":
		return ".wav"
	case "audio/mpeg":
		return ".mp3"
	}
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return exts[0]
	}
	return ".bin"
}

// describeSaved is the answer's line about the files written.
func describeSaved(paths []string, refs []task.ArtifactRef) string {
	var b strings.Builder
	for i, p := range paths {
		fmt.Fprintf(&b, "wrote %s (%s, %d bytes, %s)\n", p, refs[i].MIME, refs[i].Size, refs[i].ID)
	}
	return b.String()
}

// describeUnsaved names the artifacts an answer produced that ask could
// not fetch: its NATS login (a producer's) may not read the artifact
// store, but the router's HTTP API serves them by id.
func describeUnsaved(refs []task.ArtifactRef) string {
	var b strings.Builder
	for _, r := range refs {
		fmt.Fprintf(&b, "produced %s (%s, %d bytes): this NATS login may not read the artifact store; fetch it with GET /v1/files/%s/content from the router's HTTP API\n",
			r.ID, r.MIME, r.Size, r.ID)
	}
	return b.String()
}
