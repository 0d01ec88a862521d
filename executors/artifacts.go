package executors

import (
	"context"
	"io"
	"slices"
	"sync"

	"github.com/taskrouter/taskrouter/task"
)

// ArtifactModel is a Model that reads or makes binary data (images,
// audio, files): it gets, besides the work, the artifact store, scoped to
// the work. Open reads only the artifacts the work lists; what Put stores
// becomes the output's artifacts. Models that read text only implement
// Model alone and never see artifacts.
type ArtifactModel interface {
	GenerateArtifacts(ctx context.Context, w task.Work, store task.Artifacts, progress func(delta string)) (task.Output, error)
}

// scopedArtifacts is the store as one work sees it: it opens only the
// artifacts the work lists, so an executor fetches what its step needs
// and nothing else, and it records what the model stores.
type scopedArtifacts struct {
	store task.Artifacts
	reads []task.ArtifactRef
	mu    sync.Mutex
	made  []task.ArtifactRef
}

var _ task.Artifacts = (*scopedArtifacts)(nil)

// Open implements task.Artifacts for the artifacts the work lists.
func (s *scopedArtifacts) Open(ctx context.Context, id string) (io.ReadCloser, task.ArtifactRef, error) {
	i := slices.IndexFunc(s.reads, func(a task.ArtifactRef) bool { return a.ID == id })
	if i < 0 {
		return nil, task.ArtifactRef{}, task.Errorf(task.CodeBadInput, "artifact %s is not one this subtask reads", id)
	}
	rc, ref, err := s.store.Open(ctx, id)
	ref.Ref = s.reads[i].Ref
	return rc, ref, err
}

// Put implements task.Artifacts and records what the model made.
func (s *scopedArtifacts) Put(ctx context.Context, meta task.ArtifactRef, r io.Reader) (task.ArtifactRef, error) {
	ref, err := s.store.Put(ctx, meta, r)
	if err != nil {
		return ref, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.ContainsFunc(s.made, func(a task.ArtifactRef) bool { return a.ID == ref.ID }) {
		s.made = append(s.made, ref)
	}
	return ref, nil
}

// generateArtifacts runs work on a model that takes artifacts, with the
// store scoped to the work; the output lists what the model stored. An
// executor with no store still runs the model's text work (a remote model
// serves chat and caption alike); only touching the store fails.
func (e *Executor) generateArtifacts(ctx context.Context, m ArtifactModel, w *task.Work, progress func(string)) (task.Output, error) {
	var store task.Artifacts = noStore{executor: e.cfg.ID, model: w.Model}
	if e.cfg.Artifacts != nil {
		store = e.cfg.Artifacts
	} else if len(w.Artifacts) > 0 {
		return task.Output{}, noStore{executor: e.cfg.ID, model: w.Model}.err()
	}
	scope := &scopedArtifacts{store: store, reads: w.Artifacts}
	out, err := m.GenerateArtifacts(ctx, *w, scope, progress)
	if err != nil {
		return out, err
	}
	if len(out.Artifacts) == 0 {
		out.Artifacts = scope.made
	}
	return out, nil
}

// noStore is the store of an executor that has none: a model that reads
// or makes artifacts fails, saying why, when it tries.
type noStore struct{ executor, model string }

func (n noStore) err() error {
	return task.Errorf(task.CodeUnavailable, "executor %s has no artifact store, which model %s needs for images and audio", n.executor, n.model)
}

// Open implements task.Artifacts.
func (n noStore) Open(context.Context, string) (io.ReadCloser, task.ArtifactRef, error) {
	return nil, task.ArtifactRef{}, n.err()
}

// Put implements task.Artifacts.
func (n noStore) Put(context.Context, task.ArtifactRef, io.Reader) (task.ArtifactRef, error) {
	return task.ArtifactRef{}, n.err()
}
