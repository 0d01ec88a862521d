// Package artifacts is the store of binary data: images, audio and files
// that requests bring and models make. An artifact lives in a JetStream
// object store bucket on the same NATS as everything else, so an executor
// on another machine fetches what its step needs where it runs. Artifacts
// are content-addressed (the same bytes are stored once, under
// art_<SHA-256 prefix>), bounded in size, kept for a configured time, and
// streamed in and out: no call holds a whole artifact in memory.
package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/taskrouter/taskrouter/task"
)

// Defaults of Config.
const (
	DefaultBucket    = "taskrouter_artifacts"
	DefaultTTL       = 24 * time.Hour
	DefaultMaxBytes  = 32 << 20
	DefaultChunkSize = 256 << 10
)

// Config says where artifacts live and how long and large they may be.
type Config struct {
	// Bucket is the object store bucket (DefaultBucket).
	Bucket string
	// TTL is how long an artifact is kept after it was stored (24h).
	TTL time.Duration
	// MaxBytes bounds one artifact (32 MiB); a larger one is refused with
	// a CodeTooLarge error naming the limit.
	MaxBytes int64
	// ChunkSize is the size of the messages an artifact is stored in
	// (256 KiB), cut to what the NATS server's max_payload takes.
	ChunkSize int
	// Replicas is how many servers of a NATS cluster keep the bucket (1).
	Replicas int
}

func (c Config) withDefaults() Config {
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.TTL <= 0 {
		c.TTL = DefaultTTL
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = DefaultChunkSize
	}
	return c
}

// Store is the artifact store over one object store bucket. It is safe
// for concurrent use, and implements task.Artifacts.
type Store struct {
	cfg    Config
	nc     *nats.Conn
	js     jetstream.JetStream
	obs    jetstream.ObjectStore
	stream jetstream.Stream // the bucket's stream, for purges
	// purges says whether this store purges the chunks of failed and
	// replaced puts: a store that created the bucket (a router's) does;
	// one that joined it (an executor's, a client's) leaves them to
	// expire with the bucket's TTL, as a purge takes a right over the
	// whole stream that those users do not get.
	purges bool
	// late, for a store of JoinLater, guards js, obs, stream and the TTL
	// until the store has joined its bucket.
	late *sync.Mutex
}

var _ task.Artifacts = (*Store)(nil)

// Errors of the store; the errors returned are *task.Error values that
// match these with errors.Is.
var (
	// ErrNotFound: no artifact has the id, or it has expired.
	ErrNotFound = &task.Error{Code: task.CodeNotFound}
	// ErrTooLarge: the artifact is larger than Config.MaxBytes.
	ErrTooLarge = &task.Error{Code: task.CodeTooLarge}
)

// chunkHeaderRoom is what a chunk's headers and subject take of the
// server's max_payload.
const chunkHeaderRoom = 4 << 10

// Open creates the bucket, or updates its TTL when it exists, and returns
// a store over it. Every process on the NATS opens the same bucket.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if mp := int(nc.MaxPayload()); mp > 0 && cfg.ChunkSize > mp-chunkHeaderRoom {
		cfg.ChunkSize = max(mp-chunkHeaderRoom, 1<<10)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	obs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: cfg.Bucket, TTL: cfg.TTL, Storage: jetstream.FileStorage, Replicas: max(cfg.Replicas, 1),
		Description: "taskrouter artifacts: images, audio and files of requests and models",
	})
	if err != nil {
		return nil, fmt.Errorf("opening object store %s: %w", cfg.Bucket, err)
	}
	s, err := newStore(ctx, cfg, nc, js, obs)
	if s != nil {
		s.purges = true
	}
	return s, err
}

func newStore(ctx context.Context, cfg Config, nc *nats.Conn, js jetstream.JetStream, obs jetstream.ObjectStore) (*Store, error) {
	stream, err := js.Stream(ctx, "OBJ_"+cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("opening the stream of object store %s: %w", cfg.Bucket, err)
	}
	return &Store{cfg: cfg, nc: nc, js: js, obs: obs, stream: stream}, nil
}

// MaxBytes is the largest artifact the store takes.
func (s *Store) MaxBytes() int64 { return s.cfg.MaxBytes }

// TTL is how long an artifact is kept.
func (s *Store) TTL() time.Duration {
	if s.late != nil {
		s.late.Lock()
		defer s.late.Unlock()
	}
	return s.cfg.TTL
}

// Put stores the bytes r yields, streaming, and returns the artifact's
// reference. meta gives the MIME type (sniffed from the first bytes when
// empty) and an optional name; the rest is computed. Bytes stored before
// come back under the same id, with the MIME type and name they were
// first stored with. A stream longer than MaxBytes is refused with an
// error matching ErrTooLarge, and nothing of it is kept.
//
// The bytes go out as the chunks of a new object while they are hashed,
// with at most putWindow chunks awaiting the server's acknowledgement, so
// that a slow store holds back the reader instead of filling memory; the
// object gets its name, the artifact id, once the hash is known.
func (s *Store) Put(ctx context.Context, meta task.ArtifactRef, r io.Reader) (task.ArtifactRef, error) {
	ref, _, err := s.put(ctx, meta, r)
	return ref, err
}

// put is Put, and reports whether the bytes were new to the store.
func (s *Store) put(ctx context.Context, meta task.ArtifactRef, r io.Reader) (task.ArtifactRef, bool, error) {
	if err := s.reachable(ctx); err != nil {
		return task.ArtifactRef{}, false, err
	}
	p := &objectPut{s: s, lr: &limitReader{r: r, left: s.cfg.MaxBytes}, nuid: nuid.Next(), h: sha256.New(), start: time.Now()}
	err := p.send(ctx, &meta)
	if err != nil {
		p.discard(ctx)
		return task.ArtifactRef{}, false, s.putErr(p.lr, err)
	}
	if p.size == 0 {
		return task.ArtifactRef{}, false, task.Errorf(task.CodeInvalidRequest, "the artifact is empty; send at least one byte")
	}
	meta.SHA256 = hex.EncodeToString(p.h.Sum(nil))
	meta.ID, meta.Size, meta.Ref = task.ArtifactID(meta.SHA256), p.size, ""
	return p.name(context.WithoutCancel(ctx), meta)
}

// putErr says why storing failed: the limit, the caller's reader, or the store.
func (s *Store) putErr(lr *limitReader, err error) error {
	switch {
	case errors.Is(err, errOverLimit):
		return task.Errorf(task.CodeTooLarge, "the artifact is larger than the limit of %d bytes (artifacts.max_bytes); send a smaller one", s.cfg.MaxBytes)
	case lr.err != nil:
		// The data failed, not the store: the caller's reader says why.
		return fmt.Errorf("reading the artifact: %w", lr.err)
	}
	return s.storeErr("storing an artifact", err)
}

// Open streams an artifact: the reader yields its bytes as they come
// from NATS and fails at the end when they do not match the artifact's
// SHA-256. The caller closes it. An unknown or expired id is an error
// matching ErrNotFound.
func (s *Store) Open(ctx context.Context, id string) (io.ReadCloser, task.ArtifactRef, error) {
	if err := s.known(ctx, id); err != nil {
		return nil, task.ArtifactRef{}, err
	}
	res, err := s.obs.Get(ctx, id)
	if err != nil {
		return nil, task.ArtifactRef{}, s.lookupErr(id, err)
	}
	info, err := res.Info()
	if err != nil {
		res.Close()
		return nil, task.ArtifactRef{}, s.lookupErr(id, err)
	}
	ref := s.refOf(info)
	if err := s.verify(id, ref); err != nil {
		res.Close()
		return nil, task.ArtifactRef{}, err
	}
	return res, ref, nil
}

// WriteTo streams an artifact into w and returns its reference.
func (s *Store) WriteTo(ctx context.Context, id string, w io.Writer) (task.ArtifactRef, error) {
	rc, ref, err := s.Open(ctx, id)
	if err != nil {
		return ref, err
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return ref, fmt.Errorf("reading artifact %s: %w", id, err)
	}
	return ref, nil
}

// Stat returns an artifact's reference without its bytes.
func (s *Store) Stat(ctx context.Context, id string) (task.ArtifactRef, error) {
	if err := s.known(ctx, id); err != nil {
		return task.ArtifactRef{}, err
	}
	info, err := s.obs.GetInfo(ctx, id)
	if err != nil {
		return task.ArtifactRef{}, s.lookupErr(id, err)
	}
	ref := s.refOf(info)
	return ref, s.verify(id, ref)
}

// verify refuses an object whose info does not fit its name: a digest
// of other bytes than the id names (info that a writer of the bucket
// replaced; the reader checks the bytes against the digest, so against
// the id too), or chunks past their TTL.
func (s *Store) verify(id string, ref task.ArtifactRef) error {
	switch {
	case task.ArtifactID(ref.SHA256) != id:
		return task.Errorf(task.CodeUnavailable, "artifact %s: the object store's info names other bytes (digest %.16s...); it is not served", id, ref.SHA256)
	case !ref.Expires.After(time.Now()):
		return task.Errorf(task.CodeNotFound, "artifact %s has expired (artifacts are kept %s)", id, s.cfg.TTL)
	}
	return nil
}

// Delete removes an artifact at once, before its TTL.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.known(ctx, id); err != nil {
		return err
	}
	if err := s.obs.Delete(ctx, id); err != nil {
		return s.lookupErr(id, err)
	}
	return nil
}

// known refuses what is not an artifact id, so that nothing else in the
// bucket (objects being stored) can be read by name.
func (s *Store) known(ctx context.Context, id string) error {
	if !task.ValidArtifactID(id) {
		return task.Errorf(task.CodeNotFound, "%q is not an artifact id; ids are art_ and 32 hex digits", id)
	}
	return s.reachable(ctx)
}

func (s *Store) reachable(ctx context.Context) error {
	if st := s.nc.Status(); st != nats.CONNECTED {
		e := task.Errorf(task.CodeUnavailable, "the artifact store cannot reach NATS (connection %s); retry in a moment", st)
		e.RetryAfterMs = 1000
		return e
	}
	return s.join(ctx)
}

func (s *Store) lookupErr(id string, err error) error {
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return task.Errorf(task.CodeNotFound, "artifact %s does not exist or has expired (artifacts are kept %s)", id, s.cfg.TTL)
	}
	return s.storeErr("reading artifact "+id, err)
}

func (s *Store) storeErr(doing string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return task.Errorf(task.CodeUnavailable, "%s: the object store failed: %v", doing, err)
}

// The keys of an object's metadata: its MIME type, name, when its chunks
// were stored (the info's own time moves when its owners change), and
// the API keys' owner ids that uploaded it, space-separated.
const (
	mdMIME   = "mime"
	mdName   = "name"
	mdStored = "stored"
	mdOwners = "owners"
)

// metadata is what the object store keeps of a reference besides the
// bytes, their size and digest.
func metadata(r task.ArtifactRef, stored time.Time) map[string]string {
	md := map[string]string{mdMIME: r.MIME, mdStored: stored.UTC().Format(time.RFC3339Nano)}
	if r.Name != "" {
		md[mdName] = r.Name
	}
	return md
}

// storedAt is when an object's chunks were stored: its metadata says,
// or, for an object stored before it did, its info's time.
func storedAt(info *jetstream.ObjectInfo) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, info.Metadata[mdStored]); err == nil {
		return t
	}
	return info.ModTime
}

func (s *Store) refOf(info *jetstream.ObjectInfo) task.ArtifactRef {
	stored := storedAt(info)
	ref := task.ArtifactRef{ID: info.Name, Size: int64(info.Size), MIME: info.Metadata[mdMIME], Name: info.Metadata[mdName],
		Stored: stored, Expires: stored.Add(s.cfg.TTL)}
	if sum, err := jetstream.DecodeObjectDigest(info.Digest); err == nil {
		ref.SHA256 = hex.EncodeToString(sum)
	}
	return ref
}

// errOverLimit is what limitReader fails with past its limit.
var errOverLimit = errors.New("artifacts: over the size limit")

// limitReader yields at most left bytes and fails past them, so that a
// stream over the limit is refused rather than cut.
type limitReader struct {
	r    io.Reader
	left int64
	err  error // the first error of r other than io.EOF
}

func (l *limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, errOverLimit
	}
	if err != nil && err != io.EOF && l.err == nil {
		l.err = err
	}
	return n, err
}

// Ingest stores data that arrives from outside: it checks the content
// against the declared MIME type first (see Inspect), so that nothing is
// stored when the type lies or an image cannot be decoded, then stores
// it as Put does.
func (s *Store) Ingest(ctx context.Context, meta task.ArtifactRef, r io.Reader) (task.ArtifactRef, error) {
	ref, _, err := s.Upload(ctx, meta, r)
	return ref, err
}

// Upload is Ingest, and reports whether the bytes were new to the store:
// an upload refused once stored (a form missing a field after its file)
// then takes back what it alone stored with DeleteUnclaimed, and leaves
// bytes that were there before.
func (s *Store) Upload(ctx context.Context, meta task.ArtifactRef, r io.Reader) (ref task.ArtifactRef, created bool, err error) {
	checked, mt, err := Inspect(r, meta.MIME, meta.Name)
	if err != nil {
		return task.ArtifactRef{}, false, err
	}
	meta.MIME = mt
	return s.put(ctx, meta, checked)
}

// Join opens the store of a bucket that a router created on the NATS,
// without changing its settings: for executors and for clients such as
// `taskrouter ask --nats`. cfg.MaxBytes bounds what this client stores;
// the bucket's TTL replaces cfg.TTL.
func Join(ctx context.Context, nc *nats.Conn, cfg Config) (*Store, error) {
	s := &Store{cfg: clientConfig(nc, cfg)}
	s.nc = nc
	if err := s.joinBucket(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// JoinLater is Join for a process that may start before any router made
// the bucket (executors): it joins at the first call that needs the
// store, and again at the next one while the bucket is missing, which
// those calls report as unavailable.
func JoinLater(nc *nats.Conn, cfg Config) *Store {
	return &Store{cfg: clientConfig(nc, cfg), nc: nc, late: &sync.Mutex{}}
}

func clientConfig(nc *nats.Conn, cfg Config) Config {
	cfg = cfg.withDefaults()
	if mp := int(nc.MaxPayload()); mp > 0 && cfg.ChunkSize > mp-chunkHeaderRoom {
		cfg.ChunkSize = max(mp-chunkHeaderRoom, 1<<10)
	}
	return cfg
}

// join joins the bucket of a store of JoinLater, once.
func (s *Store) join(ctx context.Context) error {
	if s.late == nil {
		return nil
	}
	s.late.Lock()
	defer s.late.Unlock()
	if s.obs != nil {
		return nil
	}
	if err := s.joinBucket(ctx); err != nil {
		e := task.Errorf(task.CodeUnavailable, "the artifact store is not open yet (a router creates it): %v", err)
		e.RetryAfterMs = 1000
		return e
	}
	return nil
}

func (s *Store) joinBucket(ctx context.Context) error {
	js, err := jetstream.New(s.nc)
	if err != nil {
		return fmt.Errorf("opening JetStream: %w", err)
	}
	obs, err := js.ObjectStore(ctx, s.cfg.Bucket)
	if err != nil {
		return fmt.Errorf("opening object store %s (does a router run on this NATS?): %w", s.cfg.Bucket, err)
	}
	stream, err := js.Stream(ctx, "OBJ_"+s.cfg.Bucket)
	if err != nil {
		return fmt.Errorf("opening the stream of object store %s: %w", s.cfg.Bucket, err)
	}
	if age := stream.CachedInfo().Config.MaxAge; age > 0 {
		s.cfg.TTL = age // the router's, which keeps the bucket
	}
	s.js, s.obs, s.stream = js, obs, stream
	return nil
}
