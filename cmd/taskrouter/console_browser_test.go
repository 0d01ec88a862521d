package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/taskrouter/taskrouter/task"
)

// Where the browser test finds Chromium and saves its screenshot.
const (
	envChromium          = "TASKROUTER_CHROMIUM"
	envConsoleScreenshot = "TASKROUTER_CONSOLE_SCREENSHOT"
	consoleKey           = "console-test-key"
	threeSubtasks        = "Summarize this text, extract its keywords and detect its language: " +
		"'NATS is a simple, secure and high performance messaging system. It connects services across clouds and edge devices. " +
		"Teams use it for request-reply, streaming and key-value storage.'"
)

// chromiumPath finds Debian's chromium (scripts/ensure-chromium installs
// it; make test runs that script), or the browser TASKROUTER_CHROMIUM names.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(envChromium); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("no Chromium found: run scripts/ensure-chromium (apt-get install chromium), or set %s", envChromium)
	return ""
}

// browserTab starts a headless Chromium of its own, 1280x800, with the
// flags that work here as root on a closed network, and returns a tab.
func browserTab(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// pageConsole collects what the page writes to its console.
type pageConsole struct {
	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

func watchConsole(ctx context.Context) *pageConsole {
	c := &pageConsole{}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.messages = append(c.messages, m)
			c.mu.Unlock()
		}
	}()
	return c
}

// errors are the page's JavaScript errors: uncaught exceptions, rejected
// promises, console.error, and browser log errors such as a refused
// content security policy. Failed requests are not among them: the page
// is meant to meet 401s until it has a key.
// all is every message, for a failure's report.
func (c *pageConsole) all() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, m := range c.messages {
		fmt.Fprintf(&b, "\n  %s (%s:%d)", m, m.URL, m.Line+1)
	}
	return b.String()
}

func (c *pageConsole) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.messages {
		if m.IsException() || m.Type == chromedp.ConsoleError && m.Source != "network" {
			out = append(out, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
		}
	}
	return out
}

// bar is one attempt as the page's timeline draws it.
type bar struct {
	Step    string  `json:"step"`
	Attempt int     `json:"attempt"`
	X0      float64 `json:"x0"`
	X1      float64 `json:"x1"`
	RectX   float64 `json:"rectX"`
}

const readBars = `[...document.querySelectorAll('#timeline g.tl-row[data-attempt]')].map(g => ({
	step: g.dataset.step, attempt: +g.dataset.attempt, x0: +g.dataset.x0, x1: +g.dataset.x1,
	rectX: +g.querySelector('rect.seg').getAttribute('x')}))`

// TestConsoleInABrowser drives the console in headless Chromium as an
// operator would: types the API key, sends a three-subtask request
// through the page's box, watches it run to three nodes done, checks the
// timeline against the response's timings, opens a subtask's output,
// and saves a screenshot.
func TestConsoleInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives headless Chromium")
	}
	_, base := startServing(t, DefaultConfig(), map[string]string{envAPIKeys: consoleKey})
	ctx := browserTab(t)
	console := watchConsole(ctx)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.ID("banner"))); err != nil {
		t.Fatalf("opening the console without a key: %v; the page's console:%s", err, console.all())
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("key"), consoleKey),
		chromedp.Click(chromedp.CSS("#keyform button")),
		chromedp.WaitNotVisible(chromedp.ID("banner")),
	); err != nil {
		t.Fatalf("typing the key: %v", err)
	}
	waitInPage(t, ctx, `document.getElementById('live').dataset.state === 'live'`, "the live stream")
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("sendtext"), threeSubtasks), chromedp.Click(chromedp.ID("sendbtn"))); err != nil {
		t.Fatalf("sending: %v", err)
	}
	waitInPage(t, ctx, `document.querySelectorAll('#dag .node[data-status="done"]').length === 3 &&
		document.getElementById('rstatus').textContent === 'done'`, "three nodes done")
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`new URLSearchParams(location.search).get('request')`))
	if err != nil || !strings.HasPrefix(id, "job_") {
		t.Fatalf("the page shows request %q (%v), want the job it sent", id, err)
	}
	// The models table counts what the request did, without a reload.
	waitInPage(t, ctx, `(document.querySelector('#models tr[data-model="local/summarize"] td:nth-child(7)') || {}).textContent === '1' &&
		document.querySelector('#models tr[data-model="local/summarize"] .pill').dataset.circuit === 'closed'`, "the models' counts")
	subtasks := jobSubtasks(t, base, id)
	checkTimeline(t, ctx, subtasks)
	checkSubtaskOutput(t, ctx, subtasks)
	saveScreenshot(t, ctx)
	if errs := console.errors(); len(errs) > 0 {
		t.Fatalf("JavaScript errors in the page's console:\n%s", strings.Join(errs, "\n"))
	}
}

// waitInPage polls a JavaScript condition in the page.
func waitInPage(t *testing.T, ctx context.Context, cond, what string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(30*time.Second),
		chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		shot, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.CaptureScreenshot())
		path := filepath.Join(t.TempDir(), "failed.png")
		_ = os.WriteFile(path, shot, 0o644)
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// jobSubtasks is the Response's subtasks of the job the page sent, once done.
func jobSubtasks(t *testing.T, base, id string) []task.SubtaskState {
	t.Helper()
	var job struct {
		Status   string              `json:"status"`
		Subtasks []task.SubtaskState `json:"subtasks"`
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest("GET", base+"/v1/jobs/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+consoleKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&job)
		resp.Body.Close()
		if err == nil && job.Status == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %q (%v)", id, job.Status, err)
		}
	}
	if len(job.Subtasks) != 3 {
		t.Fatalf("the job has %d subtasks, want 3", len(job.Subtasks))
	}
	return job.Subtasks
}

// checkTimeline compares the page's bars with the Response's timings:
// one bar per attempt, starting and ending where the attempt's dispatch
// and end fall on the shared axis (relative to the earliest dispatch,
// within a pixel), so in the same order.
func checkTimeline(t *testing.T, ctx context.Context, subtasks []task.SubtaskState) {
	t.Helper()
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[[]bar](readBars))
	if err != nil {
		t.Fatal(err)
	}
	scale, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`+document.querySelector('#timeline svg').dataset.scale`))
	if err != nil || scale <= 0 {
		t.Fatalf("the timeline's scale is %v (%v)", scale, err)
	}
	type attempt struct {
		key        string
		dispatched time.Time
		ended      time.Time
	}
	var want []attempt
	for _, st := range subtasks {
		for _, a := range st.Timeline {
			want = append(want, attempt{fmt.Sprintf("%s#%d", st.ID, a.Attempt), a.DispatchedAt, a.EndedAt})
		}
	}
	byKey := map[string]bar{}
	for _, b := range bars {
		byKey[fmt.Sprintf("%s#%d", b.Step, b.Attempt)] = b
	}
	if len(want) != 3 || len(bars) != len(want) {
		t.Fatalf("the page draws %d bars %+v; the response has %d attempts", len(bars), bars, len(want))
	}
	slices.SortFunc(want, func(a, b attempt) int { return a.dispatched.Compare(b.dispatched) })
	ref := byKey[want[0].key]
	msSince := func(a time.Time) float64 { return float64(a.Sub(want[0].dispatched).Microseconds()) / 1000 }
	for _, a := range want {
		b, ok := byKey[a.key]
		if !ok {
			t.Fatalf("no bar for attempt %s among %+v", a.key, bars)
		}
		if got, exp := b.X0-ref.X0, scale*msSince(a.dispatched); math.Abs(got-exp) > 1 {
			t.Errorf("%s starts %.1fpx after the first bar, want %.1fpx (%.3fms at %.1fpx/ms)", a.key, got, exp, msSince(a.dispatched), scale)
		}
		if got, exp := b.X1-ref.X0, scale*msSince(a.ended); math.Abs(got-exp) > 1 {
			t.Errorf("%s ends %.1fpx after the first bar's start, want %.1fpx", a.key, got, exp)
		}
		if math.Abs(b.RectX-b.X0) > 0.5 {
			t.Errorf("%s's bar is drawn at x=%.1f, its start is %.1f", a.key, b.RectX, b.X0)
		}
	}
	for i := 1; i < len(want); i++ {
		if prev, cur := byKey[want[i-1].key], byKey[want[i].key]; cur.X0 < prev.X0-1 {
			t.Errorf("bars out of order: %s at %.1f before %s at %.1f", want[i].key, cur.X0, want[i-1].key, prev.X0)
		}
	}
}

// checkSubtaskOutput opens the summary's node and finds its output.
func checkSubtaskOutput(t *testing.T, ctx context.Context, subtasks []task.SubtaskState) {
	t.Helper()
	i := slices.IndexFunc(subtasks, func(st task.SubtaskState) bool { return st.Capability == "summarize" })
	if i < 0 {
		t.Fatalf("no summarize subtask in %+v", subtasks)
	}
	st := subtasks[i]
	// The page redraws the plan as updates come: a node found may be
	// replaced before the click lands, so try again.
	for try := 1; ; try++ {
		err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#dag .node[data-step=%q]`, st.ID))))
		if err == nil {
			break
		}
		if try == 5 {
			t.Fatalf("clicking node %s: %v", st.ID, err)
		}
	}
	waitInPage(t, ctx, fmt.Sprintf(`document.getElementById('detailtitle').textContent.startsWith(%q)`, st.ID+" · summarize"), "the subtask's pane")
	out, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#detailbody pre.output")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != strings.TrimSpace(st.Output) || out == "" {
		t.Fatalf("the page shows output %q for %s, the response %q", out, st.ID, st.Output)
	}
}

// saveScreenshot keeps what the operator sees: at the path in
// TASKROUTER_CONSOLE_SCREENSHOT, else in the test's artifact directory
// (kept with go test -artifacts -outputdir DIR).
func saveScreenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	path := os.Getenv(envConsoleScreenshot)
	if path == "" {
		path = filepath.Join(t.ArtifactDir(), "console.png")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("console screenshot: %s", path)
}

// TestConsoleInABrowserWithoutKeys opens the console of a router with no
// API keys: /console shows the most recent request, and a shared link,
// /console?request=<id>, the one it names; no key is asked for.
func TestConsoleInABrowserWithoutKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("drives headless Chromium")
	}
	_, base := startServing(t, DefaultConfig(), nil)
	first := chatRequest(t, base, threeSubtasks)
	latest := chatRequest(t, base, "What is 17 * 23 + 4?")
	ctx := browserTab(t)
	console := watchConsole(ctx)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/console")); err != nil {
		t.Fatal(err)
	}
	waitInPage(t, ctx, fmt.Sprintf(`document.getElementById('rid').textContent === %q &&
		document.querySelectorAll('#dag .node[data-status="done"]').length === 1`, latest), "the most recent request")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/console?request="+first)); err != nil {
		t.Fatal(err)
	}
	waitInPage(t, ctx, fmt.Sprintf(`document.getElementById('rid').textContent === %q &&
		document.querySelectorAll('#dag .node[data-status="done"]').length === 3 &&
		document.querySelectorAll('#timeline g.tl-row[data-attempt]').length === 3 &&
		document.getElementById('ringress').textContent === 'http' &&
		document.querySelectorAll('#requests li').length === 2 &&
		document.querySelectorAll('#models tr[data-model="local/summarize"]').length === 1 &&
		document.getElementById('live').dataset.state === 'live'`, first), "the shared request")
	if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('banner').hidden`)); err != nil || !hidden {
		t.Fatalf("the page asks for a key on a router without keys (%v)", err)
	}
	if errs := console.errors(); len(errs) > 0 {
		t.Fatalf("JavaScript errors in the page's console:\n%s", strings.Join(errs, "\n"))
	}
}

// chatRequest sends a chat completion with model taskrouter and returns
// its request id.
func chatRequest(t *testing.T, base, text string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": "taskrouter", "messages": []map[string]string{{"role": "user", "content": text}}})
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("chat: %d", resp.StatusCode)
	}
	return resp.Header.Get("X-Request-Id")
}
