package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
)

// CallbackConfig configures the delivery of results to callback URLs.
type CallbackConfig struct {
	// Secret signs every delivery (Standard Webhooks, "v1"); callbacks are
	// refused when it is unset.
	Secret webhook.Secret
	// MaxAttempts bounds the attempts per delivery (8).
	MaxAttempts int
	// InitialBackoff is the wait after the first failure (1s); each later
	// wait doubles, up to MaxBackoff (5m), with jitter.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Timeout bounds one attempt (15s).
	Timeout time.Duration
	// AllowPrivate lets callbacks reach every address, loopback and
	// private ones included: for trusted setups and tests. By default
	// they reach public addresses only, and those in AllowCIDRs.
	AllowPrivate bool
	// AllowCIDRs are ranges callbacks may reach although they are not
	// public, such as the private network of trusted receivers.
	AllowCIDRs []netip.Prefix
	// Client sends the requests; default a client that follows no
	// redirects, as the Standard Webhooks spec asks, and connects only to
	// the addresses allowed above. A Client given here must screen the
	// addresses it connects to itself.
	Client *http.Client
}

func (c CallbackConfig) withDefaults() CallbackConfig {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.InitialBackoff <= 0 {
		c.InitialBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	return c
}

// Backoff is the wait before attempt n+1 after n failed attempts:
// InitialBackoff doubled n-1 times, at most MaxBackoff, of which a random
// half is taken off ("equal jitter") so that receivers recovering from an
// outage are not hit by every sender at the same instant.
func (c CallbackConfig) Backoff(n int) time.Duration {
	c = c.withDefaults()
	d := c.InitialBackoff
	for i := 1; i < n && d < c.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// deliverer posts job results to their callback URLs with retries.
type deliverer struct {
	cfg   CallbackConfig
	store store
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newDeliverer(cfg CallbackConfig, s store, log *slog.Logger) *deliverer {
	d := &deliverer{cfg: cfg.withDefaults(), store: s, log: log}
	if d.cfg.Client == nil {
		d.cfg.Client = d.cfg.client()
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d
}

// start delivers a finished job's result in the background.
func (d *deliverer) start(j Job) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.run(j)
	}()
}

// close waits for deliveries in progress until ctx ends, then stops them;
// their state stays "pending" with the time of the next attempt.
func (d *deliverer) close(ctx context.Context) {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		d.cancel()
		<-done
	}
	d.cancel()
	d.cfg.Client.CloseIdleConnections() // the default client's transport is this deliverer's own
}

// callbackBody is the delivered payload, in the shape the Standard
// Webhooks spec recommends: type, timestamp and data.
type callbackBody struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Job       `json:"data"`
}

// run attempts the delivery until a 2xx, a 410 Gone, the last attempt,
// or shutdown, storing the delivery state after every attempt.
func (d *deliverer) run(j Job) {
	cb := j.Callback
	// The job as GET /v1/jobs/{id} shows it, without the state of this
	// very delivery, which changes with every attempt.
	out := j.clone().Public()
	out.Callback = nil
	body, err := json.Marshal(callbackBody{Type: "job." + string(j.Status), Timestamp: j.EndedAt, Data: out})
	if err != nil {
		d.log.Error("encoding callback", "job_id", j.ID, "err", err)
		return
	}
	for cb.State == DeliveryPending {
		if !sleepUntil(d.ctx, cb.NextAttemptAt) {
			return
		}
		status, retryAfter, err := d.post(j.ID, cb.URL, body)
		d.record(cb, status, retryAfter, err)
		err = d.store.update(context.WithoutCancel(d.ctx), &j)
		if errors.Is(err, errLeaseLost) {
			d.log.Warn("another router took the callback over; stopping it here", "job_id", j.ID)
			return
		}
		if err != nil {
			d.log.Warn("storing callback state", "job_id", j.ID, "err", err)
		}
	}
}

// record updates the delivery state after one attempt.
func (d *deliverer) record(cb *Callback, status int, retryAfter time.Duration, err error) {
	now := time.Now().UTC()
	cb.Attempts++
	cb.LastStatus, cb.LastError, cb.NextAttemptAt = status, "", time.Time{}
	switch {
	case err == nil && status >= 200 && status < 300:
		cb.State, cb.DeliveredAt = DeliveryDelivered, now
		return
	case errors.Is(err, ErrRefusedAddress):
		// Retrying would reach the same address again.
		cb.State, cb.LastError = DeliveryFailed, refusal(err)
		return
	case err != nil:
		cb.LastError = err.Error()
	default:
		cb.LastError = fmt.Sprintf("the receiver answered %d", status)
	}
	if status == http.StatusGone || cb.Attempts >= d.cfg.MaxAttempts {
		cb.State = DeliveryFailed
		return
	}
	cb.NextAttemptAt = now.Add(max(d.cfg.Backoff(cb.Attempts), retryAfter))
}

// post makes one signed attempt; webhook-id is the job id on every
// attempt, so receivers can drop duplicates, and webhook-timestamp is the
// attempt's time.
func (d *deliverer) post(id, url string, body []byte) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("building the callback request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "taskrouter-callbacks/1")
	d.cfg.Secret.SetHeaders(req.Header, id, time.Now(), body)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		var refused *AddressError
		if errors.As(err, &refused) {
			d.log.Warn("callback refused: its address is not public and not allowed", "job_id", id, "addr", refused.Addr, "kind", refused.Kind)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, 0, fmt.Errorf("posting the callback: no answer within %s", d.cfg.Timeout)
		}
		return 0, 0, fmt.Errorf("posting the callback: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, retryAfter(resp.Header.Get("Retry-After")), nil
}

// refusal is what a job's creator reads about a refused delivery: the
// kind of address, not the address itself, which may be that of an
// internal host the creator has no business learning.
func refusal(err error) string {
	var refused *AddressError
	if !errors.As(err, &refused) {
		return "not delivered: the callback address could not be checked, so it was refused"
	}
	return fmt.Sprintf("not delivered: the callback URL leads to a %s address, and this router delivers callbacks to public addresses only", refused.Kind)
}

// retryAfter reads a Retry-After header in seconds; at most an hour.
func retryAfter(v string) time.Duration {
	secs, err := strconv.Atoi(v)
	if err != nil || secs <= 0 {
		return 0
	}
	return min(time.Duration(secs)*time.Second, time.Hour)
}

// sleepUntil waits until t; it reports false when ctx ends first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
