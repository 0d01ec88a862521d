package artifacts

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// embedded opens a store on a fresh embedded NATS server.
func embedded(t testing.TB, cfg Config) (*Store, *nats.Conn) {
	t.Helper()
	b, err := bus.Start(context.Background(), bus.Config{Name: "artifacts-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	nc, err := b.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, nc
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPutGetStat(t *testing.T) {
	s, _ := embedded(t, Config{})
	ctx := context.Background()
	data := randomBytes(t, 3<<20+17)
	ref, err := s.Put(ctx, task.ArtifactRef{Name: "blob.bin", MIME: "application/octet-stream"}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := task.ArtifactRef{ID: "art_" + hex.EncodeToString(sum[:16]), MIME: "application/octet-stream", Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]), Name: "blob.bin"}
	if ref.Expires.Sub(ref.Stored) != DefaultTTL || time.Since(ref.Stored) > time.Minute {
		t.Fatalf("stored %v, expires %v", ref.Stored, ref.Expires)
	}
	if plain(ref) != want {
		t.Fatalf("Put = %+v, want %+v", ref, want)
	}
	if st, err := s.Stat(ctx, ref.ID); err != nil || plain(st) != want || st.Expires.Sub(st.Stored) != DefaultTTL {
		t.Fatalf("Stat = %+v, %v", st, err)
	}
	var got bytes.Buffer
	if r, err := s.WriteTo(ctx, ref.ID, &got); err != nil || plain(r) != want || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("WriteTo = %+v, %v; %d bytes back, equal %v", r, err, got.Len(), bytes.Equal(got.Bytes(), data))
	}
}

// The same bytes are stored once: a second Put, under another name, gives
// the first one's reference and leaves one object in the bucket.
func TestContentAddressed(t *testing.T) {
	t.Run("small", func(t *testing.T) { testContentAddressed(t, 300<<10) })
	t.Run("large", func(t *testing.T) { testContentAddressed(t, 3<<20) })
}

func testContentAddressed(t *testing.T, size int) {
	s, _ := embedded(t, Config{})
	ctx := context.Background()
	data := randomBytes(t, size)
	var wg sync.WaitGroup
	refs := make([]task.ArtifactRef, 4)
	errs := make([]error, 4)
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refs[i], errs[i] = s.Put(ctx, task.ArtifactRef{MIME: "application/octet-stream"}, bytes.NewReader(data))
		}()
	}
	wg.Wait()
	for i := range refs {
		if errs[i] != nil || refs[i].ID != refs[0].ID {
			t.Fatalf("Put %d = %+v, %v; first %+v", i, refs[i], errs[i], refs[0])
		}
	}
	again, err := s.Put(ctx, task.ArtifactRef{Name: "other.bin"}, bytes.NewReader(data))
	if err != nil || again.ID != refs[0].ID || again.Name != "" {
		t.Fatalf("Put again = %+v, %v", again, err)
	}
	if n := objects(t, s); n != 1 {
		t.Fatalf("the bucket holds %d objects, want 1", n)
	}
}

// objects counts the objects in the store's bucket, deleted ones aside.
func objects(t *testing.T, s *Store) int {
	t.Helper()
	list, err := s.obs.List(context.Background())
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func TestTooLargeIsRefusedAndNothingKept(t *testing.T) {
	s, _ := embedded(t, Config{MaxBytes: 1 << 20})
	_, err := s.Put(context.Background(), task.ArtifactRef{}, bytes.NewReader(randomBytes(t, 1<<20+1)))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1048576 bytes (artifacts.max_bytes)") {
		t.Fatalf("Put over the limit = %v", err)
	}
	if n := objects(t, s); n != 0 {
		t.Fatalf("the bucket holds %d objects after a refused Put", n)
	}
	if _, err := s.Put(context.Background(), task.ArtifactRef{}, bytes.NewReader(randomBytes(t, 1<<20))); err != nil {
		t.Fatalf("Put at the limit: %v", err)
	}
}

func TestUnknownIDs(t *testing.T) {
	s, _ := embedded(t, Config{})
	ctx := context.Background()
	for _, id := range []string{"art_00000000000000000000000000000000", "tmp_x", "../x", ""} {
		if _, err := s.Stat(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want not found", id, err)
		}
		if _, _, err := s.Open(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v, want not found", id, err)
		}
	}
	ref, err := s.Put(ctx, task.ArtifactRef{}, strings.NewReader("hello"))
	if err != nil || ref.MIME != "text/plain; charset=utf-8" {
		t.Fatalf("Put = %+v, %v", ref, err)
	}
	if err := s.Delete(ctx, ref.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, ref.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after Delete = %v", err)
	}
	if _, err := s.Put(ctx, task.ArtifactRef{}, strings.NewReader("")); err == nil {
		t.Fatal("an empty artifact was stored")
	}
}

// A NATS server with the usual max_payload of 1 MiB takes artifacts many
// times larger: they travel in chunks.
func TestSmallMaxPayload(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: t.TempDir(), MaxPayload: 1 << 20, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	s, err := Open(context.Background(), nc, Config{ChunkSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(t, 5<<20)
	ref, err := s.Put(context.Background(), task.ArtifactRef{}, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("storing 5 MiB on a server of 1 MiB payloads: %v", err)
	}
	rc, _, err := s.Open(context.Background(), ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
}

// plain is a reference without the store's times, to compare.
func plain(r task.ArtifactRef) task.ArtifactRef {
	r.Stored, r.Expires = time.Time{}, time.Time{}
	return r
}

// A reader that fails mid-stream fails Put with its own error, and
// nothing is kept.
func TestReaderErrorsPassThrough(t *testing.T) {
	s, _ := embedded(t, Config{})
	boom := errors.New("boom")
	_, err := s.Put(context.Background(), task.ArtifactRef{}, io.MultiReader(bytes.NewReader(randomBytes(t, 300<<10)), iotestErr{boom}))
	if !errors.Is(err, boom) {
		t.Fatalf("Put = %v, want the reader's error", err)
	}
	if n := objects(t, s); n != 0 {
		t.Fatalf("%d objects kept", n)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

// The same bytes stored again after half the TTL are stored anew, so
// they live a whole TTL from then; the old copy's chunks go.
func TestPutRenews(t *testing.T) {
	// A TTL long enough that a put on a busy machine (the race detector,
	// other tests) ends before its own first chunks expire.
	const ttl = 8 * time.Second
	s, _ := embedded(t, Config{TTL: ttl})
	ctx := context.Background()
	data := randomBytes(t, 600<<10)
	first, err := s.Put(ctx, task.ArtifactRef{}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	info1, _ := s.obs.GetInfo(ctx, first.ID)
	time.Sleep(ttl/2 + 100*time.Millisecond)
	again, err := s.Put(ctx, task.ArtifactRef{}, bytes.NewReader(data))
	if err != nil || again.ID != first.ID {
		t.Fatalf("Put again = %+v, %v", again, err)
	}
	info2, _ := s.obs.GetInfo(ctx, first.ID)
	if info2.NUID == info1.NUID {
		t.Fatal("the artifact was not stored anew")
	}
	var got bytes.Buffer
	if _, err := s.WriteTo(ctx, first.ID, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("reading the renewed artifact: %v", err)
	}
	st, err := s.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if chunks := st.State.Msgs - 1; chunks != 3 { // 600 KiB in 256 KiB chunks, and one info
		t.Fatalf("the bucket holds %d chunks, want the 3 of one copy", chunks)
	}
}
