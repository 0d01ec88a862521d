package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/task"
)

// Issue 10: one document of 8,000,000 '[' killed serve, over HTTP (with
// http.max_body_bytes at 8 MiB) and over NATS (on a model's subject), and
// a 4 MB one cost 950 MB of RSS that was not given back. These start the
// real serve process, send such documents, and check that each gets a
// clear invalid_request error, that the process is alive and still
// answers, and that its peak RSS (VmHWM) stays under 200 MB.
func TestServeRefusesDeepJSON(t *testing.T) {
	skipShort(t)
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startServeYAML(t, "nats:\n  listen: "+natsAddr+"\nhttp:\n  addr: 127.0.0.1:0\n  max_body_bytes: 8388608\n")
	deep := bytes.Repeat([]byte("["), 8_000_000)

	s.wantTooDeep(t, deep)
	nc, err := nats.Connect("nats://"+natsAddr, nats.Timeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if max := nc.MaxPayload(); max < int64(len(deep)) {
		t.Fatalf("the embedded server takes %d bytes per message; the test needs %d", max, len(deep))
	}

	// Work on a model's subject gets an error reply from the executor.
	msg, err := nc.Request(task.ModelSubject("local/calc"), deep, time.Minute)
	if err != nil {
		t.Fatalf("work on %s: %v", task.ModelSubject("local/calc"), err)
	}
	var rep task.Reply
	if err := json.Unmarshal(msg.Data, &rep); err != nil || rep.Type != task.ReplyError || rep.Error == nil ||
		rep.Error.Code != task.CodeInvalidRequest || !strings.Contains(rep.Error.Message, "nested more than") {
		t.Fatalf("reply to deep work: %s (%v)", msg.Data, err)
	}

	// A request on tr.v1.req gets a Response with the error: the 8 MB one
	// for its size, a deep one within the size limit for its depth.
	for _, req := range [][]byte{deep, bytes.Repeat([]byte(`{"a":`), 100_000)} {
		resp := natsRequest(t, nc, req)
		if resp.Error == nil || resp.Error.Code != task.CodeInvalidRequest {
			t.Fatalf("response to %d bytes of deep JSON: %+v", len(req), resp.Error)
		}
		if len(req) < 512<<10 && !strings.Contains(resp.Error.Message, "nested more than 128 levels deep") {
			t.Fatalf("response to a deep request: %+v", resp.Error)
		}
	}

	// Still alive, and still answering.
	s.alive(t)
	if resp := natsRequest(t, nc, []byte(`{"input":"What is 2 + 3?"}`)); resp.Error != nil || !strings.Contains(resp.Answer, "= 5") {
		t.Fatalf("a normal request over NATS after the deep ones: %+v", resp)
	}
	s.wantChatAnswer(t)
	s.wantPeakRSSUnder(t, 200<<20)
}

// Four 4 MB bodies at once, under the default body limit, took RSS to
// 2.3 GB; now each is a 400 and the peak stays under 200 MB.
func TestServeRefusesFourDeepBodiesAtOnce(t *testing.T) {
	skipShort(t)
	s := startServeYAML(t, "http:\n  addr: 127.0.0.1:0\n")
	deep := bytes.Repeat([]byte("["), 4_000_000)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.wantTooDeep(t, deep)
		}()
	}
	wg.Wait()
	s.alive(t)
	s.wantChatAnswer(t)
	s.wantPeakRSSUnder(t, 200<<20)
}

// served is a serve process and its HTTP API's URL.
type served struct {
	p   *proc
	url string
}

// startServeYAML starts `taskrouter serve` with cfg (its JetStream store in
// the test's own directory) and waits until it serves.
func startServeYAML(t *testing.T, cfg string) *served {
	t.Helper()
	dir := t.TempDir()
	cfg += "log:\n  level: warn\n"
	if !strings.Contains(cfg, "nats:") {
		cfg = "nats:\n  store_dir: " + filepath.Join(dir, "js") + "\n" + cfg
	} else {
		cfg = strings.Replace(cfg, "nats:\n", "nats:\n  store_dir: "+filepath.Join(dir, "js")+"\n", 1)
	}
	path := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p, url := startServe(t, "serve", nil, path)
	return &served{p: p, url: url}
}

// wantTooDeep posts body as a chat completion and expects a 400
// json_too_deep. The client's timeout only keeps a hung server from
// hanging the test; nothing is asserted about time.
func (s *served) wantTooDeep(t *testing.T, body []byte) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Post(s.url+"/v1/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Errorf("posting %d bytes of deep JSON: %v", len(body), err)
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &e); resp.StatusCode != http.StatusBadRequest || err != nil ||
		e.Error.Code != "json_too_deep" || e.Error.Type != "invalid_request_error" {
		t.Errorf("deep body: %d %s", resp.StatusCode, data)
	}
}

// wantChatAnswer checks that a normal chat completion is answered.
func (s *served) wantChatAnswer(t *testing.T) {
	t.Helper()
	resp, err := http.Post(s.url+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"taskrouter","messages":[{"role":"user","content":"What is 17 * 23 + 4?"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), "395") {
		t.Fatalf("a normal chat completion after the deep ones: %d %s", resp.StatusCode, data)
	}
}

func (s *served) alive(t *testing.T) {
	t.Helper()
	select {
	case <-s.p.done:
		t.Fatalf("serve exited (%v):\n%s", s.p.err, s.p.out.String())
	default:
	}
}

// wantPeakRSSUnder reads the process's peak resident set (VmHWM).
func (s *served) wantPeakRSSUnder(t *testing.T, limit int64) {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			t.Logf("serve's peak RSS: %d MB", kb>>10)
			if kb<<10 > limit {
				t.Fatalf("serve's peak RSS is %d MB, more than %d MB", kb>>10, limit>>20)
			}
			return
		}
	}
	t.Fatal("no VmHWM in /proc/<pid>/status")
}

// natsRequest sends data on tr.v1.req and decodes the Response.
func natsRequest(t *testing.T, nc *nats.Conn, data []byte) task.Response {
	t.Helper()
	msg, err := nc.Request(task.SubjectRequest, data, time.Minute)
	if err != nil {
		t.Fatalf("request on %s: %v", task.SubjectRequest, err)
	}
	var resp task.Response
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		t.Fatalf("decoding the response %.200s: %v", msg.Data, err)
	}
	return resp
}
