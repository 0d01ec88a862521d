// Package kv is the small key-value contract the HTTP ingress keeps its
// jobs and webhook deduplication in, with two backends: a JetStream
// key-value bucket, which every router on the same NATS shares, and memory
// for one process. Both expire entries a fixed time after their last write.
package kv

import (
	"context"
	"errors"
)

// Errors the stores return, wrapped or as is.
var (
	// ErrNotFound: the key does not exist or has expired.
	ErrNotFound = errors.New("kv: key not found")
	// ErrExists: Create found the key already there.
	ErrExists = errors.New("kv: key exists")
	// ErrConflict: Update found a newer revision than the one given.
	ErrConflict = errors.New("kv: revision conflict")
	// ErrTooLarge: the value is larger than the store takes (for
	// JetStream, the NATS server's max_payload); nothing was written.
	ErrTooLarge = errors.New("kv: value too large")
	// ErrUnavailable: the store cannot be reached (for JetStream, the NATS
	// connection is down and reconnecting); nothing was read or written.
	ErrUnavailable = errors.New("kv: store unreachable")
)

// Store holds values under keys of letters, digits, '-', '_', '=' and '.'.
// Every write restarts the key's time to live.
type Store interface {
	// Get returns the value and its revision, or ErrNotFound.
	Get(ctx context.Context, key string) (value []byte, rev uint64, err error)
	// Create writes a key that does not exist yet, or returns ErrExists.
	Create(ctx context.Context, key string, value []byte) (rev uint64, err error)
	// Put writes a key whatever its revision.
	Put(ctx context.Context, key string, value []byte) (rev uint64, err error)
	// Update writes a key whose revision is still rev, or returns ErrConflict.
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
	// Delete removes a key; a missing key is no error.
	Delete(ctx context.Context, key string) error
	// Keys returns every live key, in no particular order; an empty store
	// has none and that is no error.
	Keys(ctx context.Context) ([]string, error)
}
