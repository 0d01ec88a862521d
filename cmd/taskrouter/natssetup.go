package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/bus"
)

func runNATSSetup(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "nats-setup", "", "Creates taskrouter's JetStream state on a NATS of your own (nats.url), or brings its settings\n"+
		"up to the configuration: the durable requests' work queue TR_JOBS and results stream TR_RESULTS, the\n"+
		"routers' consumer, and the buckets taskrouter_jobs and taskrouter_webhooks, each kept by nats.replicas\n"+
		"servers; then prints them. serve does the same when it starts. Run it once before producers that may\n"+
		"publish durable requests before any router has run: a publish to a stream that does not exist yet\n"+
		"fails (no responders). It logs in with nats.user etc., as a router user.")
	config := fs.String("config", "", "configuration `file` (YAML): nats.url, the login, nats.replicas, nats.durable, http.jobs.ttl")
	natsURL := fs.String("nats", "", "NATS `URL` (default: nats.url)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("nats-setup takes no arguments, got %q", strings.Join(rest, " "))}
	}
	cfg, err := loadConfig(env, *config)
	if err != nil {
		return err
	}
	if *natsURL != "" {
		cfg.NATS.URL = *natsURL
	}
	if cfg.NATS.URL == "" {
		return usageError{"nats-setup works on a NATS of your own: set nats.url or --nats (serve sets the embedded server up itself)"}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nc, closeBus, err := connectAsRouter(ctx, env, cfg, "setup")
	if err != nil {
		return err
	}
	defer closeBus()
	if err := setUpJetStream(ctx, nc, cfg); err != nil {
		return unavailableError{err}
	}
	return describeJetStream(ctx, env.stdout, nc)
}

// connectAsRouter connects to nats.url with this process's login and
// the routers' inbox prefix.
func connectAsRouter(ctx context.Context, env *cliEnv, cfg Config, name string) (*nats.Conn, func(), error) {
	bc, err := busConfig(cfg, env.getenv, bus.RouterInboxPrefix, newLogger(env, cfg.Log.Level, cfg.Log.Format))
	if err != nil {
		return nil, nil, err
	}
	b, err := bus.Start(ctx, bc)
	if err != nil {
		return nil, nil, unavailableError{err}
	}
	nc, err := b.Connect(name)
	if err != nil {
		_ = b.Close()
		return nil, nil, unavailableError{err}
	}
	return nc, func() { _ = b.Close() }, nil
}

// setUpJetStream creates or updates what serve creates when it starts.
func setUpJetStream(ctx context.Context, nc *nats.Conn, cfg Config) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("opening JetStream: %w", err)
	}
	if _, err := bus.SetupDurable(ctx, js, cfg.NATS.durable()); err != nil {
		return fmt.Errorf("setting up durable requests: %w", err)
	}
	for _, bucket := range []string{jobsBucket, webhooksBucket} {
		if _, err := kv.OpenJetStream(ctx, nc, bucket, cfg.HTTP.Jobs.TTL, kv.Replicas(cfg.NATS.Replicas)); err != nil {
			return err
		}
	}
	return nil
}

// describeJetStream prints taskrouter's streams and buckets as the
// servers have them.
func describeJetStream(ctx context.Context, w io.Writer, nc *nats.Conn) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return unavailableError{err}
	}
	for _, name := range []string{bus.JobsStream, bus.ResultsStream, "KV_" + jobsBucket, "KV_" + webhooksBucket} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return unavailableError{fmt.Errorf("reading stream %s: %w", name, err)}
		}
		info := s.CachedInfo()
		c := info.Config
		fmt.Fprintf(w, "stream %-24s subjects %s; %s; replicas %d; %d messages", name, strings.Join(c.Subjects, ", "), c.Retention, c.Replicas, info.State.Msgs)
		if c.MaxAge > 0 {
			fmt.Fprintf(w, "; kept %s", c.MaxAge)
		}
		if c.Duplicates > 0 && !strings.HasPrefix(name, "KV_") {
			fmt.Fprintf(w, "; duplicate window %s", c.Duplicates)
		}
		fmt.Fprintln(w)
	}
	cons, err := js.Consumer(ctx, bus.JobsStream, bus.JobsConsumer)
	if err != nil {
		return unavailableError{fmt.Errorf("reading consumer %s: %w", bus.JobsConsumer, err)}
	}
	ci := cons.CachedInfo()
	fmt.Fprintf(w, "consumer %s on %s: ack wait %s, max deliver %d, max ack pending %d; %d requests waiting, %d held\n",
		bus.JobsConsumer, bus.JobsStream, ci.Config.AckWait, ci.Config.MaxDeliver, ci.Config.MaxAckPending, ci.NumPending, ci.NumAckPending)
	return nil
}
