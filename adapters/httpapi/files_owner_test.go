package httpapi_test

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/task"
)

const otherKey = "sk-other"

// A file belongs to the keys that uploaded it: another key's DELETE is a
// 404 and leaves it; when two keys uploaded the same bytes, each delete
// releases that key's claim, and the bytes go with the last one.
func TestFilesBelongToTheirUploaders(t *testing.T) {
	e := newMediaEnv(t, 0, httpapi.Config{APIKeys: []string{otherKey}})
	photo := photoPNG(t, 32, 24)
	f := decodeBody[fileObj](t, e.upload(mediaKey, "photo.png", "image/png", photo, "vision"))
	if f.ID == "" {
		t.Fatal("the upload failed")
	}
	del := e.do("DELETE", "/v1/files/"+f.ID, otherKey, nil)
	if er := decodeBody[mediaErr](t, del); del.StatusCode != 404 || er.Error.Code != "file_not_found" {
		t.Fatalf("another key's DELETE: %d %+v", del.StatusCode, er)
	}
	if resp := e.do("GET", "/v1/files/"+f.ID+"/content", mediaKey, nil); resp.StatusCode != 200 {
		t.Fatalf("after another key's DELETE, the uploader's GET: %d", resp.StatusCode)
	}
	// Reading takes the id: another key given it reads the file.
	if resp := e.do("GET", "/v1/files/"+f.ID, otherKey, nil); resp.StatusCode != 200 {
		t.Fatalf("another key's GET: %d", resp.StatusCode)
	}

	if resp := e.upload(otherKey, "same.png", "image/png", photo, "vision"); resp.StatusCode != 200 {
		t.Fatalf("the other key uploading the same bytes: %d", resp.StatusCode)
	}
	if resp := e.do("DELETE", "/v1/files/"+f.ID, mediaKey, nil); resp.StatusCode != 200 {
		t.Fatalf("the first uploader's DELETE: %d", resp.StatusCode)
	}
	if resp := e.do("GET", "/v1/files/"+f.ID+"/content", otherKey, nil); resp.StatusCode != 200 {
		t.Fatalf("the second uploader's file went with the first one's DELETE: %d", resp.StatusCode)
	}
	if resp := e.do("DELETE", "/v1/files/"+f.ID, mediaKey, nil); resp.StatusCode != 404 {
		t.Fatalf("the first uploader's second DELETE: %d, want 404", resp.StatusCode)
	}
	if resp := e.do("DELETE", "/v1/files/"+f.ID, otherKey, nil); resp.StatusCode != 200 {
		t.Fatalf("the last uploader's DELETE: %d", resp.StatusCode)
	}
	e.notStored(photo)
}

// What a request produced has no uploader: the caller who ran it reads
// it by the id in the answer; no key deletes it, it expires.
func TestProducedFilesStayReadable(t *testing.T) {
	e := newMediaEnv(t, 0, httpapi.Config{APIKeys: []string{otherKey}})
	made, err := e.store.Put(context.Background(), task.ArtifactRef{MIME: "text/plain"}, bytesReader("an output"))
	if err != nil {
		t.Fatal(err)
	}
	if resp := e.do("GET", "/v1/files/"+made.ID+"/content", otherKey, nil); resp.StatusCode != 200 {
		t.Fatalf("reading a produced artifact: %d", resp.StatusCode)
	}
	if resp := e.do("DELETE", "/v1/files/"+made.ID, otherKey, nil); resp.StatusCode != 404 {
		t.Fatalf("deleting a produced artifact: %d, want 404", resp.StatusCode)
	}
	if _, err := e.store.Stat(context.Background(), made.ID); err != nil {
		t.Fatalf("the produced artifact went: %v", err)
	}
}

// An upload refused for want of a purpose, which OpenAI's clients send
// after the file, stores nothing, and leaves the same bytes that another
// key uploaded before.
func TestMissingPurposeStoresNothing(t *testing.T) {
	e := newMediaEnv(t, 0, httpapi.Config{APIKeys: []string{otherKey}})
	photo := photoPNG(t, 12, 9)
	resp := e.upload(mediaKey, "x.png", "image/png", photo, "")
	if er := decodeBody[mediaErr](t, resp); resp.StatusCode != 400 || er.Error.Code != "missing_purpose" {
		t.Fatalf("no purpose: %d %+v", resp.StatusCode, er)
	}
	e.notStored(photo)

	kept := photoPNG(t, 14, 9)
	if resp := e.upload(otherKey, "kept.png", "image/png", kept, "vision"); resp.StatusCode != 200 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	if resp := e.upload(mediaKey, "kept.png", "image/png", kept, ""); resp.StatusCode != 400 {
		t.Fatalf("the same bytes without purpose: %d", resp.StatusCode)
	}
	if resp := e.do("GET", "/v1/files/"+task.ArtifactID(sha(kept))+"/content", otherKey, nil); resp.StatusCode != 200 {
		t.Fatalf("another key's file went with a refused upload of the same bytes: %d", resp.StatusCode)
	}
	// Two files in one form: the first one stored is taken back.
	two := photoPNG(t, 16, 9)
	if resp := e.uploadParts(mediaKey, two, photoPNG(t, 18, 9)); resp.StatusCode != 400 {
		t.Fatalf("two files: %d", resp.StatusCode)
	}
	e.notStored(two)
}

// uploadParts posts a form of two file parts and a purpose.
func (e *mediaEnv) uploadParts(key string, files ...[]byte) *http.Response {
	e.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, data := range files {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="file"; filename="x.png"`)
			h.Set("Content-Type", "image/png")
			part, _ := mw.CreatePart(h)
			_, _ = part.Write(data)
		}
		_ = mw.WriteField("purpose", "vision")
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/files", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func bytesReader(s string) io.Reader { return strings.NewReader(s) }
