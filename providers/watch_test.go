package providers

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// listFunc is a Lister whose list a test changes as it goes.
type listFunc struct {
	mu       sync.Mutex
	listings []Listing
	err      error
	calls    int
	probeErr error
	probes   int
	// probeDeadline is the last probe's context's.
	probeDeadline time.Time
}

func (l *listFunc) set(err error, listings ...Listing) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.listings, l.err = listings, err
}

func (l *listFunc) List(ctx context.Context) ([]Listing, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	return slices.Clone(l.listings), l.err
}

func (l *listFunc) Probe(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.probes++
	l.probeDeadline, _ = ctx.Deadline()
	return l.probeErr
}

// recordingSink records what a Watcher serves and withdraws.
type recordingSink struct {
	mu     sync.Mutex
	served map[string]task.ModelSpec
	log    []string
}

func newRecordingSink() *recordingSink { return &recordingSink{served: map[string]task.ModelSpec{}} }

func (s *recordingSink) Serve(ctx context.Context, spec task.ModelSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.served[spec.Name] = spec
	s.log = append(s.log, "serve "+spec.Name)
	return nil
}

func (s *recordingSink) Withdraw(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.served, name)
	s.log = append(s.log, "withdraw "+name)
	return nil
}

func (s *recordingSink) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.served {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (s *recordingSink) events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

func newTestWatcher(t *testing.T, sink Sink, logs *strings.Builder, sources ...Source) *Watcher {
	t.Helper()
	w, err := NewWatcher(WatcherConfig{Sources: sources, Inference: builtinInference(), Sink: sink,
		Logger: slog.New(slog.NewTextHandler(&syncWriter{b: logs}, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

type syncWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

var chatModel = []string{ServerCompletion}

// Sync serves what is listed; a new list serves the added, withdraws the
// removed and serves anew the changed; a failed listing keeps the models
// and warns once.
func TestWatcherFollowsTheList(t *testing.T) {
	lister := &listFunc{}
	lister.set(nil, Listing{ID: "llama3.2:latest", Capabilities: chatModel}, Listing{ID: "qwen2.5-coder:7b", Capabilities: chatModel})
	sink := newRecordingSink()
	var logs strings.Builder
	w := newTestWatcher(t, sink, &logs, Source{Config: Config{Name: "ollama", Kind: KindOllama, BaseURL: "http://127.0.0.1:1"}, Lister: lister})
	ctx := context.Background()
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sink.names(), ","); got != "ollama/llama3.2:latest,ollama/qwen2.5-coder:7b" {
		t.Fatalf("served %s", got)
	}
	lister.set(nil, Listing{ID: "llama3.2:latest", Capabilities: chatModel, ContextWindow: 8192}, Listing{ID: "mistral:7b", Capabilities: chatModel})
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"serve ollama/llama3.2:latest", "serve ollama/qwen2.5-coder:7b",
		"withdraw ollama/qwen2.5-coder:7b", "serve ollama/llama3.2:latest", "serve ollama/mistral:7b"}
	if got := sink.events(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if w := sink.served["ollama/llama3.2:latest"].ContextWindow; w != 8192 {
		t.Errorf("changed spec served with window %d, want 8192", w)
	}
	lister.set(errors.New("connection refused"))
	for range 3 {
		if err := w.Sync(ctx); err == nil || !strings.Contains(err.Error(), "provider ollama: connection refused") {
			t.Fatalf("Sync of a failing provider: %v", err)
		}
	}
	if got := strings.Join(sink.names(), ","); got != "ollama/llama3.2:latest,ollama/mistral:7b" {
		t.Errorf("after failed listings served %s; a failure keeps the models", got)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings for three failed listings in a row, want 1:\n%s", n, logs.String())
	}
	lister.set(nil)
	if err := w.Sync(ctx); err != nil || len(sink.names()) != 0 {
		t.Fatalf("an empty list withdraws everything: %v, served %v", err, sink.names())
	}
	if !strings.Contains(logs.String(), "provider answers again") {
		t.Errorf("no note that the provider answers again:\n%s", logs.String())
	}
}

// Start refreshes on the provider's interval: a model pulled later is
// served, one removed is withdrawn, without any Sync.
func TestWatcherRefreshesOnItsInterval(t *testing.T) {
	lister := &listFunc{}
	sink := newRecordingSink()
	var logs strings.Builder
	w := newTestWatcher(t, sink, &logs, Source{Config: Config{Name: "lab", Kind: KindOpenAI, BaseURL: "http://127.0.0.1:1/v1", Refresh: 20 * time.Millisecond}, Lister: lister})
	w.Start()
	lister.set(nil, Listing{ID: "m1"})
	waitUntil(t, func() bool { return slices.Equal(sink.names(), []string{"lab/m1"}) })
	lister.set(nil, Listing{ID: "m2"})
	waitUntil(t, func() bool { return slices.Equal(sink.names(), []string{"lab/m2"}) })
	w.Stop()
	w.Stop()
	lister.mu.Lock()
	calls := lister.calls
	lister.mu.Unlock()
	time.Sleep(60 * time.Millisecond)
	lister.mu.Lock()
	defer lister.mu.Unlock()
	if lister.calls != calls {
		t.Errorf("%d listings after Stop", lister.calls-calls)
	}
}

// An optional provider is probed first; one that does not answer is not
// listed, costs no warning and fails no Sync.
func TestOptionalProviderIsProbedAndQuiet(t *testing.T) {
	lister := &listFunc{probeErr: errors.New("connection refused")}
	lister.set(nil, Listing{ID: "llama3.2:latest", Capabilities: chatModel})
	sink := newRecordingSink()
	var logs strings.Builder
	w := newTestWatcher(t, sink, &logs, Source{Config: Config{Name: "ollama", Kind: KindOllama, BaseURL: "http://127.0.0.1:1"}, Lister: lister, Optional: true})
	if err := w.Sync(context.Background()); err != nil {
		t.Fatalf("an optional provider's absence failed Sync: %v", err)
	}
	if lister.calls != 0 || lister.probes != 1 || len(sink.names()) != 0 || strings.Contains(logs.String(), "WARN") {
		t.Fatalf("listed %d times after %d probes, served %v, logs:\n%s", lister.calls, lister.probes, sink.names(), logs.String())
	}
	if left := time.Until(lister.probeDeadline); lister.probeDeadline.IsZero() || left > DefaultProbeTimeout {
		t.Fatalf("the probe's deadline is %v away (set: %v); want at most %v", left, !lister.probeDeadline.IsZero(), DefaultProbeTimeout)
	}
	lister.probeErr = nil
	if err := w.Sync(context.Background()); err != nil || len(sink.names()) != 1 {
		t.Fatalf("once it answers: %v, served %v", err, sink.names())
	}
}

// Exclude leaves out what the process already has; a Sink that fails to
// serve a model gets it offered again at the next listing.
func TestWatcherExcludesAndRetries(t *testing.T) {
	lister := &listFunc{}
	lister.set(nil, Listing{ID: "a"}, Listing{ID: "b"})
	sink := &failingSink{recordingSink: newRecordingSink(), fail: map[string]int{"lab/b": 1}}
	w, err := NewWatcher(WatcherConfig{Sources: []Source{{Config: Config{Name: "lab", Kind: KindOpenAI, BaseURL: "http://h/v1"}, Lister: lister}},
		Inference: builtinInference(), Sink: sink,
		Exclude: func(s task.ModelSpec) (string, bool) { return "configured", s.UpstreamModel == "a" }})
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Sync(context.Background())
	if len(sink.names()) != 0 {
		t.Fatalf("served %v; a is excluded and b failed", sink.names())
	}
	_ = w.Sync(context.Background())
	if got := sink.names(); !slices.Equal(got, []string{"lab/b"}) {
		t.Fatalf("served %v after the retry, want [lab/b]", got)
	}
	if got := w.Served(); len(got) != 1 || got[0].Name != "lab/b" {
		t.Errorf("Served() = %+v", got)
	}
}

type failingSink struct {
	*recordingSink
	fail map[string]int
}

func (s *failingSink) Serve(ctx context.Context, spec task.ModelSpec) error {
	if s.fail[spec.Name] > 0 {
		s.fail[spec.Name]--
		return errors.New("no executor")
	}
	return s.recordingSink.Serve(ctx, spec)
}

func TestNewWatcherRefusesBadConfigs(t *testing.T) {
	src := Source{Config: Config{Name: "a"}, Lister: &listFunc{}}
	for _, cfg := range []WatcherConfig{
		{Sources: []Source{src}},
		{Sources: []Source{{Config: Config{Name: "a"}}}, Sink: newRecordingSink()},
		{Sources: []Source{src, src}, Sink: newRecordingSink()},
	} {
		if _, err := NewWatcher(cfg); err == nil {
			t.Errorf("NewWatcher(%+v) accepted", cfg)
		}
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
