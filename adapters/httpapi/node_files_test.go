package httpapi_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
)

// TestOpenAINodeClientFiles uploads, reads and deletes a file with the
// official OpenAI Node client's files API (multipart, as it sends it),
// and sends an image content part to model "taskrouter".
func TestOpenAINodeClientFiles(t *testing.T) {
	node := installNodeClient(t)
	e := newMediaEnv(t, 0, httpapi.Config{})
	photo := photoPNG(t, 320, 200)
	path := filepath.Join(t.TempDir(), "photo.png")
	if err := os.WriteFile(path, photo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "files.mjs")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "TR_BASE_URL="+e.url+"/v1", "TR_API_KEY="+mediaKey, "TR_FILE="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node files.mjs: %v\n%s", err, stderr.String())
	}
	var r struct {
		Created, Retrieved fileObj
		Content            struct {
			Type  string
			Bytes int
			Same  bool
		}
		Chat string
		Bad  struct {
			Status       int
			Code, Param  string
			IsBadRequest bool `json:"is_bad_request"`
		}
		Deleted struct {
			ID      string
			Deleted bool
		}
		Gone struct {
			Status     int
			IsNotFound bool `json:"is_not_found"`
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("decoding the script's report %q: %v", out, err)
	}
	if r.Created.ID != "art_"+sha(photo)[:32] || r.Created.Filename != "photo.png" || r.Created.Purpose != "vision" || r.Created.Bytes != int64(len(photo)) ||
		r.Retrieved.ID != r.Created.ID || r.Retrieved.MIME != "image/png" {
		t.Errorf("created %+v, retrieved %+v", r.Created, r.Retrieved)
	}
	if r.Content.Type != "image/png" || r.Content.Bytes != len(photo) || !r.Content.Same {
		t.Errorf("content = %+v", r.Content)
	}
	if !strings.Contains(r.Chat, "width: 320") || !link.MatchString(r.Chat) {
		t.Errorf("chat answer = %q", r.Chat)
	}
	if r.Bad.Status != 400 || !r.Bad.IsBadRequest || r.Bad.Code != "invalid_file" || r.Bad.Param != "messages[0].content[1]" {
		t.Errorf("bad image = %+v", r.Bad)
	}
	if r.Deleted.ID != r.Created.ID || !r.Deleted.Deleted || r.Gone.Status != 404 || !r.Gone.IsNotFound {
		t.Errorf("deleted %+v, then %+v", r.Deleted, r.Gone)
	}
}
