package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
	"github.com/taskrouter/taskrouter/telemetry"
)

// commonFlags are the flags that ask, plan and serve share.
type commonFlags struct {
	config   string
	catalogs multiFlag
	// catalogOnly leaves the built-in capabilities out of the catalog.
	catalogOnly bool
	planner     string
	// noDiscover keeps a process without a config from looking for an
	// Ollama (ask and serve).
	noDiscover bool
}

// multiFlag is a flag that may be given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runAsk(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "ask", "TEXT", "Plans TEXT into subtasks, dispatches them over NATS to executors, and prints the merged answer.\n"+
		"Without --nats everything runs in this process: embedded NATS, in-memory registry, built-in local models,\n"+
		"and, without --config, the models of an Ollama at OLLAMA_HOST for what they do not (see --no-discover).\n"+
		"Progress per subtask goes to stderr, the answer to stdout. TEXT '-' reads standard input.")
	var c commonFlags
	jsonOut := fs.Bool("json", false, "print the whole Response as JSON")
	natsURL := fs.String("nats", "", "send the request to a running router at this NATS URL instead")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	showTimeline := fs.Bool("timeline", false, "print the timeline of the subtasks' attempts on stderr at the end:\n"+
		"one line each, queued and running on an axis they share, with model and duration")
	timeout := fs.Duration("timeout", 0, "give up after this long (default: the config's router.request_timeout)")
	planFile := fs.String("plan", "", "run the plan in this JSON `file` (what plan --json prints) instead of planning;\n"+
		"TEXT is then optional, the request's text")
	var attach multiFlag
	fs.Var(&attach, "file", "attach the `file` (an image, a recording, a document): the request refers to it as \"this image\",\n"+
		"its name, or {{a1}} in a plan; may repeat")
	out := fs.String("out", ".", "`directory` to write the images, audio and files the answer produced into")
	c.register(fs)
	c.registerDiscover(fs)
	args, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	var given *task.Plan
	if *planFile != "" {
		if given, err = readPlanFile(*planFile); err != nil {
			return err
		}
	}
	text := ""
	if given == nil || len(args) > 0 {
		if text, err = readText(env, args); err != nil {
			return err
		}
	}
	req := task.Request{ID: task.NewID("req_"), Input: text, Plan: given, Planner: c.planner, TimeoutMs: timeout.Milliseconds(), Ingress: task.IngressCLI}
	progress := newProgress(env.stderr, *quiet)
	if !*jsonOut {
		progress.stream = env.stdout
	}
	var resp task.Response
	var saved []string
	files := askFiles{attach: attach, out: *out}
	if *natsURL != "" {
		resp, saved, err = askRemote(ctx, env, c.config, *natsURL, req, progress, *timeout, files)
	} else {
		resp, saved, err = askLocal(ctx, env, c, req, progress, files)
	}
	if err != nil {
		return err
	}
	if !*jsonOut && progress.finish(resp.Answer) {
		resp.Answer = "" // already on stdout
	}
	err = printResponse(env, resp, *jsonOut)
	w := env.stdout
	if *jsonOut {
		w = env.stderr // stdout holds one JSON document
	}
	if len(saved) > 0 {
		fmt.Fprint(w, describeSaved(saved, resp.Artifacts))
	} else if err == nil {
		fmt.Fprint(w, describeUnsaved(resp.Artifacts))
	}
	if *showTimeline {
		printTimeline(env.stderr, resp, timelineWidth(env))
	}
	return err
}

// askFiles are the files ask attaches, and where it writes those the
// answer produced.
type askFiles struct {
	attach []string
	out    string
	// inline, when above 0, sends the files inside the request, within
	// this many bytes of it, instead of storing them first.
	inline int64
}

// run attaches the files to req, has it answered, and saves what the
// answer produced. store opens the artifact store, or returns nil when
// there is none; it is called only when the files or the answer need it.
func (f askFiles) run(ctx context.Context, store func() artifactStore, req task.Request, answer func(task.Request) task.Response) (task.Response, []string, error) {
	var err error
	switch {
	case len(f.attach) == 0:
	case f.inline > 0:
		req.Attachments, err = inlineFiles(f.attach, f.inline)
	case store() == nil:
		err = unavailableError{errors.New("--file needs the artifact store, and this NATS has no JetStream")}
	default:
		req.Attachments, err = attachFiles(ctx, store(), f.attach)
	}
	if err != nil {
		return task.Response{}, nil, err
	}
	resp := answer(req)
	if len(resp.Artifacts) == 0 || store() == nil {
		return resp, nil, nil
	}
	saved, err := saveArtifacts(ctx, store(), resp.Artifacts, f.out)
	resp.Answer = linkSaved(resp.Answer, resp.Artifacts, saved)
	return resp, saved, err
}

// linkSaved points the answer's links to what it produced, served over
// HTTP at /v1/files/{id}/content, at the files written instead, which is
// where a reader of ask's answer finds them.
func linkSaved(answer string, refs []task.ArtifactRef, paths []string) string {
	for i, p := range paths {
		answer = strings.ReplaceAll(answer, "/v1/files/"+refs[i].ID+"/content", p)
	}
	return answer
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "configuration `file` (YAML); see configs/taskrouter.yaml")
	fs.Var(&c.catalogs, "catalog", "capability catalog `file` (YAML or JSON) to add; may repeat")
	fs.BoolVar(&c.catalogOnly, "catalog-only", false, "plan over the catalog files alone (--catalog, the config's catalog:), without the built-in capabilities\n"+
		"(default: the config's catalog_only)")
	fs.StringVar(&c.planner, "planner", "", "planner `mode`: auto, rules, llm or single (default: the config's planner.mode)")
}

// registerDiscover adds --no-discover, for the commands that serve models.
func (c *commonFlags) registerDiscover(fs *flag.FlagSet) {
	fs.BoolVar(&c.noDiscover, "no-discover", false, "without --config, do not look for an Ollama at OLLAMA_HOST (default 127.0.0.1:11434)\n"+
		"whose models would serve what no built-in model does")
}

func readText(env *cliEnv, args []string) (string, error) {
	if len(args) == 1 && args[0] == "-" {
		data, err := io.ReadAll(io.LimitReader(env.stdin, 8<<20))
		if err != nil {
			return "", fmt.Errorf("reading standard input: %w", err)
		}
		args = []string{string(data)}
	}
	return textArg(args)
}

func askLocal(ctx context.Context, env *cliEnv, c commonFlags, req task.Request, progress *progress, files askFiles) (task.Response, []string, error) {
	p, err := loadPlanning(env, c)
	if err != nil {
		return task.Response{}, nil, err
	}
	a, err := p.start(ctx, env)
	if err != nil {
		return task.Response{}, nil, err
	}
	defer a.close()
	if note := a.discoveryNote(); note != "" && !progress.quiet {
		fmt.Fprintln(env.stderr, "taskrouter: "+note)
	}
	if t := a.tracer(); t != nil {
		// The CLI is the request's ingress: its span is the trace's root.
		if req.ID == "" {
			req.ID = task.NewID("req_")
		}
		var span trace.Span
		ctx, span = t.Start(ctx, "ask", trace.WithAttributes(telemetry.AttrRequestID.String(req.ID)))
		defer span.End()
	}
	store := func() artifactStore {
		if a.artifacts == nil {
			return nil
		}
		return a.artifacts
	}
	return files.run(ctx, store, req, func(req task.Request) task.Response { return a.router.Handle(ctx, req, progress.event) })
}

// inlineHeadroom is what a request over NATS keeps of max_payload for
// its fields besides the input and the files, and its headers.
const inlineHeadroom = 16 << 10

// askRemote sends the request to a router over tr.v1.req, as a producer
// logged in with the config's nats settings, and follows its progress on
// an events subject in its own inbox. Files travel inside the request,
// and what the answer produced comes back from the router's artifact
// store when this login may read it.
func askRemote(ctx context.Context, env *cliEnv, config, url string, req task.Request, progress *progress, timeout time.Duration, files askFiles) (task.Response, []string, error) {
	cfg, err := LoadConfig(config)
	if err != nil {
		return task.Response{}, nil, usageError{err.Error()}
	}
	r, closeRemote, err := dialRouter(ctx, env, cfg, url)
	if err != nil {
		return task.Response{}, nil, err
	}
	defer closeRemote()
	if timeout > 0 {
		r.timeout = timeout
	}
	// Files go inside the request: a producer may not write the store.
	files.inline = max(r.nc.MaxPayload()-int64(len(req.Input))-inlineHeadroom, 1)
	var store artifactStore
	opened := false
	openStore := func() artifactStore {
		if !opened {
			opened = true
			// A login that may not read the store (a producer's) leaves
			// the answer's artifacts unsaved; the response names them.
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			if s, err := openRemoteArtifacts(ctx, r.nc, cfg.Artifacts); err == nil {
				store = s
			}
		}
		return store
	}
	var failure error
	resp, saved, err := files.run(ctx, openStore, req, func(req task.Request) task.Response {
		resp, err := r.run(ctx, req, progress.event)
		failure = err
		return resp
	})
	if failure != nil {
		return resp, nil, failure
	}
	return resp, saved, err
}

func printResponse(env *cliEnv, resp task.Response, asJSON bool) error {
	if asJSON {
		if err := writeJSON(env.stdout, resp); err != nil {
			return err
		}
	} else if resp.Answer != "" {
		fmt.Fprintln(env.stdout, resp.Answer)
	}
	if resp.Error != nil {
		fmt.Fprintf(env.stderr, "taskrouter: %s\n", describeError(resp.Error))
		return failedError{resp.Error}
	}
	return nil
}

// describeError adds what to do for the error classes a user can act on.
func describeError(e *task.Error) string {
	msg := e.Error()
	switch e.Code {
	case task.CodeNoModel, task.CodeModelNotFound, task.CodeModelLacksCapability:
		msg += "\n  (run 'taskrouter models' to see what is served; add a model for it in the config's models or providers,\n" +
			"  or, without a config, run an Ollama with a model pulled: taskrouter uses it on its own)"
	case task.CodeModelUnavailable:
		msg += fmt.Sprintf("\n  (retry in %s; 'taskrouter models' shows each model's state)", (e.RetryAfter() + time.Second - 1).Truncate(time.Second))
	case task.CodeTimeout:
		msg += "\n  (raise router.subtask_timeout or --timeout, or check the model is responsive)"
	case task.CodeAuth:
		msg += "\n  (check the API key in the environment variable named by the model's api_key_env)"
	}
	return msg
}

// progress prints one line per subtask state change on stderr, and
// streams the answer's text to stdout as it arrives when the answer is
// one model's output: the model-written merge, or a one-subtask plan.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	quiet    bool
	stream   io.Writer // nil: no streaming
	single   bool
	streamed strings.Builder
}

func newProgress(w io.Writer, quiet bool) *progress { return &progress{w: w, quiet: quiet} }

func (p *progress) streamDelta(ev task.Event) {
	if p.stream == nil || ev.Type != task.EventProgress || !(p.single || ev.SubtaskID == router.MergeSubtaskID) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.streamed.WriteString(ev.Text)
	fmt.Fprint(p.stream, ev.Text)
}

// finish ends a streamed answer; it reports whether the answer was shown
// whole already.
func (p *progress) finish(answer string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.streamed.Len() == 0 {
		return false
	}
	if strings.TrimSpace(p.streamed.String()) == strings.TrimSpace(answer) {
		fmt.Fprintln(p.stream)
		return true
	}
	fmt.Fprint(p.stream, "\n\n[the stream was interrupted and retried; the whole answer follows]\n")
	return false
}

func (p *progress) event(ev task.Event) {
	if ev.Type == task.EventPlanned {
		p.single = ev.Subtasks == 1
	}
	p.streamDelta(ev)
	if p.quiet || ev.SubtaskID == "" && ev.Type != task.EventPlanned && ev.Type != task.EventMerged {
		return
	}
	line := ""
	switch ev.Type {
	case task.EventPlanned:
		line = "planned " + ev.Text
	case task.EventAccepted:
		line = fmt.Sprintf("%-4s %-11s %-22s running on %s", ev.SubtaskID, ev.Capability, ev.Model, ev.Executor)
	case task.EventRetry:
		line = fmt.Sprintf("%-4s %-11s %-22s retrying after attempt %d: %s", ev.SubtaskID, ev.Capability, ev.Model, ev.Attempt, ev.Error.Message)
	case task.EventDone:
		line = fmt.Sprintf("%-4s %-11s %-22s done in %s", ev.SubtaskID, ev.Capability, ev.Model, ev.Text)
	case task.EventFailed, task.EventCancelled:
		line = fmt.Sprintf("%-4s %-11s %-22s %s: %s", ev.SubtaskID, ev.Capability, ev.Model, ev.Type, ev.Error.Message)
	case task.EventMerged:
		line = "merged (" + ev.Text + ")"
	case task.EventProgress:
		if ev.Progress == nil {
			return
		}
		line = fmt.Sprintf("%-4s %-11s %-22s %s", ev.SubtaskID, ev.Capability, ev.Model, describeProgress(*ev.Progress))
	default:
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%6.3fs] %s\n", float64(ev.ElapsedMs)/1000, line)
}

// readPlanFile reads a plan in the JSON form plan --json prints, strictly;
// it is validated against the catalog when it runs.
func readPlanFile(path string) (*task.Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{fmt.Sprintf("--plan: %v", err)}
	}
	plan, err := task.DecodePlan(data)
	if err != nil {
		return nil, usageError{fmt.Sprintf("--plan %s: %s; a plan is {\"tasks\": [{\"id\": \"t1\", \"capability\": \"...\", \"input\": \"...\", \"args\": {...}, \"deps\": []}]}, as plan --json prints", path, task.AsError(err).Message)}
	}
	return &plan, nil
}

// describeProgress says how far a tool's call has come: 2/5 (40%) copying.
func describeProgress(p task.Progress) string {
	s := "progress " + strconv.FormatFloat(p.Done, 'f', -1, 64)
	if p.Total > 0 {
		s += fmt.Sprintf("/%s (%.0f%%)", strconv.FormatFloat(p.Total, 'f', -1, 64), 100*p.Done/p.Total)
	}
	if p.Message != "" {
		s += " " + p.Message
	}
	return s
}
