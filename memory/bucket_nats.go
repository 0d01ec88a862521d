package memory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSBucket is a Bucket in a JetStream key-value bucket: in the embedded
// NATS server's data directory, or on any NATS with JetStream, shared by
// every router on it. Entries expire ttl after their last write, and a
// deleted key is purged, its value gone from the stream.
type NATSBucket struct {
	nc *nats.Conn
	kv jetstream.KeyValue
}

var _ Bucket = (*NATSBucket)(nil)

// OpenNATSBucket creates the key-value bucket, or updates its settings
// when it exists, and returns a Bucket over it, kept by replicas servers
// of a NATS cluster (at least 1).
func OpenNATSBucket(ctx context.Context, nc *nats.Conn, bucket string, ttl time.Duration, replicas int) (*NATSBucket, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucket, TTL: ttl, History: 1, Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
		Description: "taskrouter memory: conversations, summaries and their index",
	})
	if err != nil {
		return nil, fmt.Errorf("opening key-value bucket %s: %w", bucket, err)
	}
	return &NATSBucket{nc: nc, kv: kv}, nil
}

// Get implements Reader.
func (b *NATSBucket) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := b.reachable(); err != nil {
		return nil, 0, err
	}
	e, err := b.kv.Get(ctx, key)
	if err != nil {
		return nil, 0, natsErr("reading", err)
	}
	return e.Value(), e.Revision(), nil
}

// GetMany implements Reader. The gets go out together, so that a few
// keys cost about one round trip.
func (b *NATSBucket) GetMany(ctx context.Context, keys []string) ([][]byte, []uint64, error) {
	if err := b.reachable(); err != nil {
		return nil, nil, err
	}
	vals, revs := make([][]byte, len(keys)), make([]uint64, len(keys))
	errs := make(chan error, len(keys))
	for i, k := range keys {
		go func() {
			e, err := b.kv.Get(ctx, k)
			if err == nil {
				vals[i], revs[i] = e.Value(), e.Revision()
			} else if errors.Is(natsErr("", err), ErrNotFound) {
				err = nil
			}
			errs <- err
		}()
	}
	var first error
	for range keys {
		if err := <-errs; err != nil && first == nil {
			first = natsErr("reading", err)
		}
	}
	return vals, revs, first
}

// Put implements Writer.
func (b *NATSBucket) Put(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if err := b.reachable(); err != nil {
		return 0, err
	}
	var n uint64
	var err error
	if rev == 0 {
		n, err = b.kv.Create(ctx, key, value)
	} else {
		n, err = b.kv.Update(ctx, key, value, rev)
	}
	if err != nil {
		return 0, natsErr("writing", err)
	}
	return n, nil
}

// Delete implements Writer.
func (b *NATSBucket) Delete(ctx context.Context, keys ...string) error {
	if err := b.reachable(); err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.kv.Purge(ctx, k); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return natsErr("deleting", err)
		}
	}
	return nil
}

// reachable fails at once while the connection is down, instead of
// leaving the caller to wait out its deadline.
func (b *NATSBucket) reachable() error {
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("memory on NATS: the connection is %s: %w", st, ErrUnavailable)
	}
	return nil
}

func natsErr(doing string, err error) error {
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return fmt.Errorf("%s memory: %w", doing, ErrNotFound)
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return fmt.Errorf("%s memory: %w: %w", doing, ErrConflict, err)
	case errors.Is(err, nats.ErrMaxPayload):
		return fmt.Errorf("%s memory: %w: %w", doing, ErrTooLarge, err)
	}
	return fmt.Errorf("%s memory on NATS: %w: %w", doing, ErrUnavailable, err)
}
