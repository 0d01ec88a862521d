package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/task"
)

// ErrNotFound is returned for a job that does not exist, has expired, or
// belongs to another API key.
var ErrNotFound = errors.New("jobs: no such job")

// ErrTooLarge is returned for a job whose request is larger than the job
// store takes.
var ErrTooLarge = errors.New("jobs: the job is too large for the job store")

// ErrExists is returned by Submit for a job id that is already taken.
var ErrExists = errors.New("jobs: a job with this id exists")

// store keeps jobs as JSON in a key-value store, under their ids.
type store struct {
	kv   kv.Store
	held *holdings // told of every write, which renews the job's lease
}

func (s store) get(ctx context.Context, id string) (Job, error) {
	if !validID(id) {
		return Job{}, ErrNotFound
	}
	data, rev, err := s.kv.Get(ctx, id)
	if errors.Is(err, kv.ErrNotFound) {
		return Job{}, ErrNotFound
	}
	if err != nil {
		return Job{}, fmt.Errorf("reading job %s: %w", id, err)
	}
	var j Job
	if err := task.CheckJSONDepth(data, task.MaxWireJSONDepth); err != nil {
		// The store is ours: a record it holds is no fault of the caller's.
		return Job{}, fmt.Errorf("decoding job %s: %s", id, task.AsError(err).Message)
	}
	if err := json.Unmarshal(data, &j); err != nil {
		return Job{}, fmt.Errorf("decoding job %s: %w", id, err)
	}
	j.rev = rev
	return j, nil
}

func (s store) create(ctx context.Context, j *Job) error {
	now := time.Now()
	j.LeaseExpires = now.Add(s.held.ttl).UTC()
	data, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encoding job %s: %w", j.ID, err)
	}
	rev, err := s.kv.Create(ctx, j.ID, data)
	if errors.Is(err, kv.ErrTooLarge) {
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	if errors.Is(err, kv.ErrExists) {
		return fmt.Errorf("%w: %s", ErrExists, j.ID)
	}
	if err != nil {
		return fmt.Errorf("storing job %s: %w", j.ID, err)
	}
	j.rev = rev
	s.held.wrote(j, now)
	return nil
}

// errLeaseLost: another router has taken the job over, since this one
// was taken for lost; this one must stop running it and writing it.
var errLeaseLost = errors.New("jobs: another router has taken the job over")

// swap writes the job if it is still at the revision j was read or last
// written at, or returns kv.ErrConflict. The write renews the job's lease
// unless nothing is left to do for it. A job too large for the store is
// shrunk until it fits, so that it never stays stored as running.
func (s store) swap(ctx context.Context, j *Job) error {
	now := time.Now()
	var rev uint64
	for {
		j.LeaseExpires = time.Time{}
		if !j.settled() {
			j.LeaseExpires = now.Add(s.held.ttl).UTC()
		}
		data, err := json.Marshal(j)
		if err != nil {
			return fmt.Errorf("encoding job %s: %w", j.ID, err)
		}
		rev, err = s.kv.Update(ctx, j.ID, data, j.rev)
		if errors.Is(err, kv.ErrTooLarge) && j.shrink(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("storing job %s: %w", j.ID, err)
		}
		break
	}
	j.rev = rev
	s.held.wrote(j, now)
	return nil
}

// update writes a job the caller owns. A revision conflict is resolved by
// reading the job: if its lease is still j's (an earlier write whose answer
// was lost), j wins; otherwise the job was taken over, or has expired, and
// errLeaseLost is returned, so that a router taken for lost never
// overwrites the one that took its jobs over.
func (s store) update(ctx context.Context, j *Job) error {
	err := s.swap(ctx, j)
	if !errors.Is(err, kv.ErrConflict) {
		return err
	}
	cur, err := s.get(ctx, j.ID)
	if errors.Is(err, ErrNotFound) || err == nil && cur.Lease != j.Lease {
		s.held.drop(j.ID)
		return errLeaseLost
	}
	if err != nil {
		return err
	}
	j.rev = cur.rev
	return s.swap(ctx, j)
}

// ValidID reports whether id may name a job: 1-64 letters, digits, '-'
// and '_', starting with a letter or digit. The ids routers make
// (job_...) are such, and so must be the message ids producers give
// durable requests, which become their jobs' ids. Nothing else reaches a
// store key or a NATS subject.
func ValidID(id string) bool {
	if id == "" || len(id) > 64 || id[0] == '-' || id[0] == '_' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validID(id string) bool { return ValidID(id) }

func newJobID() string { return task.NewID("job_") }
