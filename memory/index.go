package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
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
}

// scopeMeta is a memory scope's record. Its segments are numbered from 0;
// the last is the one being filled, the others are sealed: never changed
// again except by a removal, which gives the scope a new epoch, so that
// routers may keep sealed segments while the epoch holds.
type scopeMeta struct {
	Epoch    string `json:"epoch"`
	Segments int    `json:"segments"`
}

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
			next := scopeMeta{Epoch: sm.Epoch, Segments: sm.Segments + 1}
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
// with seqs below before (all of them with before 0), and gives the scope
// a new epoch, so that no router keeps them.
func removeDocs(ctx context.Context, b Bucket, sk, ck string, before int64) error {
	sm, smRev, err := readScope(ctx, b, sk)
	if err != nil || sm.Segments == 0 {
		return err
	}
	ns := make([]int, sm.Segments)
	for i := range ns {
		ns[i] = i
	}
	segs, err := readSegments(ctx, b, sk, ns)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if err := removeFrom(ctx, b, sk, s, ck, before); err != nil {
			return err
		}
	}
	return bumpEpoch(ctx, b, sk, sm, smRev)
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

func bumpEpoch(ctx context.Context, b Bucket, sk string, sm scopeMeta, rev uint64) error {
	for range maxRetries {
		sm.Epoch = task.NewID("")
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

// rank returns the k docs most relevant to the query's terms by BM25,
// best first, among those keep accepts; docs that share no term with the
// query are never returned.
func rank(query []string, docs []*doc, k int, keep func(*doc) bool) []*doc {
	if len(query) == 0 || len(docs) == 0 || k <= 0 {
		return nil
	}
	terms := map[string]bool{}
	for _, t := range query {
		terms[t] = true
	}
	df := map[string]int{}
	total := 0
	for _, d := range docs {
		total += d.Len
		for t := range terms {
			if d.Terms[t] > 0 {
				df[t]++
			}
		}
	}
	n, avg := float64(len(docs)), float64(total)/float64(len(docs))
	type scored struct {
		d     *doc
		score float64
	}
	var hits []scored
	for _, d := range docs {
		if !keep(d) {
			continue
		}
		s := 0.0
		for t := range terms {
			tf := float64(d.Terms[t])
			if tf == 0 {
				continue
			}
			idf := math.Log(1 + (n-float64(df[t])+0.5)/(float64(df[t])+0.5))
			s += idf * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*float64(d.Len)/max(avg, 1)))
		}
		if s > 0 {
			hits = append(hits, scored{d, s})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
	out := make([]*doc, 0, min(k, len(hits)))
	for _, h := range hits[:min(k, len(hits))] {
		out = append(out, h.d)
	}
	return out
}
