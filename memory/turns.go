package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// chunk is one record of turns, with the revision it was read at.
type chunk struct {
	key   string
	turns []Turn
	rev   uint64
}

// readMeta returns a conversation's record and its revision.
func readMeta(ctx context.Context, b Reader, ck string) (meta, uint64, error) {
	data, rev, err := b.Get(ctx, metaRecord(ck))
	if err != nil {
		return meta{}, 0, err
	}
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return meta{}, 0, fmt.Errorf("decoding conversation record: %w", err)
	}
	return m, rev, nil
}

// readTurns returns the turns with seqs in [from, to), oldest first, and
// the chunks that hold them.
func readTurns(ctx context.Context, b Reader, ck string, from, to int64) ([]Turn, []chunk, error) {
	if from >= to {
		return nil, nil, nil
	}
	keys := chunkKeys(ck, from, to)
	vals, revs, err := b.GetMany(ctx, keys)
	if err != nil {
		return nil, nil, err
	}
	chunks := make([]chunk, len(keys))
	var out []Turn
	for i, v := range vals {
		chunks[i] = chunk{key: keys[i], rev: revs[i]}
		if v == nil {
			continue // expired, or not written yet
		}
		if err := json.Unmarshal(v, &chunks[i].turns); err != nil {
			return nil, nil, fmt.Errorf("decoding turns: %w", err)
		}
		for _, t := range chunks[i].turns {
			if t.Seq >= from && t.Seq < to {
				out = append(out, t)
			}
		}
	}
	slices.SortFunc(out, func(a, b Turn) int { return int(a.Seq - b.Seq) })
	return out, chunks, nil
}

// writeTurns adds turns to their chunks, each written on the revision it
// was read at; known holds chunks read before, whose revisions are tried
// first. A chunk another router wrote meanwhile is read again.
func writeTurns(ctx context.Context, b Bucket, ck string, turns []Turn, known []chunk) error {
	byKey := map[string][]Turn{}
	var order []string
	for _, t := range turns {
		k := chunkRecord(ck, t.Seq)
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], t)
	}
	for _, k := range order {
		c := chunk{key: k}
		if i := slices.IndexFunc(known, func(c chunk) bool { return c.key == k }); i >= 0 {
			c = known[i]
		}
		if err := addToChunk(ctx, b, c, byKey[k]); err != nil {
			return err
		}
	}
	return nil
}

// maxRetries bounds the conditional writes of one change that other
// routers keep overtaking.
const maxRetries = 16

func addToChunk(ctx context.Context, b Bucket, c chunk, add []Turn) error {
	for range maxRetries {
		turns := append(slices.Clone(c.turns), add...)
		data, err := json.Marshal(turns)
		if err != nil {
			return err
		}
		_, err = b.Put(ctx, c.key, data, c.rev)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		v, rev, err := b.Get(ctx, c.key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		c.rev, c.turns = rev, nil
		if v != nil {
			if err := json.Unmarshal(v, &c.turns); err != nil {
				return fmt.Errorf("decoding turns: %w", err)
			}
		}
	}
	return fmt.Errorf("writing turns: %w: other writers kept overtaking", ErrConflict)
}

// chunkKeys are the records of the turns with seqs in [from, to).
func chunkKeys(ck string, from, to int64) []string {
	var keys []string
	for seq := from - (from-1)%chunkTurns; seq < to; seq += chunkTurns {
		keys = append(keys, chunkRecord(ck, seq))
	}
	return keys
}
