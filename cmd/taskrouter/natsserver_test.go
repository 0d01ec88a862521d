package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/bus/authtest"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// usersYAML is nats.users holding authtest's users.
func usersYAML() string {
	var b strings.Builder
	b.WriteString("  users:\n")
	for _, u := range authtest.Users() {
		fmt.Fprintf(&b, "    - {name: %s, role: %s", u.Name, u.Role)
		if u.Nkey != "" {
			fmt.Fprintf(&b, ", nkey: %s", u.Nkey)
		} else {
			fmt.Fprintf(&b, ", password_env: %s", u.PasswordEnv)
		}
		if len(u.Models) > 0 {
			quoted := make([]string, len(u.Models))
			for i, m := range u.Models {
				quoted[i] = strconv.Quote(m)
			}
			fmt.Fprintf(&b, ", models: [%s]", strings.Join(quoted, ", "))
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// passwordEnv is the variable of an authtest user's password.
func passwordEnv(t *testing.T, name string) string {
	for _, u := range authtest.Users() {
		if u.Name == name {
			return u.PasswordEnv
		}
	}
	t.Fatalf("no user %s", name)
	return ""
}

// natsServer starts Debian's nats-server with the configuration that
// `taskrouter nats-config` prints for authtest's users, and returns its URL.
func natsServer(t *testing.T, bin string) string {
	t.Helper()
	return natsServerWith(t, bin, usersYAML(), authtest.Env())
}

// natsServerBinary is Debian's nats-server; the test fails without it.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	server, err := exec.LookPath("nats-server")
	if err != nil {
		if server, err = exec.LookPath("/usr/sbin/nats-server"); err != nil {
			t.Fatal("nats-server is not installed; run scripts/ensure-nats-server (make test does)")
		}
	}
	return server
}

// natsServerWith starts nats-server configured by `taskrouter nats-config`
// for users (the nats.users YAML), their passwords in env.
func natsServerWith(t *testing.T, bin, users string, env []string) string {
	t.Helper()
	server := natsServerBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	cfg := filepath.Join(dir, "taskrouter.yaml")
	yaml := "nats:\n  store_dir: " + filepath.Join(dir, "js") + "\n" + users
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "nats-config", "--config", cfg, "--listen", fmt.Sprintf("127.0.0.1:%d", port)).Output()
	if err != nil {
		t.Fatalf("taskrouter nats-config: %v", err)
	}
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, out, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcEnv(t, "nats-server", env, server, "-c", conf)
	p.waitOutput(t, "Server is ready", 20*time.Second)
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

// A nats-server configured from `taskrouter nats-config` passes the
// roles' suite, and a router, an executor and producers (Go, natscli's
// way, and the nats npm client) work through it with their own users;
// nobody else can serve a model or forge an answer.
func TestDistributedSecureNATSServer(t *testing.T) {
	skipShort(t)
	bin := taskrouterBinary(t)
	url := natsServer(t, bin)
	tg := authtest.Target{URL: url}
	authtest.Run(t, tg)

	redisURL := redisDB(t)
	env := authtest.Env()
	dir := t.TempDir()
	write := func(name, cfg string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	routerCfg := write("router.yaml", fmt.Sprintf("nats:\n  url: %s\n  user: router-1\n  password_env: %s\nredis:\n  url: %s\nhttp:\n  addr: 127.0.0.1:0\n  jobs:\n    store: jetstream\nexecutors: []\nlog:\n  level: info\n",
		url, passwordEnv(t, "router-1"), redisURL))
	rp := startProcEnv(t, "router", env, bin, "serve", "--config", routerCfg)
	rp.waitOutput(t, "taskrouter serving", 30*time.Second)
	execCfg := write("exec.yaml", fmt.Sprintf("nats:\n  user: exec-a\n  password_env: %s\n", passwordEnv(t, "exec-a")))
	ep := startProcEnv(t, "executor", env, bin, "executor", "--config", execCfg, "--nats", url, "--redis", redisURL, "--models", authtest.ModelA)
	ep.waitOutput(t, "taskrouter executor serving", 30*time.Second)

	// The executor user may not serve another model: its process says so.
	bad := startProcEnv(t, "executor-b", env, bin, "executor", "--config", execCfg, "--nats", url, "--redis", redisURL, "--models", authtest.ModelB)
	if code := bad.exitCode(t, 30*time.Second); code != exitUnavailable || !strings.Contains(bad.out.String(), "ermissions") {
		t.Errorf("an executor serving a model its user may not: exit %d\n%s", code, bad.out.String())
	}
	// A rogue client with another executor's login may not join the queue group.
	tg.Refused(t, "exec-b", "serve "+authtest.ModelA, func(nc *nats.Conn) error {
		_, err := nc.QueueSubscribe(task.ModelSubject(authtest.ModelA), authtest.ModelA, func(m *nats.Msg) {
			_ = m.Respond([]byte(`{"type":"result","output":{"text":"forged"}}`))
		})
		return err
	})

	prod := tg.As(t, "prod-1")
	resp := request(t, prod, task.Request{Input: "What is 17 * 23 + 4?"})
	for deadline := time.Now().Add(20 * time.Second); resp.Error != nil && resp.Error.Code == task.CodeNoModel && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond) // the router has not seen the executor's replica yet
		resp = request(t, prod, task.Request{Input: "What is 17 * 23 + 4?"})
	}
	if resp.Error != nil || !strings.Contains(resp.Answer, "395") {
		t.Fatalf("a producer's request: %+v", resp)
	}
	askCfg := write("producer.yaml", fmt.Sprintf("nats:\n  user: prod-1\n  password_env: %s\n", passwordEnv(t, "prod-1")))
	ask := exec.Command(bin, "ask", "--nats", url, "--config", askCfg, "What is 2 + 3?")
	ask.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	ask.Stderr = &stderr
	out, err := ask.Output()
	if err != nil || !strings.Contains(string(out), "5") || !strings.Contains(stderr.String(), "done in") {
		t.Errorf("ask --nats as a producer: %v\nstdout %s\nstderr %s", err, out, stderr.String())
	}
	nodeProducer(t, url)
	services(t, tg)
}

func request(t *testing.T, nc *nats.Conn, req task.Request) task.Response {
	t.Helper()
	data, _ := json.Marshal(req)
	m, err := nc.Request(task.SubjectRequest, data, 30*time.Second)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	var resp task.Response
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		t.Fatalf("response %s: %v", m.Data, err)
	}
	return resp
}

// services: an observer finds the router and the executor by NATS's
// service discovery.
func services(t *testing.T, tg authtest.Target) {
	obs := tg.As(t, "obs")
	for _, name := range []string{router.ServiceName, executors.ServiceName} {
		m, err := obs.Request("$SRV.INFO."+name, nil, 5*time.Second)
		if err != nil {
			t.Errorf("$SRV.INFO.%s: %v", name, err)
			continue
		}
		if !bytes.Contains(m.Data, []byte(`"endpoints"`)) {
			t.Errorf("$SRV.INFO.%s: %s", name, m.Data)
		}
	}
	m, err := obs.Request("$SRV.STATS."+executors.ServiceName, nil, 5*time.Second)
	if err != nil || !bytes.Contains(m.Data, []byte(`"num_requests":`)) || bytes.Contains(m.Data, []byte(`"num_requests":0,`)) {
		t.Errorf("executor stats: %v %s", err, m.Data)
	}
}

// nodeProducer drives the secure bus with the nats npm client: a producer
// with its inbox prefix gets a Response and its events, and is refused
// tr.v1.model.>.
func nodeProducer(t *testing.T, url string) {
	t.Helper()
	node := installNodePackage(t, "testdata/natsnode", "nats")
	cmd := exec.Command(node, "producer.mjs")
	cmd.Dir = "testdata/natsnode"
	cmd.Env = append(os.Environ(), "NATS_URL="+url, "NATS_USER=prod-1", "NATS_PASS=pw-prod-1",
		"INBOX_PREFIX="+bus.InboxPrefix("prod-1"), "INPUT=What is 6 * 7?")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node producer: %v\n%s", err, stderr.String())
	}
	var rep struct {
		Answer  string
		Error   any
		Events  int
		Refused string
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("node producer printed %s: %v", out, err)
	}
	if !strings.Contains(rep.Answer, "42") || rep.Error != nil || rep.Events == 0 || rep.Refused != "PERMISSIONS_VIOLATION" {
		t.Errorf("node producer: %s", out)
	}
}

// installNodePackage runs `npm ci` in dir unless its lockfile's version of
// pkg is installed, and returns node's path. It fails, never skips, when
// node or npm is missing.
func installNodePackage(t *testing.T, dir, pkg string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed; install Node.js 20 or later (this test drives NATS with the nats npm client)")
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil || json.Unmarshal(data, &lock) != nil {
		t.Fatalf("reading %s/package-lock.json: %v", dir, err)
	}
	var installed struct{ Version string }
	data, err = os.ReadFile(filepath.Join(dir, "node_modules", pkg, "package.json"))
	if err == nil && json.Unmarshal(data, &installed) == nil && installed.Version == lock.Packages["node_modules/"+pkg].Version {
		return node
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm is not installed; it installs the nats client this test uses")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s failed (is the npm registry reachable?): %v\n%s", dir, err, out)
	}
	return node
}
