package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nats-config --cluster refuses what would not make a working JetStream
// cluster, saying what to give instead; on one machine it gives each
// server its own ports and store directory.
func TestNATSConfigCluster(t *testing.T) {
	dir := t.TempDir()
	write := func(name, yaml string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	users := "  users:\n    - {name: r, password_env: RPW, role: router}\n"
	withStore := write("store.yaml", "nats:\n  store_dir: /var/lib/nats\n"+users)
	noStore := write("nostore.yaml", "nats:\n"+users)
	ctx := context.Background()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", withStore, "--cluster", "2"}, "at least 3 servers"},
		{[]string{"--config", withStore, "--cluster", "3", "--routes", "a:6222,b:6222"}, "2 addresses for 3 servers"},
		{[]string{"--config", withStore, "--cluster", "3", "--routes", "a:6222,a:6222,b:6222"}, "a:6222 twice"},
		{[]string{"--config", noStore, "--cluster", "3"}, "servers on one machine need nats.store_dir"},
		{[]string{"--config", withStore, "--routes", "a:6222"}, "go with --cluster N"},
	} {
		code, _, errOut := runCLI(t, ctx, append([]string{"nats-config"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("nats-config %v: exit %d, %q; want a usage error saying %q", c.args, code, errOut, c.want)
		}
	}
	code, out, errOut := runCLI(t, ctx, "nats-config", "--config", withStore, "--cluster", "3")
	if code != exitOK {
		t.Fatalf("nats-config --cluster 3: exit %d %s", code, errOut)
	}
	for _, want := range []string{`server_name: "taskrouter-3"`, `listen: "127.0.0.1:4224"`, `store_dir: "/var/lib/nats/taskrouter-2"`,
		`routes: ["nats-route://127.0.0.1:6222", "nats-route://127.0.0.1:6223", "nats-route://127.0.0.1:6224"]`, `listen: "127.0.0.1:6223"`} {
		if !strings.Contains(out, want) {
			t.Errorf("nats-config --cluster 3 lacks %s:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, ctx, "nats-config", "--config", noStore, "--cluster", "3", "--routes", "10.0.0.1:6222,10.0.0.2:6222,10.0.0.3:6222")
	if code != exitOK || strings.Count(out, `listen: "0.0.0.0:4222"`) != 3 || strings.Contains(out, "store_dir") {
		t.Errorf("a cluster on three machines: exit %d\n%s", code, out)
	}
}
