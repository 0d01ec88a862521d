package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/taskrouter/taskrouter/localmodel"
	"github.com/taskrouter/taskrouter/task"
)

// doc is one indexed turn: where it is from, its text as a recalled turn
// shows it, and its terms for BM25.
type doc struct {
	Conv  string         `json:"c"`
	ID    string         `json:"id"`
	Seq   int64          `json:"seq"`
	Role  string         `json:"role"`
	Time  time.Time      `json:"t"`
	Text  string         `json:"text"`
	Terms map[string]int `json:"terms"`
	Len   int            `json:"len"`
	// Vec is the turn's unit vector (encodeVector) by the embedding model
	// VecModel, when one was configured as it was recorded.
	Vec      string `json:"v,omitempty"`
	VecModel string `json:"vm,omitempty"`
}

// scopeMeta is a memory scope's record. Its segments are numbered from 0;
// the last is the one being filled, the others are sealed: never changed
// again except by a removal, which gives the scope a new epoch, so that
// routers may keep sealed segments while the epoch holds.
//
// A conversation's oldest turns, dropped past MaxTurns, leave its index
// without a new epoch: Trims holds, by conversation, the first seq it
// still keeps, and lookups pass over older docs that a router's copy of
// a sealed segment may still hold.
type scopeMeta struct {
	Epoch    string           `json:"epoch"`
	Segments int              `json:"segments"`
	Trims    map[string]int64 `json:"trims,omitempty"`
}

// trimmed reports whether d is of a conversation's turns that are gone.
func (m scopeMeta) trimmed(d *doc) bool { return d.Seq < m.Trims[d.Conv] }

// segment is one index record as read, with its revision.
type segment struct {
	n    int
	docs []doc
	rev  uint64
}

// newDoc indexes a turn.
func newDoc(ck, id string, t Turn) doc {
	d := doc{Conv: ck, ID: id, Seq: t.Seq, Role: t.Role, Time: t.Time, Text: cut(t.Content, maxDocBytes), Terms: map[string]int{}}
	for _, term := range localmodel.IndexTerms(t.Content) {
		d.Terms[term]++
		d.Len++
	}
	return d
}

func readScope(ctx context.Context, b Reader, sk string) (scopeMeta, uint64, error) {
	data, rev, err := b.Get(ctx, scopeRecord(sk))
	if errors.Is(err, ErrNotFound) {
		return scopeMeta{}, 0, nil
	}
	if err != nil {
		return scopeMeta{}, 0, err
	}
	var m scopeMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return scopeMeta{}, 0, fmt.Errorf("decoding scope record: %w", err)
	}
	return m, rev, nil
}

func readSegments(ctx context.Context, b Reader, sk string, ns []int) ([]segment, error) {
	keys := make([]string, len(ns))
	for i, n := range ns {
		keys[i] = segmentRecord(sk, n)
	}
	vals, revs, err := b.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]segment, len(ns))
	for i, v := range vals {
		out[i] = segment{n: ns[i], rev: revs[i]}
		if v != nil {
			if err := json.Unmarshal(v, &out[i].docs); err != nil {
				return nil, fmt.Errorf("decoding index segment: %w", err)
			}
		}
	}
	return out, nil
}

// indexDocs adds docs to a scope's open segment, opening a new one when
// it is full; open is the segment as read before, tried first.
func indexDocs(ctx context.Context, b Bucket, sk string, sm scopeMeta, smRev uint64, open segment, docs []doc) error {
	for range maxRetries {
		if sm.Segments == 0 || len(open.docs)+len(docs) > segmentDocs && len(open.docs) > 0 {
			next := sm
			next.Segments++
			if next.Epoch == "" {
				next.Epoch = task.NewID("")
			}
			rev, err := putJSON(ctx, b, scopeRecord(sk), next, smRev)
			if errors.Is(err, ErrConflict) {
				if sm, smRev, open, err = reloadScope(ctx, b, sk); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			sm, smRev, open = next, rev, segment{n: next.Segments - 1}
		}
		_, err := putJSON(ctx, b, segmentRecord(sk, open.n), append(slices.Clone(open.docs), docs...), open.rev)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if sm, smRev, open, err = reloadScope(ctx, b, sk); err != nil {
			return err
		}
	}
	return fmt.Errorf("indexing turns: %w: other writers kept overtaking", ErrConflict)
}

// reloadScope reads a scope's record and its open segment again.
func reloadScope(ctx context.Context, b Reader, sk string) (scopeMeta, uint64, segment, error) {
	sm, rev, err := readScope(ctx, b, sk)
	if err != nil || sm.Segments == 0 {
		return sm, rev, segment{}, err
	}
	segs, err := readSegments(ctx, b, sk, []int{sm.Segments - 1})
	if err != nil {
		return sm, rev, segment{}, err
	}
	return sm, rev, segs[0], nil
}

// removeDocs takes out of a scope's index the turns of conversation ck
// with seqs below before, or all of them with before 0. Forgetting all
// gives the scope a new epoch, so that no router keeps them; dropping the
// oldest records the trim in the scope's record instead, and reads only
// the first segments, where they are, so a conversation at its MaxTurns
// costs no router its cache.
func removeDocs(ctx context.Context, b Bucket, sk, ck string, before int64) error {
	sm, smRev, err := readScope(ctx, b, sk)
	if err != nil || sm.Segments == 0 {
		return err
	}
	if before == 0 {
		if err := removeFromSegments(ctx, b, sk, ck, 0, 0, sm.Segments); err != nil {
			return err
		}
		return bumpEpoch(ctx, b, sk, sm, smRev, ck)
	}
	for n := 0; n < sm.Segments; n += trimBatch {
		segs, err := readSegments(ctx, b, sk, segmentNumbers(n, min(n+trimBatch, sm.Segments)))
		if err != nil {
			return err
		}
		newer := false
		for _, s := range segs {
			if err := removeFrom(ctx, b, sk, s, ck, before); err != nil {
				return err
			}
			// A conversation's docs are indexed in seq order: past one
			// it keeps, the later segments hold none to drop.
			newer = newer || slices.ContainsFunc(s.docs, func(d doc) bool { return d.Conv == ck && d.Seq >= before })
		}
		if newer {
			break
		}
	}
	return recordTrim(ctx, b, sk, sm, smRev, ck, before)
}

// trimBatch is how many index segments a trim reads at once.
const trimBatch = 8

func segmentNumbers(from, to int) []int {
	ns := make([]int, 0, to-from)
	for n := from; n < to; n++ {
		ns = append(ns, n)
	}
	return ns
}

func removeFromSegments(ctx context.Context, b Bucket, sk, ck string, before int64, from, to int) error {
	segs, err := readSegments(ctx, b, sk, segmentNumbers(from, to))
	if err != nil {
		return err
	}
	for _, s := range segs {
		if err := removeFrom(ctx, b, sk, s, ck, before); err != nil {
			return err
		}
	}
	return nil
}

// recordTrim notes in the scope's record that conversation ck keeps
// seqs from before on.
func recordTrim(ctx context.Context, b Bucket, sk string, sm scopeMeta, rev uint64, ck string, before int64) error {
	for range maxRetries {
		if sm.Trims[ck] >= before {
			return nil
		}
		sm.Trims = maps.Clone(sm.Trims)
		if sm.Trims == nil {
			sm.Trims = map[string]int64{}
		}
		sm.Trims[ck] = before
		_, err := putJSON(ctx, b, scopeRecord(sk), sm, rev)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if sm, rev, err = readScope(ctx, b, sk); err != nil {
			return err
		}
	}
	return fmt.Errorf("recording dropped turns in the index: %w", ErrConflict)
}

func removeFrom(ctx context.Context, b Bucket, sk string, s segment, ck string, before int64) error {
	for range maxRetries {
		kept := slices.DeleteFunc(slices.Clone(s.docs), func(d doc) bool { return d.Conv == ck && (before == 0 || d.Seq < before) })
		if len(kept) == len(s.docs) {
			return nil
		}
		_, err := putJSON(ctx, b, segmentRecord(sk, s.n), kept, s.rev)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		segs, err := readSegments(ctx, b, sk, []int{s.n})
		if err != nil {
			return err
		}
		s = segs[0]
	}
	return fmt.Errorf("removing turns from the index: %w: other writers kept overtaking", ErrConflict)
}

// bumpEpoch gives a scope a new epoch, after conversation ck's docs were
// removed from its index: no trim of it is needed any more.
func bumpEpoch(ctx context.Context, b Bucket, sk string, sm scopeMeta, rev uint64, ck string) error {
	for range maxRetries {
		sm.Epoch = task.NewID("")
		if _, ok := sm.Trims[ck]; ok {
			sm.Trims = maps.Clone(sm.Trims)
			delete(sm.Trims, ck)
		}
		_, err := putJSON(ctx, b, scopeRecord(sk), sm, rev)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if sm, rev, err = readScope(ctx, b, sk); err != nil {
			return err
		}
	}
	return fmt.Errorf("renewing the index epoch: %w", ErrConflict)
}

func putJSON(ctx context.Context, b Writer, key string, v any, rev uint64) (uint64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	return b.Put(ctx, key, data, rev)
}

// BM25's parameters, the common defaults.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// segIndex is one index segment as a lookup searches it: its docs, and
// for each term the docs that have it, built once when the segment is
// read, so that a query touches only the docs that share a term with it.
type segIndex struct {
	docs   []doc
	post   map[string][]posting
	length int         // the terms of all its docs
	vecs   [][]float32 // the docs' vectors, decoded; nil when none has one
}

// posting is a doc that has a term, and how often.
type posting struct{ doc, tf int32 }

func newSegIndex(docs []doc) *segIndex {
	s := &segIndex{docs: docs, post: map[string][]posting{}}
	for i := range docs {
		s.length += docs[i].Len
		for t, tf := range docs[i].Terms {
			s.post[t] = append(s.post[t], posting{int32(i), int32(tf)})
		}
		if docs[i].Vec != "" {
			if s.vecs == nil {
				s.vecs = make([][]float32, len(docs))
			}
			s.vecs[i] = decodeVector(docs[i].Vec)
		}
	}
	return s
}

// indexOf indexes segments read from the store.
func indexOf(segs []segment) []*segIndex {
	out := make([]*segIndex, len(segs))
	for i, s := range segs {
		out[i] = newSegIndex(s.docs)
	}
	return out
}

// countDocs is how many docs segments hold.
func countDocs(segs []*segIndex) int {
	n := 0
	for _, s := range segs {
		n += len(s.docs)
	}
	return n
}

// rank returns the k docs most relevant to the query's terms by BM25,
// best first (earlier docs first among equals), among those keep
// accepts; docs that share no term with the query are never returned.
// Document frequencies and lengths are over every doc of segs.
func rank(query []string, segs []*segIndex, k int, keep func(*doc) bool) []*doc {
	if len(query) == 0 || len(segs) == 0 || k <= 0 {
		return nil
	}
	terms := slices.Compact(slices.Sorted(slices.Values(query)))
	df := make([]int, len(terms))
	n, total := 0, 0
	for _, s := range segs {
		n, total = n+len(s.docs), total+s.length
		for i, t := range terms {
			df[i] += len(s.post[t])
		}
	}
	if n == 0 {
		return nil
	}
	avg := max(float64(total)/float64(n), 1)
	idf := make([]float64, len(terms))
	for i := range terms {
		idf[i] = math.Log(1 + (float64(n)-float64(df[i])+0.5)/(float64(df[i])+0.5))
	}
	var best topK
	best.k = k
	var scores [segmentDocs]float64
	for _, s := range segs {
		acc := scores[:0]
		if len(s.docs) > len(scores) {
			acc = make([]float64, 0, len(s.docs))
		}
		acc = acc[:len(s.docs)]
		clear(acc)
		touched := false
		for i, t := range terms {
			for _, p := range s.post[t] {
				tf := float64(p.tf)
				acc[p.doc] += idf[i] * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*float64(s.docs[p.doc].Len)/avg))
				touched = true
			}
		}
		if !touched {
			continue
		}
		for j, sc := range acc {
			if sc > 0 && best.beats(sc) && keep(&s.docs[j]) {
				best.add(&s.docs[j], sc)
			}
		}
	}
	return best.docs()
}

// topK keeps the k best-scored docs seen, best first; among equal scores
// the one seen first ranks higher.
type topK struct {
	k      int
	hits   []*doc
	scores []float64
}

// beats reports whether score would enter the k best.
func (t *topK) beats(score float64) bool {
	return len(t.hits) < t.k || score > t.scores[len(t.scores)-1]
}

func (t *topK) add(d *doc, score float64) {
	i := len(t.scores)
	for i > 0 && t.scores[i-1] < score {
		i--
	}
	t.hits, t.scores = slices.Insert(t.hits, i, d), slices.Insert(t.scores, i, score)
	if len(t.hits) > t.k {
		t.hits, t.scores = t.hits[:t.k], t.scores[:t.k]
	}
}

func (t *topK) docs() []*doc {
	if t.hits == nil {
		return []*doc{}
	}
	return t.hits
}
