package kv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/task"
)

// JetStream is a Store in a JetStream key-value bucket, shared by every
// process on the same NATS.
type JetStream struct {
	nc  *nats.Conn
	kv  jetstream.KeyValue
	max int // the largest value a write may carry
}

// kvHeaderRoom is what a key-value write's headers take of the server's
// max_payload, which counts headers and data together.
const kvHeaderRoom = 1024

var _ Store = (*JetStream)(nil)

// Option tunes a JetStream bucket.
type Option func(*jetstream.KeyValueConfig)

// Replicas keeps the bucket on n servers of a NATS cluster (default 1),
// so that it outlives the loss of a server when n is 3 or more.
func Replicas(n int) Option {
	return func(c *jetstream.KeyValueConfig) {
		if n > 0 {
			c.Replicas = n
		}
	}
}

// OpenJetStream creates the bucket, or updates its settings when it
// exists, and returns a store over it. Entries expire ttl after their last
// write; the bucket keeps one revision per key.
func OpenJetStream(ctx context.Context, nc *nats.Conn, bucket string, ttl time.Duration, opts ...Option) (*JetStream, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	cfg := jetstream.KeyValueConfig{
		Bucket: bucket, TTL: ttl, History: 1, Storage: jetstream.FileStorage,
		Description: "taskrouter HTTP ingress state",
	}
	for _, o := range opts {
		o(&cfg)
	}
	b, err := js.CreateOrUpdateKeyValue(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening key-value bucket %s: %w", bucket, err)
	}
	return &JetStream{nc: nc, kv: b, max: int(nc.MaxPayload()) - kvHeaderRoom}, nil
}

// Get implements Store.
func (s *JetStream) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := s.reachable(); err != nil {
		return nil, 0, err
	}
	e, err := s.kv.Get(ctx, key)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	return e.Value(), e.Revision(), nil
}

// Create implements Store.
func (s *JetStream) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := s.reachable(); err != nil {
		return 0, err
	}
	if err := s.fits(value); err != nil {
		return 0, err
	}
	rev, err := s.kv.Create(ctx, key, value)
	return rev, mapErr(err)
}

// Put implements Store.
func (s *JetStream) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := s.reachable(); err != nil {
		return 0, err
	}
	if err := s.fits(value); err != nil {
		return 0, err
	}
	rev, err := s.kv.Put(ctx, key, value)
	return rev, mapErr(err)
}

// Update implements Store.
func (s *JetStream) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if err := s.reachable(); err != nil {
		return 0, err
	}
	if err := s.fits(value); err != nil {
		return 0, err
	}
	n, err := s.kv.Update(ctx, key, value, rev)
	return n, mapErr(err)
}

// Delete implements Store.
func (s *JetStream) Delete(ctx context.Context, key string) error {
	if err := s.reachable(); err != nil {
		return err
	}
	err := s.kv.Purge(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return mapErr(err)
}

// Keys implements Store. It reads the keys' metadata only, never their
// values.
func (s *JetStream) Keys(ctx context.Context) ([]string, error) {
	if err := s.reachable(); err != nil {
		return nil, err
	}
	keys, err := s.kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", mapErr(err))
	}
	return keys, nil
}

// reachable fails at once while the NATS connection is down, rather than
// leaving the caller to wait out its deadline for an answer that cannot
// come; nats.go reconnects on its own.
func (s *JetStream) reachable() error {
	if st := s.nc.Status(); st != nats.CONNECTED {
		return unavailable(fmt.Sprintf("cannot be reached (connection %s)", strings.ToLower(st.String())))
	}
	return nil
}

// unavailable is ErrUnavailable, with the unavailable error a client
// reads, retryable after a second.
func unavailable(why string) error {
	e := task.Errorf(task.CodeUnavailable, "the key-value store on NATS %s; retry in a moment", why)
	e.RetryAfterMs = time.Second.Milliseconds()
	return fmt.Errorf("%w: %w", ErrUnavailable, e)
}

// fits checks a value against the server's max_payload before sending it,
// so that the caller learns the sizes rather than a bare protocol error.
func (s *JetStream) fits(value []byte) error {
	if len(value) > s.max {
		return fmt.Errorf("%w: %d bytes, and the NATS server's max_payload leaves room for %d", ErrTooLarge, len(value), s.max)
	}
	return nil
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, nats.ErrMaxPayload):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.Is(err, jetstream.ErrKeyExists):
		return fmt.Errorf("%w: %w", ErrExists, err)
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		// The bucket's stream has no leader: its servers are electing one
		// (a NATS cluster that lost a server), which takes seconds.
		return unavailable(fmt.Sprintf("did not answer (%v)", err))
	}
	return fmt.Errorf("key-value store: %w", err)
}
