package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/bus/authtest"
	"github.com/taskrouter/taskrouter/task"
)

// On an embedded NATS with logins, a remote executor logged in as an
// executor runs media steps: it reads the photo a producer's ask sent
// inline and stores the image its model made; it still reaches nothing
// else.
func TestMediaStepsOnASecureEmbeddedNATS(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.Config{Name: t.Name(), Listen: "127.0.0.1:0", StoreDir: t.TempDir(), Auth: bus.Auth{Users: authtest.Users()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	mediaOverSecureNATS(t, b.ClientURL())
}

// The same through Debian's nats-server configured by nats-config.
func TestMediaStepsOnASecureNATSServer(t *testing.T) {
	skipShort(t)
	mediaOverSecureNATS(t, configuredNATSServer(t))
}

// configuredNATSServer starts Debian's nats-server with what nats-config
// prints for authtest's users, and returns its URL.
func configuredNATSServer(t *testing.T) string {
	t.Helper()
	server := natsServerBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	cfg := writeFile(t, dir, "taskrouter.yaml", "nats:\n  store_dir: "+filepath.Join(dir, "js")+"\n"+usersYAML())
	code, conf, errOut := runCLI(t, context.Background(), "nats-config", "--config", cfg, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	if code != exitOK {
		t.Fatalf("nats-config: exit %d: %s", code, errOut)
	}
	p := startProcEnv(t, "nats-server", authtest.Env(), server, "-c", writeFile(t, dir, "nats.conf", conf))
	p.waitOutput(t, "Server is ready", 20*time.Second)
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mediaOverSecureNATS runs a router (router-1) and an executor of the
// image models (exec-a) on the NATS at url, and asks as a producer
// (prod-1) about a photo it attaches.
func mediaOverSecureNATS(t *testing.T, url string) {
	dir := t.TempDir()
	redisURL := redisDB(t)
	vars := map[string]string{}
	for _, kv := range authtest.Env() {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	login := func(user string) string {
		return fmt.Sprintf("nats:\n  url: %s\n  user: %s\n  password_env: %s\n", url, user, passwordEnv(t, user))
	}
	routerCfg := writeFile(t, dir, "router.yaml", login("router-1")+"redis:\n  url: "+redisURL+"\nhttp:\n  addr: \"\"\nexecutors: []\n")
	execCfg := writeFile(t, dir, "exec.yaml", login("exec-a"))
	prodCfg := writeFile(t, dir, "prod.yaml", login("prod-1"))
	ctx, stop := context.WithCancel(context.Background())
	exited := make(chan string, 2)
	go func() {
		code, _, errOut := runCLIEnv(t, ctx, vars, "serve", "--config", routerCfg)
		exited <- fmt.Sprintf("serve: exit %d: %s", code, errOut)
	}()
	go func() {
		code, _, errOut := runCLIEnv(t, ctx, vars, "executor", "--config", execCfg, "--nats", url, "--redis", redisURL,
			"--models", authtest.ModelImageInfo+","+authtest.ModelImageOps)
		exited <- fmt.Sprintf("executor: exit %d: %s", code, errOut)
	}()
	defer func() {
		stop()
		for range 2 {
			if msg := <-exited; !strings.Contains(msg, "exit 0") || t.Failed() {
				t.Errorf("%s", msg)
			}
		}
	}()
	writePhoto(t, filepath.Join(dir, "photo.png"))
	resp := askUntilServed(t, vars, "ask", "--json", "--quiet", "--nats", url, "--config", prodCfg, "--file", filepath.Join(dir, "photo.png"),
		"--out", filepath.Join(dir, "out"), "What size is this image? Then make it grayscale and 128 px wide.")
	if resp.Error != nil || !strings.Contains(resp.Answer, "width: 640") || !strings.Contains(resp.Answer, "height: 480") {
		t.Fatalf("the answer about the photo: %+v", resp)
	}
	if len(resp.Artifacts) != 1 {
		t.Fatalf("the answer lists %d artifacts, want the edited image: %+v", len(resp.Artifacts), resp)
	}
	checkEdited(t, url, resp.Artifacts[0].ID)
	// A producer has no rights on the store: the answer names the image
	// it may fetch over HTTP, and ask writes nothing.
	if entries, _ := os.ReadDir(filepath.Join(dir, "out")); len(entries) > 0 {
		t.Errorf("ask as a producer wrote %d files", len(entries))
	}

	tg := authtest.Target{URL: url}
	tg.Refused(t, "exec-a", "read the jobs bucket", func(nc *nats.Conn) error {
		return nc.Publish("$JS.API.STREAM.INFO.KV_taskrouter_jobs", nil)
	})
	tg.Refused(t, "exec-a", "read the results stream", func(nc *nats.Conn) error {
		return nc.Publish("$JS.API.STREAM.INFO."+bus.ResultsStream, nil)
	})
	tg.Refused(t, "exec-a", "read another executor's inbox", func(nc *nats.Conn) error {
		_, err := nc.SubscribeSync(bus.InboxPrefix("exec-b") + ".>")
		return err
	})
}

// askUntilServed runs ask until the router has seen the executor's
// replica, and returns its Response.
func askUntilServed(t *testing.T, vars map[string]string, args ...string) task.Response {
	t.Helper()
	var resp task.Response
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, out, errOut := runCLIEnv(t, context.Background(), vars, args...)
		resp = task.Response{}
		_ = json.Unmarshal([]byte(out), &resp)
		waiting := code == exitUnavailable || (resp.Error != nil && (resp.Error.Code == task.CodeNoModel || resp.Error.Code == task.CodeModelUnavailable || resp.Error.Code == task.CodeUnavailable))
		if !waiting || time.Now().After(deadline) {
			if code != exitOK && resp.Error == nil {
				t.Fatalf("ask: exit %d\n%s\n%s", code, out, errOut)
			}
			return resp
		}
	}
}

// checkEdited reads, as the router, the image the executor stored: a
// grayscale PNG 128 px wide.
func checkEdited(t *testing.T, url, id string) {
	t.Helper()
	nc, err := nats.Connect(url, authtest.Login("router-1")...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := artifacts.Join(ctx, nc, artifacts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rc, ref, err := store.Open(ctx, id)
	if err != nil {
		t.Fatalf("opening the image the executor made: %v", err)
	}
	defer rc.Close()
	img, err := png.Decode(rc)
	if err != nil || ref.MIME != "image/png" || img.Bounds().Dx() != 128 {
		t.Fatalf("the image the executor made: %s, %v, %v", ref.MIME, img.Bounds(), err)
	}
}

// Over --nats files travel inline: checked as the router checks them,
// and refused, naming max_payload, when the request could not carry them.
func TestInlineFiles(t *testing.T) {
	dir := t.TempDir()
	photo := filepath.Join(dir, "photo.png")
	writePhoto(t, photo)
	st, err := os.Stat(photo)
	if err != nil {
		t.Fatal(err)
	}
	atts, err := inlineFiles([]string{photo}, st.Size()*4/3+8)
	if err != nil || len(atts) != 1 || atts[0].MIME != "image/png" || atts[0].Name != "photo.png" || int64(len(atts[0].Data)) != st.Size() {
		t.Fatalf("inlineFiles = %+v, %v", atts, err)
	}
	lie := writeFile(t, dir, "lie.png", "plain words, not a picture")
	empty := writeFile(t, dir, "empty.txt", "")
	for _, c := range []struct {
		paths []string
		room  int64
		want  string
	}{
		{[]string{photo}, st.Size(), "max_payload leaves room for"},
		{[]string{photo, photo}, st.Size()*4/3 + 8, "more bytes of files in this one"},
		{[]string{lie}, 1 << 20, "declared as image/png, but the content is text/plain"},
		{[]string{empty}, 1 << 20, "is empty"},
		{[]string{dir}, 1 << 20, "is a directory"},
	} {
		_, err := inlineFiles(c.paths, c.room)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("inlineFiles(%v, %d) = %v, want a usage error saying %q", c.paths, c.room, err, c.want)
		}
	}
	note := describeUnsaved([]task.ArtifactRef{{ID: "art_0123", MIME: "image/png", Size: 9}})
	if !strings.Contains(note, "GET /v1/files/art_0123/content") {
		t.Errorf("describeUnsaved = %q", note)
	}
}
