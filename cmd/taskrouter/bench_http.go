package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
)

// httpBench is what `bench` reports of the HTTP path: the same load
// generator calls an OpenAI-compatible upstream answering at once
// directly, through a bare Go reverse proxy (net/http/httputil, the floor
// of a Go gateway), and through taskrouter (HTTP server, router, NATS,
// executor, openai adapter) with a registered model name, so no planning.
// All in one run, so the ratios hold across machines.
type httpBench struct {
	Requests int `json:"http_requests"`

	DirectP50us float64 `json:"http_direct_p50_us"`
	ProxyP50us  float64 `json:"http_bare_proxy_p50_us"`
	PathP50us   float64 `json:"http_path_p50_us"`
	// PassthroughAddedP50us is what the path adds at the median, at
	// concurrency 1 (target < 379, the Go gateway Bifrost; aim 222, a
	// bare proxy measured with wrk); ProxyAddedP50us is what the bare
	// proxy adds in this run.
	PassthroughAddedP50us float64 `json:"http_passthrough_added_p50_us"`
	ProxyAddedP50us       float64 `json:"http_bare_proxy_added_p50_us"`
	// AddedVsProxy is what the path adds over what the bare proxy adds, in
	// this run: the machine's speed cancels out. Measured the same way
	// with wrk, Bifrost adds 379/222 = 1.71 times what a bare proxy adds.
	AddedVsProxy float64 `json:"http_added_vs_bare_proxy"`
	// PathCPUus and ProxyCPUus are the CPU time (user and system) the
	// serve process and the bare proxy spent per request through the
	// same concurrency-1 measurements, and CPUVsProxy the first over the
	// second: at concurrency 1 each process is idle between requests, so
	// the time either adds follows the work it does (Linux only).
	PathCPUus  float64 `json:"http_path_cpu_us,omitempty"`
	ProxyCPUus float64 `json:"http_bare_proxy_cpu_us,omitempty"`
	CPUVsProxy float64 `json:"http_cpu_vs_bare_proxy,omitempty"`

	Concurrency  int     `json:"http_concurrency"`
	DirectPerSec float64 `json:"http_direct_per_s"`
	ProxyPerSec  float64 `json:"http_bare_proxy_per_s"`
	PathPerSec   float64 `json:"http_path_per_s"`
	// PassthroughRPSRatio is the path's throughput over the direct one at
	// concurrency 64 (target > 0.115; aim 0.176); ProxyRPSRatio the bare
	// proxy's.
	PassthroughRPSRatio float64 `json:"http_passthrough_rps_ratio"`
	ProxyRPSRatio       float64 `json:"http_bare_proxy_rps_ratio"`
	// RPSVsProxy is the path's throughput over the bare proxy's; Bifrost
	// keeps 0.115/0.176 = 0.65 of a bare proxy's.
	RPSVsProxy float64 `json:"http_rps_vs_bare_proxy"`

	// Streams streaming completions are opened at once, each lasting about
	// a second, through taskrouter and through the bare proxy.
	Streams           int     `json:"http_streams"`
	StreamsPeak       int64   `json:"http_streams_peak_concurrent"`
	Streams1000Errors int     `json:"http_streams_1000_errors"`
	StreamsFirstError string  `json:"http_streams_first_error,omitempty"`
	StreamsMs         float64 `json:"http_streams_ms"`
	ProxyStreamsPeak  int64   `json:"http_bare_proxy_streams_peak_concurrent"`
	ProxyStreamErrors int     `json:"http_bare_proxy_streams_errors"`
	// ProxyStreamsFirstError is the bare proxy's first stream failure.
	ProxyStreamsFirstError string `json:"http_bare_proxy_streams_first_error,omitempty"`
	// PeakRSSMB is the peak resident memory of the taskrouter serve process
	// (not the load generator nor the upstream) through the latency and
	// throughput measurements (target <= 50; Bifrost 133 MB measured the
	// same way); StreamsPeakRSSMB through the streams too, and
	// ProxyStreamsPeakRSSMB the bare proxy's through the same streams.
	// Burst requests are sent at once to a built-in model (BurstModel),
	// far beyond its concurrency: BurstErrors must be 0, as they wait in
	// the executor's queue; BurstP99ms is how long the slowest waited.
	Burst           int     `json:"http_burst"`
	BurstModel      string  `json:"http_burst_model"`
	BurstErrors     int     `json:"http_burst_errors"`
	BurstFirstError string  `json:"http_burst_first_error,omitempty"`
	BurstP50ms      float64 `json:"http_burst_p50_ms"`
	BurstP99ms      float64 `json:"http_burst_p99_ms"`

	PeakRSSMB             float64 `json:"http_peak_rss_mb,omitempty"`
	StreamsPeakRSSMB      float64 `json:"http_streams_peak_rss_mb,omitempty"`
	ProxyPeakRSSMB        float64 `json:"http_bare_proxy_peak_rss_mb,omitempty"`
	ProxyStreamsPeakRSSMB float64 `json:"http_bare_proxy_streams_peak_rss_mb,omitempty"`
}

// Sizes of the HTTP measurements.
const (
	httpBenchRequests    = 3000
	httpBenchConcurrency = 64
	httpBenchDuration    = 2 * time.Second
	httpBenchStreams     = 1000
	benchModel           = "bench/gpt"
	benchStreamModel     = "bench/gpt-stream"
)

// httpPath is the bench's processes, as a gateway is measured with wrk:
// the load generator (this process), the upstream in a process of its
// own, the bare proxy, and `taskrouter serve`, whose memory is thus
// measured alone.
type httpPath struct {
	upstream    *exec.Cmd
	upstreamURL string
	proxy       *exec.Cmd
	proxyURL    string
	cmd         *exec.Cmd
	dir         string
	url         string
}

// benchHTTP measures the HTTP path against calling the upstream directly.
func benchHTTP(ctx context.Context) (httpBench, error) {
	p, err := startHTTPPath(ctx)
	if err != nil {
		return httpBench{}, err
	}
	defer p.close()
	lg := newLoadGen()
	direct := lg.target(p.upstreamURL+"/chat/completions", benchModel, false)
	proxy := lg.target(p.proxyURL+"/chat/completions", benchModel, false)
	path := lg.target(p.url+"/v1/chat/completions", benchModel, false)
	b := httpBench{Requests: httpBenchRequests, Concurrency: httpBenchConcurrency}
	pathCPU, proxyCPU := processCPU(p.cmd.Process.Pid), processCPU(p.proxy.Process.Pid)
	p50s, err := lg.latencies(httpBenchRequests, direct, proxy, path)
	if err != nil {
		return b, err
	}
	if served := latencyRequests(httpBenchRequests); pathCPU >= 0 && proxyCPU >= 0 {
		b.PathCPUus = round3(float64((processCPU(p.cmd.Process.Pid) - pathCPU).Microseconds()) / float64(served))
		b.ProxyCPUus = round3(float64((processCPU(p.proxy.Process.Pid) - proxyCPU).Microseconds()) / float64(served))
		if b.ProxyCPUus > 0 {
			b.CPUVsProxy = round3(b.PathCPUus / b.ProxyCPUus)
		}
	}
	b.DirectP50us, b.ProxyP50us, b.PathP50us = p50s[0], p50s[1], p50s[2]
	b.PassthroughAddedP50us = round3(b.PathP50us - b.DirectP50us)
	b.ProxyAddedP50us = round3(b.ProxyP50us - b.DirectP50us)
	b.AddedVsProxy = round3(b.PassthroughAddedP50us / b.ProxyAddedP50us)
	for _, m := range []struct {
		name string
		t    target
		rps  *float64
	}{{"direct", direct, &b.DirectPerSec}, {"bare proxy", proxy, &b.ProxyPerSec}, {"taskrouter", path, &b.PathPerSec}} {
		if *m.rps, err = lg.throughput(m.t, httpBenchConcurrency, httpBenchDuration); err != nil {
			return b, fmt.Errorf("%s throughput: %w", m.name, err)
		}
	}
	b.PassthroughRPSRatio = round3(b.PathPerSec / b.DirectPerSec)
	b.ProxyRPSRatio = round3(b.ProxyPerSec / b.DirectPerSec)
	b.RPSVsProxy = round3(b.PathPerSec / b.ProxyPerSec)
	b.PeakRSSMB, b.ProxyPeakRSSMB = peakRSS(p.cmd.Process.Pid), peakRSS(p.proxy.Process.Pid)

	b.Streams = httpBenchStreams
	var proxyFirst error
	b.ProxyStreamErrors, b.ProxyStreamsPeak, proxyFirst = lg.streams(lg.target(p.proxyURL+"/chat/completions", benchStreamModel, true), httpBenchStreams)
	b.ProxyStreamsPeakRSSMB = peakRSS(p.proxy.Process.Pid)
	if proxyFirst != nil {
		b.ProxyStreamsFirstError = proxyFirst.Error()
	}
	start := time.Now()
	errs, peak, first := lg.streams(lg.target(p.url+"/v1/chat/completions", benchStreamModel, true), httpBenchStreams)
	b.StreamsMs, b.Streams1000Errors, b.StreamsPeak = round3(float64(time.Since(start).Microseconds())/1e3), errs, peak
	if first != nil {
		b.StreamsFirstError = first.Error()
	}
	b.StreamsPeakRSSMB = peakRSS(p.cmd.Process.Pid)

	b.Burst, b.BurstModel = httpBenchBurst, burstModel
	f := lg.burst(p.url+"/v1/chat/completions", burstBody, httpBenchBurst)
	b.BurstErrors, b.BurstFirstError = f.errors, f.first
	b.BurstP50ms, b.BurstP99ms = round3(float64(f.p50.Microseconds())/1e3), round3(float64(f.p99.Microseconds())/1e3)
	return b, nil
}

// startHTTPPath starts the upstream here and `taskrouter serve` as a child
// process: embedded NATS, an executor serving the upstream through the
// openai adapter, the router and the HTTP API.
func startHTTPPath(ctx context.Context) (p *httpPath, err error) {
	p = &httpPath{}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	exe, err := os.Executable()
	if err != nil {
		return p, err
	}
	if p.upstream, p.upstreamURL, err = startBenchChild(exe, "--upstream-only"); err != nil {
		return p, err
	}
	if p.proxy, p.proxyURL, err = startBenchChild(exe, "--bare-proxy", p.upstreamURL); err != nil {
		return p, err
	}
	if p.dir, err = os.MkdirTemp("", "taskrouter-bench-http-"); err != nil {
		return p, err
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		return p, err
	}
	cfgPath := filepath.Join(p.dir, "serve.yaml")
	if err := os.WriteFile(cfgPath, []byte(benchServeConfig(p.dir, addr, p.upstreamURL)), 0o600); err != nil {
		return p, err
	}
	p.cmd = exec.Command(exe, "serve", "--config", cfgPath)
	p.cmd.Env = append(os.Environ(), "TASKROUTER_BENCH_KEY=sk-bench", "TASKROUTER_CPU_PROFILE=",
		"TASKROUTER_PPROF_ADDR="+os.Getenv("TASKROUTER_BENCH_SERVE_PPROF_ADDR"))
	if prof := os.Getenv("TASKROUTER_BENCH_SERVE_PROFILE"); prof != "" {
		// Profile the serve process alone, to see where the path's time goes.
		p.cmd.Env = append(p.cmd.Env, "TASKROUTER_CPU_PROFILE="+prof)
	}
	var stderr bytes.Buffer
	p.cmd.Stderr = &stderr
	if err := p.cmd.Start(); err != nil {
		return p, err
	}
	p.url = "http://" + addr
	if err := waitHealthy(ctx, p.url+"/v1/models", benchModel); err != nil {
		return p, fmt.Errorf("%w; its output:\n%s", err, stderr.String())
	}
	return p, nil
}

// benchServeConfig serves the two bench models from the upstream and the
// burst's built-in model, with jobs in memory and quiet logs.
func benchServeConfig(dir, addr, upstream string) string {
	model := func(name string) string {
		return fmt.Sprintf("  - name: %s\n    backend: openai\n    base_url: %s\n    api_key_env: TASKROUTER_BENCH_KEY\n"+
			"    capabilities: [chat]\n    concurrency: %d\n", name, upstream, 2*httpBenchStreams)
	}
	return "nats:\n  store_dir: " + filepath.Join(dir, "js") + "\nhttp:\n  addr: " + addr + "\n  jobs:\n    store: memory\n" +
		"router:\n  accept_timeout: 10s\n  lost_after: 10s\nexecutors: [" + benchModel + ", " + benchStreamModel + ", " + burstModel + "]\n" +
		"models:\n" + model(benchModel) + model(benchStreamModel) + "log:\n  level: error\n"
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitHealthy polls the served model list until it names model.
func waitHealthy(ctx context.Context, url, model string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), model) {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the taskrouter serve process did not serve %s at %s within 20s", model, url)
}

func (p *httpPath) close() {
	stopProcess(p.cmd)
	stopProcess(p.proxy)
	stopProcess(p.upstream)
	if p.dir != "" {
		_ = os.RemoveAll(p.dir)
	}
}

// stopProcess asks a child to stop, and kills it after 10 s.
func stopProcess(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// startBenchChild runs `taskrouter bench <args>` (the upstream or the bare
// proxy) and reads the URL it prints.
func startBenchChild(exe string, args ...string) (*exec.Cmd, string, error) {
	cmd := exec.Command(exe, append([]string{"bench"}, args...)...)
	cmd.Env = append(os.Environ(), "TASKROUTER_CPU_PROFILE=", "TASKROUTER_PPROF_ADDR=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stopProcess(cmd)
		return nil, "", fmt.Errorf("starting bench %s: %w", strings.Join(args, " "), err)
	}
	return cmd, strings.TrimSpace(line), nil
}

// serveBenchUpstream is the upstream process of the HTTP bench: the
// scripted OpenAI-compatible server answering the two bench models at once
// (the streaming one token by token), until stopped.
func serveBenchUpstream(ctx context.Context, env *cliEnv) error {
	s := openaitest.New()
	defer s.Close()
	s.Script(benchModel, openaitest.Behaviour{Reply: "Hello! How can I help you today?"})
	// A stream lasts about a second, so that all of them are open at once.
	s.Script(benchStreamModel, openaitest.Behaviour{Reply: "one two three four five six seven eight nine ten", TokenDelay: 100 * time.Millisecond})
	fmt.Fprintln(env.stdout, s.URL())
	<-ctx.Done()
	return nil
}

// serveBareProxy is the bare proxy process of the HTTP bench: the standard
// library's reverse proxy to upstream, flushing as it goes, with the same
// connection pool as the openai adapter, until stopped.
func serveBareProxy(ctx context.Context, env *cliEnv, upstream string) error {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return usageError{fmt.Sprintf("--bare-proxy %q: want the upstream's URL", upstream)}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }, FlushInterval: -1, Transport: t}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Fprintln(env.stdout, "http://"+l.Addr().String())
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func benchTransport() *http.Transport {
	return &http.Transport{MaxIdleConns: 4 * httpBenchStreams, MaxIdleConnsPerHost: 4 * httpBenchStreams,
		IdleConnTimeout: time.Minute, DisableCompression: true}
}

// loadGen is a lean HTTP load generator: one keep-alive client, bodies
// prepared once, answers read to the end and discarded.
type loadGen struct {
	client *http.Client
}

func newLoadGen() *loadGen { return &loadGen{client: &http.Client{Transport: benchTransport()}} }

type target struct {
	url    string
	body   []byte
	stream bool
}

func (lg *loadGen) target(url, model string, stream bool) target {
	body := `{"model":"` + model + `","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello."}]`
	if stream {
		body += `,"stream":true`
	}
	return target{url: url, body: []byte(body + "}"), stream: stream}
}

// post sends one request.
func (lg *loadGen) post(t target) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return lg.client.Do(req)
}

// do sends one request and reads the whole answer.
func (lg *loadGen) do(t target) error {
	resp, err := lg.post(t)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", t.url, resp.StatusCode)
	}
	return nil
}

// latencyRequests is how many requests latencies(n, ...) sends each
// target, its warm-up included.
func latencyRequests(n int) int { return n + n/10 }

// latencies measures the p50 of each target at concurrency 1, taking
// turns request by request so all see the same machine.
func (lg *loadGen) latencies(n int, targets ...target) ([]float64, error) {
	for range latencyRequests(n) - n { // warm up connections, pools and caches
		for _, t := range targets {
			if err := lg.do(t); err != nil {
				return nil, err
			}
		}
	}
	d := make([][]time.Duration, len(targets))
	for i := range d {
		d[i] = make([]time.Duration, n)
	}
	for i := range n {
		for j, t := range targets {
			start := time.Now()
			if err := lg.do(t); err != nil {
				return nil, err
			}
			d[j][i] = time.Since(start)
		}
	}
	p50s := make([]float64, len(targets))
	for j := range d {
		p50s[j] = p50us(d[j])
	}
	return p50s, nil
}

func p50us(d []time.Duration) float64 {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return round3(float64(d[len(d)/2].Nanoseconds()) / 1e3)
}

// throughput runs conc callers for d and returns the requests per second.
func (lg *loadGen) throughput(t target, conc int, d time.Duration) (float64, error) {
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if err := lg.do(t); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return round3(float64(done.Load()) / time.Since(start).Seconds()), firstErr
}

// streams opens n streaming completions at once and reads each to its
// [DONE]; it returns how many failed, how many were open at the peak, and
// the first failure.
func (lg *loadGen) streams(t target, n int) (failed int, peak int64, first error) {
	var errs, open, top atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			if err := lg.stream(t, &open, &top); err != nil {
				errs.Add(1)
				once.Do(func() { first = err })
			}
		}()
	}
	close(gate)
	wg.Wait()
	return int(errs.Load()), top.Load(), first
}

func (lg *loadGen) stream(t target, open, peak *atomic.Int64) error {
	resp, err := lg.post(t)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n := open.Add(1)
	defer open.Add(-1)
	for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	var content strings.Builder
	for sc.Scan() {
		line := sc.Text()
		if line == "data: [DONE]" {
			if !strings.Contains(content.String(), `"ten"`) && !strings.Contains(content.String(), ` ten"`) {
				return errors.New("the stream ended without the whole answer")
			}
			return nil
		}
		if strings.HasPrefix(line, `data: {"error"`) {
			return errors.New(line)
		}
		content.WriteString(line)
	}
	return fmt.Errorf("the stream ended without [DONE]: %v", sc.Err())
}

// printHTTPBench prints the HTTP figures as text.
func printHTTPBench(w io.Writer, b httpBench) {
	fmt.Fprintf(w, "HTTP direct              p50 %8.1f us   %9.0f/s\n", b.DirectP50us, b.DirectPerSec)
	fmt.Fprintf(w, "HTTP via bare proxy      p50 %8.1f us   %9.0f/s\n", b.ProxyP50us, b.ProxyPerSec)
	fmt.Fprintf(w, "HTTP through taskrouter  p50 %8.1f us   %9.0f/s\n", b.PathP50us, b.PathPerSec)
	fmt.Fprintf(w, "HTTP added p50           %.1f us (target < 379, aim 222; the bare proxy adds %.1f here: %.2f times as much, Bifrost 1.71)\n",
		b.PassthroughAddedP50us, b.ProxyAddedP50us, b.AddedVsProxy)
	if b.CPUVsProxy > 0 {
		fmt.Fprintf(w, "HTTP CPU per request     %.1f us (the bare proxy %.1f: %.2f times as much)\n", b.PathCPUus, b.ProxyCPUus, b.CPUVsProxy)
	}
	fmt.Fprintf(w, "HTTP throughput ratio    %.3f at concurrency %d (target > 0.115, aim 0.176; the bare proxy keeps %.3f here: %.2f of it, Bifrost 0.65)\n",
		b.PassthroughRPSRatio, b.Concurrency, b.ProxyRPSRatio, b.RPSVsProxy)
	fmt.Fprintf(w, "HTTP %d streams         %d errors, %d open at the peak, %.0f ms (bare proxy: %d errors, %d open at the peak)\n",
		b.Streams, b.Streams1000Errors, b.StreamsPeak, b.StreamsMs, b.ProxyStreamErrors, b.ProxyStreamsPeak)
	if b.StreamsFirstError != "" {
		fmt.Fprintf(w, "HTTP first stream error  %s\n", b.StreamsFirstError)
	}
	if b.ProxyStreamsFirstError != "" {
		fmt.Fprintf(w, "HTTP first bare proxy stream error  %s\n", b.ProxyStreamsFirstError)
	}
	fmt.Fprintf(w, "HTTP burst of %d         %d errors to %s at once, p50 %.1f ms, p99 %.1f ms (target: 0 errors)\n",
		b.Burst, b.BurstErrors, b.BurstModel, b.BurstP50ms, b.BurstP99ms)
	if b.BurstFirstError != "" {
		fmt.Fprintf(w, "HTTP first burst error   %s\n", b.BurstFirstError)
	}
	if b.PeakRSSMB > 0 {
		fmt.Fprintf(w, "HTTP peak RSS            %.1f MB at concurrency %d (target <= 50), %.1f MB with the streams; bare proxy %.1f and %.1f MB\n",
			b.PeakRSSMB, b.Concurrency, b.StreamsPeakRSSMB, b.ProxyPeakRSSMB, b.ProxyStreamsPeakRSSMB)
	}
}
