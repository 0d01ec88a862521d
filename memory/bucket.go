package memory

import (
	"context"
	"errors"
)

// Errors of a Bucket, wrapped or as is.
var (
	// ErrNotFound: the key does not exist or has expired.
	ErrNotFound = errors.New("memory: not found")
	// ErrConflict: a conditional write found another revision than the
	// one given (or, creating, a key that exists).
	ErrConflict = errors.New("memory: revision conflict")
	// ErrUnavailable: the store cannot be reached; nothing was read or
	// written.
	ErrUnavailable = errors.New("memory: store unreachable")
	// ErrTooLarge: the value is larger than the store takes.
	ErrTooLarge = errors.New("memory: value too large")
)

// Reader reads records.
type Reader interface {
	// Get returns a key's value and revision, or ErrNotFound.
	Get(ctx context.Context, key string) (value []byte, rev uint64, err error)
	// GetMany returns the values and revisions of keys, in order: a
	// missing key has a nil value and revision 0.
	GetMany(ctx context.Context, keys []string) ([][]byte, []uint64, error)
}

// Writer writes records; every write restarts the key's time to live.
type Writer interface {
	// Put writes a key whose revision is still rev, or, with rev 0, a key
	// that does not exist yet; otherwise it returns ErrConflict. It
	// returns the new revision.
	Put(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
	// Delete removes keys, their values included; missing keys are no
	// error.
	Delete(ctx context.Context, keys ...string) error
}

// Bucket is the key-value store that memory keeps conversations and their
// index in: Redis, or a NATS key-value bucket. Keys hold letters, digits,
// '.', '-' and '_'. Both backends pass the same conformance suite.
type Bucket interface {
	Reader
	Writer
}
