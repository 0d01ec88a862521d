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
	sent   bool // some chunk went out: discard must purge
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
func (p *objectPut) discard(ctx context.Context) {
	if p.sent {
		_ = p.s.stream.Purge(context.WithoutCancel(ctx), jetstream.WithPurgeSubject(fmt.Sprintf(chunkSubject, p.s.cfg.Bucket, p.nuid)))
	}
}

// name makes the chunks sent the artifact meta.ID: by publishing its info
// under that name, unless the same bytes are stored and not about to
// expire, when the new chunks go instead. Chunks of an older copy it
// replaces are purged. Two Puts of the same new bytes at once may both
// name theirs; the later one's chunks win and the earlier's expire.
func (p *objectPut) name(ctx context.Context, meta task.ArtifactRef) (task.ArtifactRef, error) {
	s := p.s
	old, err := s.obs.GetInfo(ctx, meta.ID)
	switch {
	case err == nil && time.Since(old.ModTime) < s.cfg.TTL/2:
		p.discard(ctx)
		return s.refOf(old), nil
	case err != nil && !errors.Is(err, jetstream.ErrObjectNotFound):
		p.discard(ctx)
		return task.ArtifactRef{}, s.storeErr("storing an artifact", err)
	}
	if err := p.publishInfo(ctx, meta); err != nil {
		p.discard(ctx)
		return task.ArtifactRef{}, s.storeErr("storing an artifact", err)
	}
	if old != nil && old.NUID != "" {
		// Renewed: the old copy's chunks go; the new copy lives a whole TTL.
		_ = s.stream.Purge(ctx, jetstream.WithPurgeSubject(fmt.Sprintf(chunkSubject, s.cfg.Bucket, old.NUID)))
	}
	meta.Stored = time.Now()
	meta.Expires = meta.Stored.Add(s.cfg.TTL)
	return meta, nil
}

// publishInfo publishes the object's info under its name, replacing any
// earlier info of that name (a roll-up), as nats.go's Put does.
func (p *objectPut) publishInfo(ctx context.Context, meta task.ArtifactRef) error {
	info := jetstream.ObjectInfo{
		ObjectMeta: jetstream.ObjectMeta{Name: meta.ID, Metadata: metadata(meta),
			Opts: &jetstream.ObjectMetaOptions{ChunkSize: uint32(p.s.cfg.ChunkSize)}},
		Bucket: p.s.cfg.Bucket, NUID: p.nuid, Size: uint64(p.size), Chunks: uint32(p.chunks),
		Digest: digestPrefix + base64.URLEncoding.EncodeToString(p.h.Sum(nil)),
	}
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	m := nats.NewMsg(fmt.Sprintf(metaSubject, p.s.cfg.Bucket, base64.URLEncoding.EncodeToString([]byte(meta.ID))))
	m.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	m.Data = data
	_, err = p.s.js.PublishMsg(ctx, m)
	return err
}
