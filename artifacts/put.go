package artifacts

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/task"
)

// The object store's subjects, as nats.go's jetstream package lays them
// out: chunks of an object on $O.<bucket>.C.<nuid>, its info on
// $O.<bucket>.M.<base64url(name)>. Objects written here read back with
// its ObjectStore.Get, and the other way round.
const (
	chunkSubject = "$O.%s.C.%s"
	metaSubject  = "$O.%s.M.%s"
	digestPrefix = "SHA-256="
)

// putWindow is how many chunks of one Put may await the server's
// acknowledgement: it bounds the memory an upload holds, in this process
// and in an embedded server, to putWindow chunks (4 MiB), and keeps a put
// as fast as nats.go's unbounded one.
const putWindow = 16

// ackWait bounds the wait for one chunk's acknowledgement when the
// caller's context sets no deadline.
const ackWait = 30 * time.Second

// objectPut is one Put in progress: the chunks sent under a fresh nuid,
// hashed as they go.
type objectPut struct {
	s      *Store
	lr     *limitReader
	nuid   string
	h      hash.Hash
	size   int64
	chunks int
	sent   bool      // some chunk went out: discard must purge
	start  time.Time // before the first chunk: when the artifact counts as stored
}

// send reads the data and publishes it chunk by chunk. Each of the
// putWindow buffers is filled again only once the server acknowledged
// the chunk it last carried, which a resend of that chunk may still read.
func (p *objectPut) send(ctx context.Context, meta *task.ArtifactRef) error {
	subject := fmt.Sprintf(chunkSubject, p.s.cfg.Bucket, p.nuid)
	bufs := make([][]byte, putWindow)
	acks := make([]jetstream.PubAckFuture, putWindow)
	for i := 0; ; i++ {
		slot := i % putWindow
		if err := p.s.awaitAck(ctx, acks[slot]); err != nil {
			return err
		}
		acks[slot] = nil // its channels give their value once
		if bufs[slot] == nil {
			bufs[slot] = make([]byte, p.s.cfg.ChunkSize)
		}
		n, rerr := io.ReadFull(p.lr, bufs[slot])
		if n > 0 {
			data := bufs[slot][:n]
			if i == 0 && meta.MIME == "" {
				meta.MIME = http.DetectContentType(data)
			}
			p.h.Write(data)
			p.size, p.chunks, p.sent = p.size+int64(n), p.chunks+1, true
			ack, err := p.s.js.PublishMsgAsync(&nats.Msg{Subject: subject, Data: data})
			if err != nil {
				return err
			}
			acks[slot] = ack
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			return p.s.awaitAll(ctx, acks)
		}
		if rerr != nil {
			return rerr
		}
	}
}

// awaitAck waits for a chunk's acknowledgement, if there is one to wait for.
func (s *Store) awaitAck(ctx context.Context, ack jetstream.PubAckFuture) error {
	if ack == nil {
		return nil
	}
	t := time.NewTimer(ackWait)
	defer t.Stop()
	select {
	case <-ack.Ok():
		return nil
	case err := <-ack.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("no acknowledgement of a chunk within %s", ackWait)
	}
}

func (s *Store) awaitAll(ctx context.Context, acks []jetstream.PubAckFuture) error {
	for _, ack := range acks {
		if err := s.awaitAck(ctx, ack); err != nil {
			return err
		}
	}
	return nil
}

// discard purges the chunks of a Put that failed.
// A store that may not purge leaves them to expire.
func (p *objectPut) discard(ctx context.Context) {
	if p.sent {
		p.s.purgeChunks(context.WithoutCancel(ctx), p.nuid)
	}
}

// purgeChunks purges the chunks of the object stored under nuid, when
// this store purges.
func (s *Store) purgeChunks(ctx context.Context, nuid string) {
	if s.purges {
		_ = s.stream.Purge(ctx, jetstream.WithPurgeSubject(fmt.Sprintf(chunkSubject, s.cfg.Bucket, nuid)))
	}
}

// name makes the chunks sent the artifact meta.ID: by publishing its info
// under that name, unless the same bytes are stored and not about to
// expire, when the new chunks go instead. Chunks of an older copy it
// replaces are purged; its owners carry over. The info goes out only
// while the info read is still the last one: a put or a claim that came
// first wins, and this one reads again. created says whether no copy was
// stored before. Info naming other bytes (see verify) is replaced.
func (p *objectPut) name(ctx context.Context, meta task.ArtifactRef) (task.ArtifactRef, bool, error) {
	s := p.s
	for range maxOwnerTries {
		old, seq, err := s.readInfo(ctx, meta.ID)
		if err != nil {
			p.discard(ctx)
			return task.ArtifactRef{}, false, err
		}
		if old != nil && s.verify(meta.ID, s.refOf(old)) != nil {
			old = nil // forged or expired: stored anew
		}
		if old != nil && time.Since(storedAt(old)) < s.cfg.TTL/2 {
			p.discard(ctx)
			return s.refOf(old), false, nil
		}
		md := metadata(meta, p.start)
		if old != nil && old.Metadata[mdOwners] != "" {
			md[mdOwners] = old.Metadata[mdOwners]
		}
		err = p.publishInfo(ctx, meta.ID, md, seq)
		if errors.Is(err, errInfoMoved) {
			continue
		}
		if err != nil {
			p.discard(ctx)
			return task.ArtifactRef{}, false, s.storeErr("storing an artifact", err)
		}
		if old != nil && old.NUID != "" {
			// Renewed: the old copy's chunks go; the new copy lives a whole TTL.
			s.purgeChunks(ctx, old.NUID)
		}
		meta.Stored = p.start
		meta.Expires = meta.Stored.Add(s.cfg.TTL)
		return meta, old == nil, nil
	}
	p.discard(ctx)
	return task.ArtifactRef{}, false, task.Errorf(task.CodeUnavailable, "artifact %s changed %d times while it was stored; retry", meta.ID, maxOwnerTries)
}

// publishInfo publishes the object's info under its name, replacing any
// earlier info of that name (a roll-up), as nats.go's Put does.
func (p *objectPut) publishInfo(ctx context.Context, id string, md map[string]string, expectSeq uint64) error {
	info := &jetstream.ObjectInfo{
		ObjectMeta: jetstream.ObjectMeta{Name: id, Metadata: md,
			Opts: &jetstream.ObjectMetaOptions{ChunkSize: uint32(p.s.cfg.ChunkSize)}},
		Bucket: p.s.cfg.Bucket, NUID: p.nuid, Size: uint64(p.size), Chunks: uint32(p.chunks),
		Digest: digestPrefix + base64.URLEncoding.EncodeToString(p.h.Sum(nil)),
	}
	return p.s.publishInfo(ctx, info, expectSeq)
}

// publishInfo publishes an object's info, replacing the earlier info of
// its name; with expectSeq, only while that is still the last info (an
// error matching errInfoMoved when another came first).
func (s *Store) publishInfo(ctx context.Context, info *jetstream.ObjectInfo, expectSeq ...uint64) error {
	info.ModTime = time.Time{}
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	m := nats.NewMsg(s.metaSubject(info.Name))
	m.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	m.Data = data
	var opts []jetstream.PublishOpt
	for _, seq := range expectSeq {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(seq))
	}
	_, err = s.js.PublishMsg(ctx, m, opts...)
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return errInfoMoved
	}
	return err
}

// errInfoMoved: an object's info changed since it was read.
var errInfoMoved = errors.New("artifacts: the object's info changed meanwhile")

func (s *Store) metaSubject(id string) string {
	return fmt.Sprintf(metaSubject, s.cfg.Bucket, base64.URLEncoding.EncodeToString([]byte(id)))
}
