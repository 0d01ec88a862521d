package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The bench runs end to end, as `make bench` and the README run it, and
// reports every figure: its processes (upstream, bare proxy, serve) start,
// talk and stop. It asserts no speed, only that each figure was measured
// and that no stream failed through taskrouter.
func TestBenchReportsEveryFigure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole bench (about 20 s)")
	}
	cmd := exec.Command(taskrouterBinary(t), "bench", "--json", "--n", "200")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench: %v\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("bench printed no JSON object: %v\n%s", err, out)
	}
	for _, k := range []string{"dispatch_overhead_ratio", "throughput_ratio", "dag_efficiency", "rss_mb_idle",
		"observed_dispatch_p50_us", "observed_dispatch_overhead_ratio", "telemetry_overhead_ratio", "telemetry_exports",
		"http_passthrough_added_p50_us", "http_bare_proxy_added_p50_us", "http_added_vs_bare_proxy",
		"http_path_cpu_us", "http_bare_proxy_cpu_us", "http_cpu_vs_bare_proxy",
		"http_passthrough_rps_ratio", "http_bare_proxy_rps_ratio", "http_rps_vs_bare_proxy",
		"http_peak_rss_mb", "http_streams_peak_rss_mb", "http_bare_proxy_streams_peak_rss_mb", "http_streams_peak_concurrent",
		"http_burst_p50_ms", "http_burst_p99_ms",

		"cache_first_run_ms", "cache_second_run_ms", "cache_repeat_ratio", "memory_request_p50_ms", "memory_baseline_request_p50_ms",
		"secure_dispatch_overhead_ratio", "tcp_dispatch_overhead_ratio", "auth_tls_overhead_ratio", "auth_tls_dispatch_ratio",

		"artifact_1mib_mb_s", "artifact_1mib_raw_mb_s", "artifact_1mib_ratio", "artifact_16mib_mb_s", "artifact_16mib_raw_mb_s",
		"artifact_16mib_ratio", "http_upload_peak_rss_mb", "http_upload_mb_s",

		"streaming_plan_ms", "whole_plan_ms", "streaming_plan_speedup"} {
		if v, ok := got[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive figure", k, got[k])
		}
	}
	if got["http_burst"] != 1000.0 || got["http_burst_errors"] != 0.0 {
		t.Errorf("%v of the %v requests of the burst to %v failed: %v", got["http_burst_errors"], got["http_burst"], got["http_burst_model"], got["http_burst_first_error"])
	}
	if got["http_streams_1000_errors"] != 0.0 {
		t.Errorf("%v of the 1,000 streams through taskrouter failed: %v", got["http_streams_1000_errors"], got["http_streams_first_error"])
	}
}

// processCPU reads a process's CPU time, which grows as it works; a
// process that is gone has none to read.
func TestProcessCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	before := processCPU(os.Getpid())
	if before < 0 {
		t.Fatal("no CPU time read for this process")
	}
	for spin := time.Now(); time.Since(spin) < 50*time.Millisecond; {
	}
	if after := processCPU(os.Getpid()); after < before+20*time.Millisecond {
		t.Errorf("CPU time went from %s to %s over 50 ms of spinning", before, after)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	if got := processCPU(cmd.Process.Pid); got != -1 {
		t.Errorf("a reaped process's CPU time = %s, want -1", got)
	}
}
