package bus

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A store directory serves one embedded server at a time: a second one on
// it fails at once, naming the directory and the holder; once the first
// closes, the next one starts and finds what the first stored.
func TestStoreDirIsLockedAndKept(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state", "taskrouter")
	first, err := Start(ctx, Config{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	put(t, first, "job_1", "done")

	started := time.Now()
	second, err := Start(ctx, Config{StoreDir: dir})
	var locked *StoreLockedError
	if !errors.As(err, &locked) {
		_ = second.Close()
		t.Fatalf("a second server on the same store dir: %v, want a *StoreLockedError", err)
	}
	if locked.Dir != dir || locked.PID != os.Getpid() || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("error %q (dir %q pid %d), want the directory and pid %d", err, locked.Dir, locked.PID, os.Getpid())
	}
	if waited := time.Since(started); waited > 2*time.Second {
		t.Errorf("the refusal took %s, want it at once", waited)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := Start(ctx, Config{StoreDir: dir})
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	defer third.Close()
	if got := get(t, third, "job_1"); got != "done" {
		t.Fatalf("after a restart the store holds %q, want what was stored before", got)
	}
}

// With a NATS URL there is no local store: nothing is created or locked.
func TestExternalNATSMakesNoStoreDir(t *testing.T) {
	ctx := context.Background()
	server, err := Start(ctx, Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	dir := filepath.Join(t.TempDir(), "unused")
	b, err := Start(ctx, Config{URL: server.ClientURL(), StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("joining a NATS server made the store dir: %v", err)
	}
}

func keyValue(t *testing.T, b *Bus) jetstream.KeyValue {
	t.Helper()
	nc, err := b.Connect("kv")
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateOrUpdateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: "test", Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func put(t *testing.T, b *Bus, key, value string) {
	t.Helper()
	if _, err := keyValue(t, b).Put(context.Background(), key, []byte(value)); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, b *Bus, key string) string {
	t.Helper()
	e, err := keyValue(t, b).Get(context.Background(), key)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return string(e.Value())
}
