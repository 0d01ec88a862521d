package memory

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Record appends turns (a request's input and answer) to the session's
// conversation, creating it on its first turns, indexes them in its
// memory scope, and drops the oldest turns past MaxTurns, from the index
// too. Seqs and times are set here.
func (m *Memory) Record(ctx context.Context, s *Session, turns []Turn) error {
	if len(turns) == 0 {
		return nil
	}
	first, err := m.claim(ctx, s, len(turns))
	if err != nil {
		return fmt.Errorf("recording turns of conversation %q: %w", s.key.Conversation, err)
	}
	now := time.Now().UTC()
	docs := make([]doc, len(turns))
	texts := make([]string, len(turns))
	for i := range turns {
		turns[i].Seq, turns[i].Time = first+int64(i), now
		turns[i].Content = cut(turns[i].Content, MaxTurnBytes)
		docs[i] = newDoc(s.ck, s.key.Conversation, turns[i])
		texts[i] = docs[i].Text
	}
	if vecs, model := m.embedTexts(ctx, texts); vecs != nil {
		for i := range docs {
			docs[i].Vec, docs[i].VecModel = encodeVector(vecs[i]), model
		}
	}
	// The turns and their index entries are different records: written
	// at once, they cost one round trip of the store, not two.
	indexed := make(chan error, 1)
	go func() { indexed <- indexDocs(ctx, m.b, s.sk, s.scope.meta, s.scope.rev, s.scope.open, docs) }()
	err = writeTurns(ctx, m.b, s.ck, turns, s.chunks)
	if ierr := <-indexed; ierr != nil && err == nil {
		return fmt.Errorf("indexing turns of conversation %q: %w", s.key.Conversation, ierr)
	}
	if err != nil {
		return fmt.Errorf("recording turns of conversation %q: %w", s.key.Conversation, err)
	}
	return m.trim(ctx, s)
}

// claim reserves n seqs in the conversation's record, creating it when
// it does not exist, and returns the first.
func (m *Memory) claim(ctx context.Context, s *Session, n int) (int64, error) {
	for range maxRetries {
		next := s.meta
		now := time.Now().UTC()
		if !s.exists {
			next.CreatedAt = now
		}
		next.UpdatedAt = now
		next.Next += int64(n)
		rev, err := putJSON(ctx, m.b, metaRecord(s.ck), next, s.metaRev)
		if err == nil {
			first := s.meta.Next
			s.meta, s.metaRev, s.exists = next, rev, true
			return first, nil
		}
		if !errors.Is(err, ErrConflict) {
			return 0, err
		}
		if err := m.reload(ctx, s); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("%w: other writers kept overtaking", ErrConflict)
}

// reload reads the conversation's record again after a conflict.
func (m *Memory) reload(ctx context.Context, s *Session) error {
	mt, rev, err := readMeta(ctx, m.b, s.ck)
	if errors.Is(err, ErrNotFound) {
		s.exists, s.metaRev = false, 0
		s.meta = meta{ID: s.key.Conversation, Scope: s.meta.Scope, First: 1, Next: 1}
		return nil
	}
	if err != nil {
		return err
	}
	s.meta, s.metaRev, s.exists = mt, rev, true
	return nil
}

// trim drops the turns past MaxTurns: whole records of turns, and the
// dropped turns' index entries, once a record's turns all fall out.
func (m *Memory) trim(ctx context.Context, s *Session) error {
	keepFrom := s.meta.Next - int64(m.cfg.MaxTurns)
	if keepFrom <= s.meta.First {
		return nil
	}
	dropped := chunkKeys(s.ck, s.meta.First, keepFrom)
	if keepFrom%chunkTurns != 1 && len(dropped) > 0 {
		dropped = dropped[:len(dropped)-1] // its later turns are kept
	}
	oldFirst := s.meta.First
	for range maxRetries {
		next := s.meta
		next.First = keepFrom
		rev, err := putJSON(ctx, m.b, metaRecord(s.ck), next, s.metaRev)
		if err == nil {
			s.meta, s.metaRev = next, rev
			break
		}
		if !errors.Is(err, ErrConflict) {
			return fmt.Errorf("dropping old turns: %w", err)
		}
		if err := m.reload(ctx, s); err != nil || s.meta.First >= keepFrom {
			return err
		}
	}
	if len(dropped) == 0 || (oldFirst-1)/chunkTurns == (keepFrom-1)/chunkTurns {
		return nil // no record fell out whole: its index entries wait for it
	}
	if err := m.b.Delete(ctx, dropped...); err != nil {
		return fmt.Errorf("dropping old turns: %w", err)
	}
	return removeDocs(ctx, m.b, s.sk, s.ck, keepFrom)
}

// Fold keeps text as the conversation's summary of its turns up to
// through, written by model, unless another router has already folded
// further; the session's summary and recent turns follow either way.
func (m *Memory) Fold(ctx context.Context, s *Session, through int64, text, model string) error {
	for range maxRetries {
		if s.Summary != nil && s.Summary.Through >= through {
			s.dropFolded()
			return nil
		}
		sum := &Summary{Text: text, Through: through, Model: model, UpdatedAt: time.Now().UTC()}
		if !s.exists {
			s.Summary = sum // a new conversation is written by Record
			s.meta.Summary = sum
			s.dropFolded()
			return nil
		}
		next := s.meta
		next.Summary = sum
		rev, err := putJSON(ctx, m.b, metaRecord(s.ck), next, s.metaRev)
		if err == nil {
			s.meta, s.metaRev, s.Summary = next, rev, sum
			s.dropFolded()
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			return fmt.Errorf("keeping the summary of conversation %q: %w", s.key.Conversation, err)
		}
		if err := m.reload(ctx, s); err != nil {
			return err
		}
		s.Summary = s.meta.Summary
	}
	return fmt.Errorf("keeping the summary: %w", ErrConflict)
}

// dropFolded removes from Recent the turns the summary covers.
func (s *Session) dropFolded() {
	if s.Summary == nil {
		return
	}
	i := 0
	for i < len(s.Recent) && s.Recent[i].Seq <= s.Summary.Through {
		i++
	}
	s.Recent = s.Recent[i:]
}
