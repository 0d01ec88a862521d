package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/artifacts"
)

// ArtifactsConfig is the store of binary data (images, audio, files) in a
// JetStream object store on the same NATS.
type ArtifactsConfig struct {
	// TTL is how long an artifact is kept after it was stored.
	TTL time.Duration `yaml:"ttl"`
	// MaxBytes bounds one artifact; a larger one is refused naming it.
	MaxBytes int64 `yaml:"max_bytes"`
}

func defaultArtifactsConfig() ArtifactsConfig {
	return ArtifactsConfig{TTL: artifacts.DefaultTTL, MaxBytes: artifacts.DefaultMaxBytes}
}

func (c ArtifactsConfig) validate(bad func(string, ...any)) {
	if c.TTL < time.Minute {
		bad("artifacts.ttl: %s must be at least 1m, such as 24h", c.TTL)
	}
	if c.MaxBytes < 1<<10 || c.MaxBytes > 1<<30 {
		bad("artifacts.max_bytes: %d must be from 1024 to 1073741824 (1 GiB), such as 33554432 (32 MiB)", c.MaxBytes)
	}
}

// openArtifacts opens the artifact store on the app's NATS: a router
// creates the bucket or updates it to its config; a process of executors
// only joins the bucket a router made, as its NATS user may store and
// read artifacts but not change the bucket (started before any router,
// it joins at its first media step). A NATS without JetStream
// has none: the app then runs without, and requests with attachments and
// the models that read or make files are unavailable.
func (a *app) openArtifacts(ctx context.Context, router bool) error {
	nc, err := a.bus.Connect("artifacts")
	if err != nil {
		return unavailableError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cfg := artifacts.Config{TTL: a.cfg.Artifacts.TTL, MaxBytes: a.cfg.Artifacts.MaxBytes, Replicas: a.cfg.NATS.Replicas}
	var s *artifacts.Store
	if router {
		s, err = artifacts.Open(ctx, nc, cfg)
	} else if s, err = artifacts.Join(ctx, nc, cfg); errors.Is(err, jetstream.ErrBucketNotFound) {
		s, err = artifacts.JoinLater(nc, cfg), nil
	}
	if err != nil {
		a.log.Warn("no artifact store: attachments and models that read or make images and audio are unavailable", "err", err)
		return nil
	}
	a.artifacts = s
	return nil
}

// openRemoteArtifacts joins the artifact store a router created on the
// NATS at nc, for a command that talks to a router elsewhere.
func openRemoteArtifacts(ctx context.Context, nc *nats.Conn, cfg ArtifactsConfig) (*artifacts.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := artifacts.Join(ctx, nc, artifacts.Config{TTL: cfg.TTL, MaxBytes: cfg.MaxBytes})
	if err != nil {
		return nil, unavailableError{fmt.Errorf("opening the artifact store: %w", err)}
	}
	return s, nil
}
