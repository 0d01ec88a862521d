package memory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/taskrouter/taskrouter/localmodel"
	"github.com/taskrouter/taskrouter/task"
)

// Config configures a Memory. Bucket is required; zero values take the
// defaults in brackets.
type Config struct {
	Bucket Bucket
	// TTL is how long a record lives after its last write; recalled turns
	// older than it are never shown (30 days).
	TTL time.Duration
	// MaxTurns bounds the turns a conversation keeps; the oldest go, from
	// its index too (2000).
	MaxTurns int
	// Window is how many recent turns go to the model verbatim; once twice
	// as many are unsummarized, the older ones are folded into the
	// summary (20).
	Window int
	// Recall is how many earlier turns may be recalled for a request (3).
	Recall int
	// OnEmbedError, when set, hears of an embedding that failed (recall
	// went by terms alone), for the log.
	OnEmbedError func(error)
	// CachedDocs bounds the indexed turns this process keeps of recently
	// used scopes (50000).
	CachedDocs int
}

func (c Config) withDefaults() Config {
	if c.TTL <= 0 {
		c.TTL = 30 * 24 * time.Hour
	}
	if c.MaxTurns <= 0 {
		c.MaxTurns = 2000
	}
	if c.Window <= 0 {
		c.Window = 20
	}
	if c.Recall < 0 {
		c.Recall = 0
	} else if c.Recall == 0 {
		c.Recall = 3
	}
	if c.CachedDocs <= 0 {
		c.CachedDocs = 50000
	}
	return c
}

// Memory keeps conversations. It is safe for concurrent use; several
// processes may share its bucket.
type Memory struct {
	cfg    Config
	b      Bucket
	scopes *scopeCache
	embed  Embedder // nil: recall by terms only
}

// New returns a Memory over cfg.Bucket.
func New(cfg Config) (*Memory, error) {
	if cfg.Bucket == nil {
		return nil, errors.New("memory: a bucket is required")
	}
	cfg = cfg.withDefaults()
	return &Memory{cfg: cfg, b: cfg.Bucket, scopes: newScopeCache(cfg.CachedDocs)}, nil
}

// Window returns how many recent turns go to a model verbatim.
func (m *Memory) Window() int { return m.cfg.Window }

// Recalled is an earlier turn recalled for a request, from its
// conversation or another of its memory scope.
type Recalled struct {
	Turn
	Conversation string `json:"conversation"`
}

// Session is what one request in a conversation reads of it and then
// writes back: its summary, recent turns and recalled turns, with the
// revisions they were read at. It belongs to one request.
type Session struct {
	key     Key
	ck, sk  string
	exists  bool
	meta    meta
	metaRev uint64
	chunks  []chunk
	scope   scopeView
	// query is the input's unit vector, by queryModel, when an embedder
	// gave one.
	query      []float32
	queryModel string

	// Summary covers the turns up to its Through; nil when none is written.
	Summary *Summary
	// Recent are the turns after the summary, oldest first.
	Recent []Turn
	// Recalled are the earlier turns most relevant to the input, best first.
	Recalled []Recalled
}

// Open reads what a request in conversation k gets as context, with the
// turns recalled for input. A conversation that does not exist yet has
// none, and is created by Record. A request naming another memory scope
// than the conversation's is an invalid_request error.
func (m *Memory) Open(ctx context.Context, k Key, input string) (*Session, error) {
	s := &Session{key: k, ck: convKey(k.Owner, k.Conversation)}
	mt, rev, err := readMeta(ctx, m.b, s.ck)
	switch {
	case errors.Is(err, ErrNotFound):
		s.meta = meta{ID: k.Conversation, Scope: k.Scope, First: 1, Next: 1}
	case err != nil:
		return nil, fmt.Errorf("reading conversation %q: %w", k.Conversation, err)
	default:
		if k.Scope != "" && mt.Scope != k.Scope {
			return nil, task.Errorf(task.CodeInvalidRequest, "conversation %q belongs to memory scope %q, not %q: send its own scope, or none",
				k.Conversation, mt.Scope, k.Scope)
		}
		s.exists, s.meta, s.metaRev, s.Summary = true, mt, rev, mt.Summary
	}
	s.sk = scopeKey(k.Owner, k.Conversation, s.meta.Scope)
	// The recent turns, the scope's index and the input's vector are
	// read at once.
	embedded := make(chan struct{})
	if m.embed != nil && strings.TrimSpace(input) != "" {
		ectx, cancelEmbed := context.WithCancel(ctx)
		go func() {
			defer close(embedded)
			if vecs, model := m.embedTexts(ectx, []string{input}); vecs != nil {
				s.query, s.queryModel = unit(vecs[0]), model
			}
		}()
		defer func() { cancelEmbed(); <-embedded }()
	} else {
		close(embedded)
	}
	scoped := make(chan error, 1)
	go func() {
		var err error
		s.scope, err = m.scopes.read(ctx, m.b, s.sk)
		scoped <- err
	}()
	err = nil
	if s.exists {
		s.Recent, s.chunks, err = readTurns(ctx, m.b, s.ck, s.from(), s.meta.Next)
	}
	if serr := <-scoped; serr != nil && err == nil {
		return nil, fmt.Errorf("reading the memory of conversation %q: %w", k.Conversation, serr)
	}
	if err != nil {
		return nil, fmt.Errorf("reading conversation %q: %w", k.Conversation, err)
	}
	<-embedded
	s.Recalled = m.recall(s, input)
	return s, nil
}

// from is the seq of the first turn not in the summary.
func (s *Session) from() int64 {
	from := s.meta.First
	if s.Summary != nil {
		from = max(from, s.Summary.Through+1)
	}
	return from
}

// recall finds the earlier turns most relevant to input: any turn of the
// scope but those of this conversation the request already gets.
func (m *Memory) recall(s *Session, input string) []Recalled {
	since := time.Now().Add(-m.cfg.TTL)
	from := s.from()
	keep := func(d *doc) bool {
		return d.Time.After(since) && !(d.Conv == s.ck && d.Seq >= from) && !s.scope.meta.trimmed(d)
	}
	hits := rank(localmodel.IndexTerms(input), s.scope.segs, m.cfg.Recall, keep)
	if q := s.query; q != nil {
		hits = fuse(m.cfg.Recall, hits, nearest(q, s.queryModel, s.scope.segs, m.cfg.Recall, keep))
	}
	out := make([]Recalled, len(hits))
	for i, d := range hits {
		out[i] = Recalled{Turn: Turn{Seq: d.Seq, Role: d.Role, Content: d.Text, Time: d.Time}, Conversation: d.ID}
	}
	return out
}
