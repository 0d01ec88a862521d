package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/task"
)

// An artifact uploaded through the files API belongs to the API keys that
// uploaded it: their owner ids (hashes of the keys, never keys) are kept
// in the object's info. As artifacts are content-addressed, two keys that
// upload the same bytes share one artifact; each one's delete releases
// its claim, and the bytes go with the last. Artifacts that models made
// or requests attached inline have no owners.

// maxOwnerTries bounds the retries of an owners' update that raced
// another one.
const maxOwnerTries = 8

// Claim records owner among the owners of the artifact id. A claimed
// artifact is deleted by its owners only (Release). Errors match
// ErrNotFound when the artifact does not exist.
func (s *Store) Claim(ctx context.Context, id, owner string) error {
	if owner == "" || strings.ContainsAny(owner, " \t") {
		return task.Errorf(task.CodeInvalidRequest, "artifacts: owner %q must be a non-empty word", owner)
	}
	_, err := s.updateOwners(ctx, id, func(owners []string) ([]string, error) {
		if slices.Contains(owners, owner) {
			return owners, nil
		}
		return append(owners, owner), nil
	})
	return err
}

// Release withdraws owner's claim on the artifact id and deletes the
// artifact when no owner remains; gone says whether it did. An artifact
// that owner does not own is, to it, an error matching ErrNotFound.
func (s *Store) Release(ctx context.Context, id, owner string) (gone bool, err error) {
	return s.updateOwners(ctx, id, func(owners []string) ([]string, error) {
		i := slices.Index(owners, owner)
		if i < 0 || owner == "" {
			return nil, s.notOwned(id)
		}
		return slices.Delete(owners, i, i+1), nil
	})
}

// DeleteUnclaimed deletes the artifact id unless an owner claimed it
// meanwhile, for an upload that failed after storing new bytes; gone says
// whether it did.
func (s *Store) DeleteUnclaimed(ctx context.Context, id string) (gone bool, err error) {
	return s.updateOwners(ctx, id, func(owners []string) ([]string, error) {
		if len(owners) > 0 {
			return owners, errClaimed
		}
		return nil, nil
	})
}

// Owners lists the owners of the artifact id (none for an artifact no
// upload claimed).
func (s *Store) Owners(ctx context.Context, id string) ([]string, error) {
	info, _, err := s.lastInfo(ctx, id)
	if err != nil {
		return nil, err
	}
	return ownersOf(info), nil
}

var errClaimed = errors.New("artifacts: claimed")

// updateOwners applies change to the artifact's owners and publishes its
// info again, only while no other update came first (retrying then).
// Owners that become none delete the artifact, unless they were none.
func (s *Store) updateOwners(ctx context.Context, id string, change func([]string) ([]string, error)) (gone bool, err error) {
	for range maxOwnerTries {
		info, seq, err := s.lastInfo(ctx, id)
		if err != nil {
			return false, err
		}
		before := ownersOf(info)
		after, err := change(slices.Clone(before))
		if errors.Is(err, errClaimed) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if slices.Equal(before, after) && len(after) > 0 {
			return false, nil
		}
		if len(after) == 0 {
			info.Deleted, info.Size, info.Chunks, info.Digest = true, 0, 0, ""
			delete(info.Metadata, mdOwners)
		} else {
			info.Metadata[mdOwners] = strings.Join(after, " ")
		}
		err = s.publishInfo(ctx, info, seq)
		if errors.Is(err, errInfoMoved) {
			continue
		}
		if err != nil {
			return false, s.storeErr("updating artifact "+id, err)
		}
		if info.Deleted {
			s.purgeChunks(ctx, info.NUID)
		}
		return info.Deleted, nil
	}
	return false, task.Errorf(task.CodeUnavailable, "artifact %s changed %d times while its owners were updated; retry", id, maxOwnerTries)
}

// lastInfo reads the artifact's info and the sequence of its message.
func (s *Store) lastInfo(ctx context.Context, id string) (*jetstream.ObjectInfo, uint64, error) {
	if err := s.known(ctx, id); err != nil {
		return nil, 0, err
	}
	info, seq, err := s.readInfo(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	if info == nil {
		return nil, 0, s.lookupErr(id, jetstream.ErrObjectNotFound)
	}
	if err := s.verify(id, s.refOf(info)); err != nil {
		return nil, 0, err
	}
	return info, seq, nil
}

// readInfo reads the last info message of the object id and its
// sequence: a nil info when there is none (seq 0), or when it marks a
// delete or cannot be read.
func (s *Store) readInfo(ctx context.Context, id string) (*jetstream.ObjectInfo, uint64, error) {
	m, err := s.stream.GetLastMsgForSubject(ctx, s.metaSubject(id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, s.lookupErr(id, err)
	}
	var info jetstream.ObjectInfo
	if err := json.Unmarshal(m.Data, &info); err != nil || info.Deleted {
		return nil, m.Sequence, nil
	}
	info.ModTime = m.Time
	if info.Metadata == nil {
		info.Metadata = map[string]string{}
	}
	return &info, m.Sequence, nil
}

func ownersOf(info *jetstream.ObjectInfo) []string {
	return strings.Fields(info.Metadata[mdOwners])
}

func (s *Store) notOwned(id string) error {
	return task.Errorf(task.CodeNotFound, "artifact %s is not one of this owner's", id)
}
