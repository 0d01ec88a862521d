package artifacts

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/task"
)

// BenchmarkPut1MiB stores new 1 MiB artifacts; BenchmarkRawPut1MiB puts the
// same bytes into a bare object store bucket with the same chunks, the
// floor the store's own work is measured against.
func BenchmarkPut1MiB(b *testing.B) {
	s, _ := embedded(b, Config{})
	data := randomBytes(b, 1<<20)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		binary.LittleEndian.PutUint64(data, uint64(i))
		if _, err := s.Put(context.Background(), task.ArtifactRef{MIME: "application/octet-stream"}, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawPut1MiB(b *testing.B) {
	_, nc := embedded(b, Config{})
	js, _ := jetstream.New(nc)
	obs, err := js.CreateObjectStore(context.Background(), jetstream.ObjectStoreConfig{Bucket: "raw", Storage: jetstream.FileStorage})
	if err != nil {
		b.Fatal(err)
	}
	data := randomBytes(b, 1<<20)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		meta := jetstream.ObjectMeta{Name: fmt.Sprint(i), Opts: &jetstream.ObjectMetaOptions{ChunkSize: DefaultChunkSize}}
		if _, err := obs.Put(context.Background(), meta, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen1MiB reads a 1 MiB artifact back.
func BenchmarkOpen1MiB(b *testing.B) {
	s, _ := embedded(b, Config{})
	ref, err := s.Put(context.Background(), task.ArtifactRef{}, bytes.NewReader(randomBytes(b, 1<<20)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(ref.Size)
	for b.Loop() {
		if _, err := s.WriteTo(context.Background(), ref.ID, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
