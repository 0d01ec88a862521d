package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/task"
)

// ErrNotFound is returned for a job that does not exist, has expired, or
// belongs to another API key.
var ErrNotFound = errors.New("jobs: no such job")

// store keeps jobs as JSON in a key-value store, under their ids.
type store struct {
	kv kv.Store
}

func (s store) get(ctx context.Context, id string) (Job, error) {
	if !validID(id) {
		return Job{}, ErrNotFound
	}
	data, _, err := s.kv.Get(ctx, id)
	if errors.Is(err, kv.ErrNotFound) {
		return Job{}, ErrNotFound
	}
	if err != nil {
		return Job{}, fmt.Errorf("reading job %s: %w", id, err)
	}
	var j Job
	if err := json.Unmarshal(data, &j); err != nil {
		return Job{}, fmt.Errorf("decoding job %s: %w", id, err)
	}
	return j, nil
}

func (s store) create(ctx context.Context, j *Job) error {
	data, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encoding job %s: %w", j.ID, err)
	}
	if _, err := s.kv.Create(ctx, j.ID, data); err != nil {
		return fmt.Errorf("storing job %s: %w", j.ID, err)
	}
	return nil
}

func (s store) put(ctx context.Context, j *Job) error {
	data, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encoding job %s: %w", j.ID, err)
	}
	if _, err := s.kv.Put(ctx, j.ID, data); err != nil {
		return fmt.Errorf("storing job %s: %w", j.ID, err)
	}
	return nil
}

// validID accepts the ids NewID makes, so that no caller-chosen string
// reaches a store key or a NATS subject.
func validID(id string) bool {
	if len(id) < 5 || len(id) > 64 || id[:4] != "job_" {
		return false
	}
	for i := 4; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func newJobID() string { return task.NewID("job_") }
