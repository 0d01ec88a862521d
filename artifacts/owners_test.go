package artifacts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// Two owners of the same bytes share one artifact: each release takes
// back its claim, and the bytes go with the last one; someone who never
// claimed it cannot release it.
func TestClaimAndRelease(t *testing.T) {
	s, _ := embedded(t, Config{})
	ctx := context.Background()
	data := randomBytes(t, 300<<10)
	ref, err := s.Put(ctx, task.ArtifactRef{MIME: "application/octet-stream"}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"key-a", "key-b", "key-a"} {
		if err := s.Claim(ctx, ref.ID, o); err != nil {
			t.Fatalf("Claim %s: %v", o, err)
		}
	}
	if owners, err := s.Owners(ctx, ref.ID); err != nil || !slices.Equal(owners, []string{"key-a", "key-b"}) {
		t.Fatalf("Owners = %v, %v", owners, err)
	}
	if gone, err := s.Release(ctx, ref.ID, "key-c"); !errors.Is(err, ErrNotFound) || gone {
		t.Fatalf("Release by a stranger = %v, %v; want ErrNotFound", gone, err)
	}
	if gone, err := s.Release(ctx, ref.ID, "key-a"); err != nil || gone {
		t.Fatalf("Release by key-a = %v, %v; want kept for key-b", gone, err)
	}
	if _, err := s.Release(ctx, ref.ID, "key-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a second Release by key-a = %v; want ErrNotFound", err)
	}
	var got bytes.Buffer
	if st, err := s.WriteTo(ctx, ref.ID, &got); err != nil || !bytes.Equal(got.Bytes(), data) || !st.Stored.Equal(ref.Stored) {
		t.Fatalf("reading after key-a's release: %+v, %v (stored %v, was %v)", st, err, st.Stored, ref.Stored)
	}
	if gone, err := s.Release(ctx, ref.ID, "key-b"); err != nil || !gone {
		t.Fatalf("Release by the last owner = %v, %v; want gone", gone, err)
	}
	if _, err := s.Stat(ctx, ref.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after the last release = %v", err)
	}
	st, err := s.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.State.Msgs != 1 { // the delete marker
		t.Fatalf("the bucket holds %d messages after the last release, want the delete marker only", st.State.Msgs)
	}
}

// Claims at once from many owners are all kept: an update that raced
// another is retried, not lost.
func TestConcurrentClaims(t *testing.T) {
	s, _ := embedded(t, Config{})
	ctx := context.Background()
	ref, err := s.Put(ctx, task.ArtifactRef{MIME: "text/plain"}, bytes.NewReader([]byte("shared")))
	if err != nil {
		t.Fatal(err)
	}
	owners := []string{"o1", "o2", "o3", "o4", "o5", "o6"}
	var wg sync.WaitGroup
	for _, o := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Claim(ctx, ref.ID, o); err != nil {
				t.Errorf("Claim %s: %v", o, err)
			}
		}()
	}
	wg.Wait()
	got, err := s.Owners(ctx, ref.ID)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, owners) {
		t.Fatalf("Owners = %v, %v; want %v", got, err, owners)
	}
}

// An upload that stored new bytes can take them back, unless someone
// claimed them meanwhile; bytes that were there before it are not new.
func TestUploadAndDeleteUnclaimed(t *testing.T) {
	s, _ := embedded(t, Config{})
	ctx := context.Background()
	ref, created, err := s.Upload(ctx, task.ArtifactRef{Name: "a.txt", MIME: "text/plain"}, bytes.NewReader([]byte("first")))
	if err != nil || !created {
		t.Fatalf("Upload of new bytes = %+v, created %v, %v", ref, created, err)
	}
	if _, again, err := s.Upload(ctx, task.ArtifactRef{Name: "a.txt", MIME: "text/plain"}, bytes.NewReader([]byte("first"))); err != nil || again {
		t.Fatalf("Upload of the same bytes: created %v, %v; want not created", again, err)
	}
	if err := s.Claim(ctx, ref.ID, "key-a"); err != nil {
		t.Fatal(err)
	}
	if gone, err := s.DeleteUnclaimed(ctx, ref.ID); err != nil || gone {
		t.Fatalf("DeleteUnclaimed of a claimed artifact = %v, %v", gone, err)
	}
	if _, err := s.Stat(ctx, ref.ID); err != nil {
		t.Fatalf("the claimed artifact went: %v", err)
	}
	other, _, err := s.Upload(ctx, task.ArtifactRef{MIME: "text/plain"}, bytes.NewReader([]byte("second")))
	if err != nil {
		t.Fatal(err)
	}
	if gone, err := s.DeleteUnclaimed(ctx, other.ID); err != nil || !gone {
		t.Fatalf("DeleteUnclaimed of an unclaimed artifact = %v, %v", gone, err)
	}
	if _, err := s.Stat(ctx, other.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after DeleteUnclaimed = %v", err)
	}
}

// Info that names other bytes than its id (replaced by a writer of the
// bucket) is not served: the reader would check the bytes against the
// replaced digest only.
func TestForgedInfoIsRefused(t *testing.T) {
	s, _ := embedded(t, Config{})
	ctx := context.Background()
	good, err := s.Put(ctx, task.ArtifactRef{MIME: "text/plain"}, bytes.NewReader([]byte("genuine")))
	if err != nil {
		t.Fatal(err)
	}
	evil, err := s.Put(ctx, task.ArtifactRef{MIME: "text/plain"}, bytes.NewReader([]byte("forged")))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.obs.GetInfo(ctx, evil.ID)
	if err != nil {
		t.Fatal(err)
	}
	info.Name = good.ID // the forged bytes' chunks and digest, under the genuine id
	if err := s.publishInfo(ctx, info); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, good.ID); task.AsError(err).Code != task.CodeUnavailable {
		t.Fatalf("Open of a forged artifact = %v, want unavailable", err)
	}
	if _, err := s.Stat(ctx, good.ID); task.AsError(err).Code != task.CodeUnavailable {
		t.Fatalf("Stat of a forged artifact = %v, want unavailable", err)
	}
	// The genuine bytes stored again replace the forged info.
	if _, err := s.Put(ctx, task.ArtifactRef{MIME: "text/plain"}, bytes.NewReader([]byte("genuine"))); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := s.WriteTo(ctx, good.ID, &got); err != nil || got.String() != "genuine" {
		t.Fatalf("after storing the genuine bytes again: %q, %v", got.String(), err)
	}
}

// A store that joined the bucket stores and reads as the router's does,
// but purges nothing: the chunks of a failed put stay until they expire.
func TestJoinedStoreDoesNotPurge(t *testing.T) {
	s, nc := embedded(t, Config{MaxBytes: 1 << 20})
	ctx := context.Background()
	j, err := Join(ctx, nc, Config{MaxBytes: 1 << 20, TTL: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	if j.purges || !s.purges {
		t.Fatalf("purges: joined %v, opened %v", j.purges, s.purges)
	}
	if j.TTL() != DefaultTTL {
		t.Fatalf("a joined store's TTL = %s, want the bucket's %s", j.TTL(), DefaultTTL)
	}
	data := randomBytes(t, 600<<10)
	ref, err := j.Put(ctx, task.ArtifactRef{}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := s.WriteTo(ctx, ref.ID, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("the router reading what a joined store put: %v", err)
	}
	before := messages(t, s)
	if _, err := j.Put(ctx, task.ArtifactRef{}, bytes.NewReader(randomBytes(t, 1<<20+1))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put over the limit = %v", err)
	}
	// 4 chunks of 256 KiB went before the limit; their acks may come late.
	after := messages(t, s)
	for deadline := time.Now().Add(5 * time.Second); after != before+4 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		after = messages(t, s)
	}
	if after != before+4 {
		t.Fatalf("the bucket holds %d messages after a failed put, had %d; want the 4 unpurged chunks more", after, before)
	}
}

func messages(t *testing.T, s *Store) uint64 {
	t.Helper()
	st, err := s.stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.State.Msgs
}

// The info a put publishes reads back with nats.go's object store.
func TestInfoReadsBackWithNatsGo(t *testing.T) {
	s, _ := embedded(t, Config{})
	ctx := context.Background()
	ref, err := s.Put(ctx, task.ArtifactRef{Name: "n.txt", MIME: "text/plain"}, bytes.NewReader([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Claim(ctx, ref.ID, "key-a"); err != nil {
		t.Fatal(err)
	}
	b, err := s.obs.GetBytes(ctx, ref.ID)
	if err != nil || string(b) != "hello" {
		t.Fatalf("GetBytes = %q, %v", b, err)
	}
	m, err := s.stream.GetLastMsgForSubject(ctx, s.metaSubject(ref.ID))
	if err != nil {
		t.Fatal(err)
	}
	var info jetstream.ObjectInfo
	if err := json.Unmarshal(m.Data, &info); err != nil || info.Metadata[mdOwners] != "key-a" || info.Metadata[mdStored] == "" {
		t.Fatalf("info %s: %v", m.Data, err)
	}
}

// A store of JoinLater, made before the bucket exists, reports the store
// unavailable until a router creates it, and works from then on.
func TestJoinLater(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.Config{Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	nc, err := b.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	late := JoinLater(nc, Config{TTL: time.Hour})
	if _, err := late.Put(ctx, task.ArtifactRef{}, bytes.NewReader([]byte("early"))); task.AsError(err).Code != task.CodeUnavailable {
		t.Fatalf("Put before the bucket exists = %v, want unavailable", err)
	}
	router, err := Open(ctx, nc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := late.Put(ctx, task.ArtifactRef{}, bytes.NewReader([]byte("later")))
	if err != nil {
		t.Fatalf("Put once the bucket exists: %v", err)
	}
	if late.TTL() != DefaultTTL || late.purges {
		t.Fatalf("the late store: TTL %s (want the bucket's), purges %v", late.TTL(), late.purges)
	}
	var got bytes.Buffer
	if _, err := router.WriteTo(ctx, ref.ID, &got); err != nil || got.String() != "later" {
		t.Fatalf("reading what the late store put: %q, %v", got.String(), err)
	}
}
