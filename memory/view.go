package memory

import (
	"context"
	"fmt"
)

// Get returns the conversation owner sees under id: its turns and its
// summary, or ErrNotFound.
func (m *Memory) Get(ctx context.Context, owner, id string) (View, error) {
	ck := convKey(owner, id)
	mt, _, err := readMeta(ctx, m.b, ck)
	if err != nil {
		return View{}, fmt.Errorf("reading conversation %q: %w", id, err)
	}
	turns, _, err := readTurns(ctx, m.b, ck, mt.First, mt.Next)
	if err != nil {
		return View{}, fmt.Errorf("reading conversation %q: %w", id, err)
	}
	if turns == nil {
		turns = []Turn{}
	}
	return View{ID: mt.ID, Object: "conversation", MemoryScope: mt.Scope, CreatedAt: mt.CreatedAt, UpdatedAt: mt.UpdatedAt,
		Turns: turns, Summary: mt.Summary}, nil
}

// Forget deletes everything kept of the conversation owner sees under
// id: its turns, its summary, its record, and its turns in its memory
// scope's index (the whole index when the scope is its own), so that no
// router recalls them again. It returns ErrNotFound when there is no
// such conversation. The record goes last, so a Forget that fails half
// way can be repeated.
func (m *Memory) Forget(ctx context.Context, owner, id string) error {
	ck := convKey(owner, id)
	mt, _, err := readMeta(ctx, m.b, ck)
	if err != nil {
		return fmt.Errorf("reading conversation %q: %w", id, err)
	}
	if err := m.b.Delete(ctx, chunkKeys(ck, 1, mt.Next)...); err != nil {
		return fmt.Errorf("deleting conversation %q: %w", id, err)
	}
	sk := scopeKey(owner, id, mt.Scope)
	if err := m.forgetIndex(ctx, sk, ck, mt.Scope == ""); err != nil {
		return fmt.Errorf("deleting conversation %q from its index: %w", id, err)
	}
	m.scopes.drop(sk)
	if err := m.b.Delete(ctx, metaRecord(ck)); err != nil {
		return fmt.Errorf("deleting conversation %q: %w", id, err)
	}
	return nil
}

// forgetIndex removes a conversation's turns from its scope's index: the
// scope's every record when it is the conversation's own.
func (m *Memory) forgetIndex(ctx context.Context, sk, ck string, own bool) error {
	if !own {
		return removeDocs(ctx, m.b, sk, ck, 0)
	}
	sm, _, err := readScope(ctx, m.b, sk)
	if err != nil {
		return err
	}
	keys := []string{scopeRecord(sk)}
	for n := range sm.Segments {
		keys = append(keys, segmentRecord(sk, n))
	}
	// The segments first: a scope record without them is a new scope.
	if err := m.b.Delete(ctx, keys[1:]...); err != nil {
		return err
	}
	return m.b.Delete(ctx, keys[0])
}
