package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// benchReport is what `bench --json` prints. Ratios compare against a
// baseline measured in the same run, so they hold across machines.
type benchReport struct {
	Requests    int `json:"requests"`
	Concurrency int `json:"concurrency"`

	NATSRRP50us  float64 `json:"nats_rr_p50_us"`
	NATSRRPerSec float64 `json:"nats_rr_per_s"`

	DispatchP50us  float64 `json:"dispatch_p50_us"`
	DispatchP99us  float64 `json:"dispatch_p99_us"`
	DispatchPerSec float64 `json:"dispatch_per_s"`

	DispatchOverheadRatio float64 `json:"dispatch_overhead_ratio"`
	ThroughputRatio       float64 `json:"throughput_ratio"`

	DAGMs         float64 `json:"dag_ms"`
	DAGEfficiency float64 `json:"dag_efficiency"`

	RSSMBIdle float64 `json:"rss_mb_idle,omitempty"`

	// Logins, permissions and TLS against plain TCP, when measured.
	*secureBench
	// Dispatch with metrics and tracing on against both off.
	*telemetryBench

	// The HTTP path against a direct upstream call, when measured.
	*httpBench
	// Memory and the answer cache, when measured.
	*memoryBench
	// Binary data through the artifact store, when measured.
	*artifactBench
	// Dispatch while the plan is written against after, when measured.
	*streamPlanBench
}

func runBench(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "bench", "", "Measures, in one process and one run on embedded NATS with no-op executors: raw NATS\n"+
		"request-reply (the floor), one-subtask dispatch through router, NATS and executor (also with metrics\n"+
		"and tracing on, every span exported to a local OTLP receiver, against both off), a DAG of 8 parallel\n"+
		"50 ms subtasks plus a 50 ms merge, and the idle RSS of a 'serve' process. Then the HTTP path: a\n"+
		"scripted OpenAI-compatible upstream called directly, through a bare Go reverse proxy and through a\n"+
		"'serve' process, each in a process of its own: p50 at concurrency 1, throughput at 64, 1,000\n"+
		"concurrent streams, and each process's peak RSS; and a burst of 1,000 requests at once to the\n"+
		"built-in model local/summarize through 'serve' (errors, p50, p99). And memory: a three-step plan over a\n"+
		"scripted remote model with 100 ms latency run twice (the second from the answer cache), and a request\n"+
		"in a conversation of 1,000 turns against the same request without one. Then artifacts: 1 MiB and\n"+
		"16 MiB stored, fetched by an executor and its copy stored, against raw JetStream object store\n"+
		"put-plus-get, and the peak RSS of a 'serve' process while 8 uploads of 16 MiB to POST /v1/files run at once.\n"+
		"Last, a scripted planner model streaming a six-step plan, a line every 300 ms, of 1 s steps: the request's\n"+
		"time when steps are dispatched as they are written, over its time when they wait for the whole plan.")
	jsonOut := fs.Bool("json", false, "print one JSON object")
	n := fs.Int("n", 5000, "requests per measurement")
	conc := fs.Int("concurrency", 64, "concurrent requests for the throughput measurements")
	noRSS := fs.Bool("no-rss", false, "skip the idle RSS measurement of a serve process")
	noHTTP := fs.Bool("no-http", false, "skip the HTTP path measurements")
	noSecure := fs.Bool("no-secure", false, "skip measuring dispatch with TLS and logins against plain TCP")
	noMemory := fs.Bool("no-memory", false, "skip measuring the answer cache and a conversation's memory")
	noArtifacts := fs.Bool("no-artifacts", false, "skip the artifact measurements")
	noStreamPlan := fs.Bool("no-streamplan", false, "skip measuring dispatch while the plan is written")
	upstreamOnly := fs.Bool("upstream-only", false, "internal: serve only the scripted OpenAI-compatible upstream of the HTTP bench, print its URL, run until stopped")
	bareProxy := fs.String("bare-proxy", "", "internal: serve only the HTTP bench's bare reverse proxy to this upstream URL, print its URL, run until stopped")
	otlpReceiver := fs.Bool("otlp-receiver", false, "internal: serve only the telemetry bench's OTLP/HTTP trace receiver, print its URL, run until stopped")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *upstreamOnly {
		return serveBenchUpstream(ctx, env)
	}
	if *bareProxy != "" {
		return serveBareProxy(ctx, env, *bareProxy)
	}
	if *otlpReceiver {
		return serveBenchReceiver(ctx, env)
	}
	if *n < 100 || *conc < 1 {
		return usageError{"--n must be at least 100 and --concurrency at least 1"}
	}
	rep := benchReport{Requests: *n, Concurrency: *conc}
	if err := benchDispatch(ctx, &rep); err != nil {
		return err
	}
	if !*noSecure {
		sb, err := benchSecure(ctx, rep.Requests, rep.Concurrency)
		if err != nil {
			return fmt.Errorf("measuring dispatch with TLS and logins: %w", err)
		}
		rep.secureBench = &sb
	}
	if !*noMemory {
		mb, err := benchMemory(ctx, rep.Requests)
		if err != nil {
			return fmt.Errorf("measuring memory and the cache: %w", err)
		}
		rep.memoryBench = &mb
	}
	if !*noRSS {
		rss, err := idleRSS(ctx)
		if err != nil {
			return fmt.Errorf("measuring idle RSS: %w", err)
		}
		rep.RSSMBIdle = rss
	}
	if !*noHTTP {
		hb, err := benchHTTP(ctx)
		if err != nil {
			return fmt.Errorf("measuring the HTTP path: %w", err)
		}
		rep.httpBench = &hb
	}
	if !*noArtifacts {
		ab, err := benchArtifacts(ctx)
		if err != nil {
			return fmt.Errorf("measuring artifacts: %w", err)
		}
		if ab.UploadPeakRSSMB, ab.UploadMBs, err = uploadRSS(ctx); err != nil {
			return fmt.Errorf("measuring uploads: %w", err)
		}
		rep.artifactBench = &ab
	}
	if !*noStreamPlan {
		sb, err := benchStreamPlan(ctx)
		if err != nil {
			return fmt.Errorf("measuring dispatch while the plan is written: %w", err)
		}
		rep.streamPlanBench = &sb
	}
	if *jsonOut {
		return writeJSON(env.stdout, rep)
	}
	printBench(env, rep)
	return nil
}

func printBench(env *cliEnv, r benchReport) {
	fmt.Fprintf(env.stdout, "raw NATS request-reply   p50 %8.1f us   %9.0f/s\n", r.NATSRRP50us, r.NATSRRPerSec)
	fmt.Fprintf(env.stdout, "one-subtask dispatch     p50 %8.1f us   %9.0f/s   p99 %.1f us\n", r.DispatchP50us, r.DispatchPerSec, r.DispatchP99us)
	fmt.Fprintf(env.stdout, "dispatch overhead ratio  %.2f (p50 / raw p50; target <= 3)\n", r.DispatchOverheadRatio)
	fmt.Fprintf(env.stdout, "throughput ratio         %.2f (dispatch/s / raw/s; target >= 0.3)\n", r.ThroughputRatio)
	if t := r.telemetryBench; t != nil {
		fmt.Fprintf(env.stdout, "with metrics and tracing p50 %8.1f us   overhead ratio %.2f (p50 / raw p50)\n", t.ObservedDispatchP50us, t.ObservedDispatchOverheadRatio)
		fmt.Fprintf(env.stdout, "telemetry overhead ratio %.3f (p50 on / p50 off, every span sampled, %d OTLP exports; target <= 1.15)\n",
			t.TelemetryOverheadRatio, t.Exports)
	}
	fmt.Fprintf(env.stdout, "DAG efficiency           %.3f (100 ms critical path in %.1f ms; target >= 0.9)\n", r.DAGEfficiency, r.DAGMs)
	if s := r.secureBench; s != nil {
		fmt.Fprintf(env.stdout, "over TCP, plain            NATS p50 %8.1f us   dispatch p50 %8.1f us   overhead ratio %.2f\n", s.TCPNATSRRP50us, s.TCPDispatchP50us, s.TCPDispatchOverheadRatio)
		fmt.Fprintf(env.stdout, "over TCP, TLS and logins   NATS p50 %8.1f us   dispatch p50 %8.1f us   overhead ratio %.2f\n", s.SecureNATSRRP50us, s.SecureDispatchP50us, s.SecureDispatchOverheadRatio)
		fmt.Fprintf(env.stdout, "auth+TLS overhead ratio  %.2f (secure overhead ratio / plain; target <= 1.3); dispatch p50 ratio %.2f\n", s.AuthTLSOverheadRatio, s.AuthTLSDispatchRatio)
	}
	if r.memoryBench != nil {
		printMemoryBench(env.stdout, *r.memoryBench)
	}
	if r.RSSMBIdle > 0 {
		fmt.Fprintf(env.stdout, "serve idle RSS           %.1f MB (target <= 80)\n", r.RSSMBIdle)
	}
	if r.httpBench != nil {
		printHTTPBench(env.stdout, *r.httpBench)
	}
	if r.artifactBench != nil {
		printArtifactBench(env.stdout, *r.artifactBench)
	}
	if r.streamPlanBench != nil {
		printStreamPlanBench(env.stdout, *r.streamPlanBench)
	}
}

// noop answers at once; sleeper after its delay.
type noop struct{ delay time.Duration }

func (m noop) Generate(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
	if m.delay > 0 {
		t := time.NewTimer(m.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return task.Output{}, ctx.Err()
		}
	}
	return task.Output{Text: "ok"}, nil
}

func benchDispatch(ctx context.Context, rep *benchReport) error {
	b, err := bus.Start(ctx, bus.Config{Name: "bench"})
	if err != nil {
		return unavailableError{err}
	}
	defer b.Close()
	conns := make([]*nats.Conn, 6)
	for i := range conns {
		if conns[i], err = b.Connect(fmt.Sprintf("bench-%d", i)); err != nil {
			return err
		}
	}
	raw, err := rawResponder(conns[0], conns[1], "bench.raw")
	if err != nil {
		return err
	}
	reg := registry.NewMemory()
	defer reg.Close()
	spec := func(name string, capability string) task.ModelSpec {
		return task.ModelSpec{Name: name, Backend: task.BackendLocal, Capabilities: []string{capability}, Concurrency: 256}
	}
	_, err = executors.Start(ctx, conns[2], executors.Config{ID: "bench", Announcer: reg, MaxQueue: 1 << 16, Models: []executors.Served{
		{Spec: spec("bench/noop", "noop"), Model: noop{}},
		{Spec: spec("bench/sleep", "sleep"), Model: noop{delay: 50 * time.Millisecond}},
	}})
	if err != nil {
		return err
	}
	r, err := router.New(conns[3], reg, nil, router.Config{AcceptTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer r.Close()
	one := task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "noop", Input: "x", Deps: []string{}}}}
	dispatch := func() error {
		if resp := r.Run(ctx, task.Request{Input: "bench"}, one, nil); resp.Error != nil {
			return resp.Error
		}
		return nil
	}
	m, err := measurePair(raw, dispatch, rep.Requests, rep.Concurrency)
	if err != nil {
		return err
	}
	rep.NATSRRP50us, rep.NATSRRPerSec = m.base.p50, m.base.perSec
	rep.DispatchP50us, rep.DispatchP99us, rep.DispatchPerSec = m.subject.p50, m.subject.p99, m.subject.perSec
	rep.DispatchOverheadRatio = round3(rep.DispatchP50us / rep.NATSRRP50us)
	rep.ThroughputRatio = round3(rep.DispatchPerSec / rep.NATSRRPerSec)
	if err := benchTelemetry(ctx, rep, reg, r, conns[4], conns[5]); err != nil {
		return fmt.Errorf("measuring dispatch with telemetry on: %w", err)
	}
	return benchDAG(ctx, r, rep)
}

// rawResponder is the floor: a NATS request-reply on subject to a
// responder that answers at once, over the same kind of connection as
// dispatch.
func rawResponder(responder, requester *nats.Conn, subject string) (func() error, error) {
	if _, err := responder.Subscribe(subject, func(m *nats.Msg) { _ = m.Respond([]byte(`{"type":"result"}`)) }); err != nil {
		return nil, err
	}
	if err := responder.Flush(); err != nil {
		return nil, err
	}
	payload := []byte(`{"request_id":"req_x","subtask_id":"t1","capability":"noop","input":"x"}`)
	return func() error {
		_, err := requester.Request(subject, payload, 10*time.Second)
		return err
	}, nil
}

// figures are one call's latency percentiles (us) and throughput.
type figures struct{ p50, p99, perSec float64 }

// pair holds a baseline's figures and the measured subject's.
type pair struct{ base, subject figures }

// benchRounds is how many alternating rounds measurePair runs: a noisy
// moment on a shared machine then hits baseline and subject alike.
const benchRounds = 10

// measurePair measures base and subject in alternating rounds: n calls
// each, one after another for latency, then n calls each from conc
// goroutines for throughput.
func measurePair(base, subject func() error, n, conc int) (pair, error) {
	f, err := measureAll([]func() error{base, subject}, n, conc)
	if err != nil {
		return pair{}, err
	}
	return pair{base: f[0], subject: f[1]}, nil
}

// measureAll measures calls in alternating rounds, as measurePair does.
func measureAll(calls []func() error, n, conc int) ([]figures, error) {
	for _, call := range calls {
		for i := 0; i < n/10; i++ { // warm up
			if err := call(); err != nil {
				return nil, err
			}
		}
	}
	per := max(n/benchRounds, 1)
	lat := make([][]time.Duration, len(calls))
	busy := make([]time.Duration, len(calls))
	for round := 0; round < benchRounds; round++ {
		for k, call := range calls {
			d, err := sequential(call, per)
			if err != nil {
				return nil, err
			}
			lat[k] = append(lat[k], d...)
			took, err := concurrent(call, per, conc)
			if err != nil {
				return nil, err
			}
			busy[k] += took
		}
	}
	out := make([]figures, len(calls))
	for k := range out {
		sort.Slice(lat[k], func(i, j int) bool { return lat[k][i] < lat[k][j] })
		us := func(q float64) float64 {
			return round3(float64(lat[k][int(q*float64(len(lat[k])-1))].Nanoseconds()) / 1e3)
		}
		out[k] = figures{p50: us(0.5), p99: us(0.99), perSec: round3(float64(per*benchRounds) / busy[k].Seconds())}
	}
	return out, nil
}

func sequential(call func() error, n int) ([]time.Duration, error) {
	durs := make([]time.Duration, n)
	for i := range durs {
		start := time.Now()
		if err := call(); err != nil {
			return nil, err
		}
		durs[i] = time.Since(start)
	}
	return durs, nil
}

func concurrent(call func() error, n, conc int) (time.Duration, error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += conc {
				if err := call(); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}(g)
	}
	wg.Wait()
	return time.Since(start), firstErr
}

// benchDAG runs 8 parallel 50 ms subtasks and a 50 ms merge subtask after
// them; the critical path is 100 ms. It reports the median of 5 runs.
func benchDAG(ctx context.Context, r *router.Router, rep *benchReport) error {
	p := task.Plan{}
	var refs []string
	for i := 1; i <= 8; i++ {
		id := "t" + strconv.Itoa(i)
		p.Tasks = append(p.Tasks, task.Subtask{ID: id, Capability: "sleep", Input: "x", Deps: []string{}})
		refs = append(refs, id)
	}
	p.Tasks = append(p.Tasks, task.Subtask{ID: "merge", Capability: "sleep", Input: "{{" + strings.Join(refs, "}} {{") + "}}", Deps: refs})
	var runs []time.Duration
	for i := 0; i < 5; i++ {
		start := time.Now()
		if resp := r.Run(ctx, task.Request{Input: "dag"}, p, nil); resp.Error != nil {
			return fmt.Errorf("DAG: %w", resp.Error)
		}
		runs = append(runs, time.Since(start))
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	med := runs[len(runs)/2]
	rep.DAGMs = round3(float64(med.Microseconds()) / 1e3)
	rep.DAGEfficiency = round3(float64(100*time.Millisecond) / float64(med))
	return nil
}

// idleRSS starts `taskrouter serve` on the embedded default, waits for it
// to settle and reads its resident memory from /proc.
func idleRSS(ctx context.Context) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "taskrouter-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfg, []byte("nats:\n  store_dir: "+filepath.Join(dir, "js")+"\nhttp:\n  addr: 127.0.0.1:0\n"), 0o600); err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, exe, "serve", "--config", cfg)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	time.Sleep(3 * time.Second)
	return procMemoryMB(cmd.Process.Pid, "VmRSS")
}

// peakRSS is a process's peak resident memory in MB, 0 when unknown.
func peakRSS(pid int) float64 {
	mb, _ := procMemoryMB(pid, "VmHWM")
	return mb
}

// procMemoryMB reads a memory field of /proc/<pid>/status (VmRSS, VmHWM) in MB.
func procMemoryMB(pid int, field string) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field+":" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return round3(kb / 1024), err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// processCPU reads the user and system CPU time a process has used so
// far from /proc/<pid>/stat, or -1 where it cannot.
func processCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after it. utime and stime are the 14th and 15th fields, in
	// ticks of 1/100 s (USER_HZ).
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return -1
	}
	f := strings.Fields(string(data[end+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
