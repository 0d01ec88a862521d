package executors

import (
	"context"
	"os"
	"time"

	"github.com/taskrouter/taskrouter/registry"
)

func (e *Executor) announce(ctx context.Context) error {
	if e.cfg.Announcer == nil {
		return nil
	}
	for _, m := range e.models {
		if err := e.cfg.Announcer.Announce(ctx, m.Spec); err != nil {
			return err
		}
	}
	e.beat(ctx)
	return nil
}

// heartbeats refreshes every replica until Stop, and stops by itself when
// the NATS connection is closed: a replica that cannot take work must not
// look alive.
func (e *Executor) heartbeats() {
	defer close(e.hbDone)
	t := time.NewTicker(e.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-e.hbStop:
			return
		case now := <-t.C:
			if e.nc.IsClosed() {
				return
			}
			e.cancel.expire(now)
			ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Heartbeat)
			e.beat(ctx)
			cancel()
		}
	}
}

// heartbeatsPerTTL is how many heartbeats a replica's registration
// outlives: three, so that one late beat on a starved machine (a burst)
// does not make a live model look dead. A dead executor is found sooner by
// its dispatches (no responders, no accepted) than by its expiry.
const heartbeatsPerTTL = 3

func (e *Executor) beat(ctx context.Context) {
	if e.cfg.Announcer == nil {
		return
	}
	host, _ := os.Hostname()
	for name, m := range e.models {
		r := registry.Replica{Model: name, ID: e.cfg.ID, Host: host, InFlight: m.inFlight(),
			Capacity: m.workers, SeenAt: time.Now()}
		if err := e.cfg.Announcer.Heartbeat(ctx, r, heartbeatsPerTTL*e.cfg.Heartbeat); err != nil {
			e.cfg.Logger.Warn("heartbeat failed", "model", name, "err", err)
		}
	}
}

func (e *Executor) deregister(ctx context.Context) {
	if e.cfg.Announcer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for name := range e.models {
		if err := e.cfg.Announcer.Deregister(ctx, name, e.cfg.ID); err != nil {
			e.cfg.Logger.Warn("deregistering replica", "model", name, "err", err)
		}
	}
}
