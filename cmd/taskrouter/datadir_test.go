package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestServeDataDirPrecedence(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Windows default is %LOCALAPPDATA%")
	}
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	withStore := DefaultConfig()
	withStore.NATS.StoreDir = "/srv/tr"
	external := DefaultConfig()
	external.NATS.URL = "nats://127.0.0.1:4222"
	both := map[string]string{"XDG_STATE_HOME": "/xdg", "HOME": "/home/ana"}
	for _, c := range []struct {
		name string
		cfg  Config
		flag string
		vars map[string]string
		want string
	}{
		{"flag first", withStore, "/data", both, "/data"},
		{"then nats.store_dir", withStore, "", both, "/srv/tr"},
		{"then XDG_STATE_HOME", DefaultConfig(), "", both, "/xdg/taskrouter"},
		{"a relative XDG_STATE_HOME is ignored", DefaultConfig(), "", map[string]string{"XDG_STATE_HOME": "xdg", "HOME": "/home/ana"}, "/home/ana/.local/state/taskrouter"},
		{"then HOME", DefaultConfig(), "", map[string]string{"HOME": "/home/ana"}, "/home/ana/.local/state/taskrouter"},
		{"none with nats.url", external, "", both, ""},
	} {
		got, err := serveDataDir(c.cfg, c.flag, env(c.vars))
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	var ue usageError
	if _, err := serveDataDir(DefaultConfig(), "", env(nil)); !errors.As(err, &ue) || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("with no HOME: %v, want a usage error naming --data-dir", err)
	}
	if _, err := serveDataDir(external, "/data", env(both)); !errors.As(err, &ue) {
		t.Errorf("--data-dir with nats.url: %v, want a usage error", err)
	}
}

// ask stays ephemeral: it leaves nothing in the user's state directory.
func TestAskKeepsNoState(t *testing.T) {
	state := t.TempDir()
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &strings.Builder{},
		getenv: func(k string) string { return map[string]string{"XDG_STATE_HOME": state, "HOME": state}[k] }}
	if code := run(context.Background(), []string{"ask", "--quiet", "What is 2+3?"}, env); code != exitOK {
		t.Fatalf("ask exited %d: %s", code, env.stderr)
	}
	if entries, _ := os.ReadDir(state); len(entries) != 0 {
		t.Fatalf("ask left %s in the state directory", filepath.Join(state, entries[0].Name()))
	}
}
