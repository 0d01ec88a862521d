package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskrouter/taskrouter/localmodel"
)

// transports runs a test over both of the server's transports.
var transports = []struct {
	name    string
	connect func(*env, *notes) *mcp.ClientSession
}{
	{"stdio", (*env).connectStdio},
	{"http", (*env).connectHTTP},
}

// TestToolsWithGoClient drives the three tools with the official Go
// SDK's client, over stdio and streamable HTTP, against the real router,
// NATS and built-in models: the tool list and its schemas, ask with
// progress notifications, plan, models, and errors.
func TestToolsWithGoClient(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEnv(t)
			n := newNotes()
			cs := tr.connect(e, n)
			tools := listTools(t, cs)
			askCalc(t, cs, n, tools["ask"])
			askCompound(t, cs, tools["ask"])
			planCalc(t, cs, tools["plan"])
			listModels(t, cs, tools["models"])
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func listTools(t *testing.T, cs *mcp.ClientSession) map[string]*mcp.Tool {
	t.Helper()
	res, err := cs.ListTools(ctxT(t), nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	tools := map[string]*mcp.Tool{}
	var names []string
	for _, tool := range res.Tools {
		tools[tool.Name] = tool
		names = append(names, tool.Name)
		if len(tool.Description) < 100 || tool.Title == "" || tool.OutputSchema == nil || tool.Annotations == nil {
			t.Errorf("tool %s: title %q, description %q, output schema %v, annotations %v: each must be there to guide a host",
				tool.Name, tool.Title, tool.Description, tool.OutputSchema, tool.Annotations)
		}
	}
	if strings.Join(names, ",") != "ask,models,plan" {
		t.Fatalf("tools = %v, want ask, models, plan", names)
	}
	if d := tools["ask"].Description; !strings.Contains(d, "- calc: Calculate") || !strings.Contains(d, "- summarize: ") || strings.Contains(d, "- embed:") {
		t.Errorf("ask's description lists the catalog's plannable capabilities: %s", d)
	}
	return tools
}

// call calls a tool with a progress token and returns its result.
func call(t *testing.T, cs *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(ctxT(t), &mcp.CallToolParams{Name: name, Arguments: args, Meta: mcp.Meta{"progressToken": "tok-" + name}})
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	return res
}

// structured checks the result's structured content against the tool's
// output schema and decodes it into v.
func structured(t *testing.T, tool *mcp.Tool, res *mcp.CallToolResult, v any) {
	t.Helper()
	if res.IsError {
		t.Fatalf("%s failed: %s", tool.Name, text(res))
	}
	data, err := json.Marshal(tool.OutputSchema)
	if err != nil {
		t.Fatal(err)
	}
	var schema jsonschema.Schema
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("%s's output schema: %v", tool.Name, err)
	}
	resolved, err := schema.Resolve(nil)
	if err != nil {
		t.Fatalf("%s's output schema: %v", tool.Name, err)
	}
	if err := resolved.Validate(res.StructuredContent); err != nil {
		t.Errorf("%s's structured content does not match its output schema: %v\n%v", tool.Name, err, res.StructuredContent)
	}
	data, _ = json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decoding %s's structured content %s: %v", tool.Name, data, err)
	}
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

type askOut struct {
	Answer    string `json:"answer"`
	RequestID string `json:"request_id"`
	Model     string `json:"model"`
	Merge     string `json:"merge"`
	Subtasks  []struct {
		ID, Capability, Model, Status string
		Attempts                      int
		DurationMs                    float64 `json:"duration_ms"`
	} `json:"subtasks"`
}

func askCalc(t *testing.T, cs *mcp.ClientSession, n *notes, tool *mcp.Tool) {
	res := call(t, cs, "ask", map[string]any{"input": "What is 17 * 23 + 4?"})
	var out askOut
	structured(t, tool, res, &out)
	if !strings.Contains(text(res), "395") || out.Answer != text(res) {
		t.Errorf("ask answered %q (structured %q), want 395", text(res), out.Answer)
	}
	if len(out.Subtasks) != 1 || out.Subtasks[0].Capability != "calc" || out.Subtasks[0].Model != "local/calc" ||
		out.Subtasks[0].Status != "done" || out.Subtasks[0].Attempts != 1 || !strings.HasPrefix(out.RequestID, "req_") {
		t.Errorf("ask's result = %+v", out)
	}
	got := n.until(t, "answer merged")
	var msgs []string
	for i, p := range got {
		msgs = append(msgs, p.Message)
		if p.ProgressToken != "tok-ask" {
			t.Errorf("notification %d has token %v, want tok-ask", i, p.ProgressToken)
		}
		if i > 0 && p.Progress <= got[i-1].Progress {
			t.Errorf("progress went from %v to %v: it must increase with every notification", got[i-1].Progress, p.Progress)
		}
		if p.Progress > p.Total {
			t.Errorf("progress %v above total %v", p.Progress, p.Total)
		}
	}
	want := []string{"planned 1 subtask: t1 calc", "t1 calc running on local/calc", "t1 calc done in", "answer merged (single)"}
	if len(msgs) != len(want) {
		t.Fatalf("progress messages = %q, want %q", msgs, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(msgs[i], w) {
			t.Errorf("progress message %d = %q, want %q...", i, msgs[i], w)
		}
	}
	if last := got[len(got)-1]; last.Progress != last.Total {
		t.Errorf("the last notification has progress %v of %v; the answer completes it", last.Progress, last.Total)
	}
}

func askCompound(t *testing.T, cs *mcp.ClientSession, tool *mcp.Tool) {
	res := call(t, cs, "ask", map[string]any{"input": "Summarize this text, extract its keywords and detect its language: " +
		"'NATS is a simple, secure and high performance messaging system. It connects services across clouds and edge devices. " +
		"Teams use it for request-reply, streaming and key-value storage.'", "prefer_local": true, "timeout_seconds": 20})
	var out askOut
	structured(t, tool, res, &out)
	var caps []string
	for _, s := range out.Subtasks {
		caps = append(caps, s.Capability)
		if s.Status != "done" || !strings.HasPrefix(s.Model, "local/") {
			t.Errorf("subtask %+v", s)
		}
	}
	slices.Sort(caps)
	if strings.Join(caps, ",") != "keywords,langid,summarize" || out.Merge != "template" || !strings.Contains(out.Answer, "en") {
		t.Errorf("ask's result = %+v", out)
	}
}

func planCalc(t *testing.T, cs *mcp.ClientSession, tool *mcp.Tool) {
	res := call(t, cs, "plan", map[string]any{"input": "What is 17 * 23 + 4?", "planner": "rules"})
	var out struct {
		Tasks []struct {
			ID, Capability, Input string
			Deps                  []string
		}
	}
	structured(t, tool, res, &out)
	if len(out.Tasks) != 1 || out.Tasks[0].ID != "t1" || out.Tasks[0].Capability != "calc" || out.Tasks[0].Deps == nil {
		t.Errorf("plan = %+v", out)
	}
	var fromText map[string]any
	if err := json.Unmarshal([]byte(text(res)), &fromText); err != nil {
		t.Errorf("plan's text is not the plan as JSON: %v\n%s", err, text(res))
	}
}

func listModels(t *testing.T, cs *mcp.ClientSession, tool *mcp.Tool) {
	var all, calc struct {
		Models []struct {
			Name, Backend, State string
			Capabilities         []string
			Replicas             int
			ContextWindow        int `json:"context_window"`
			Price                *struct {
				In  float64 `json:"input_per_mtok"`
				Out float64 `json:"output_per_mtok"`
			}
		}
	}
	structured(t, tool, call(t, cs, "models", nil), &all)
	names := map[string]bool{}
	for _, m := range all.Models {
		names[m.Name] = true
		if m.Replicas != 1 || m.State != "ready" || len(m.Capabilities) == 0 {
			t.Errorf("model %+v", m)
		}
		if m.Name == "test/slow" && (m.ContextWindow != 8192 || m.Price == nil || m.Price.In != 1 || m.Price.Out != 2) {
			t.Errorf("test/slow = %+v, want its window and prices", m)
		}
	}
	if len(all.Models) != len(localmodel.Builtins())+1 || !names["local/calc"] || !names["test/slow"] {
		t.Errorf("models = %v, want the built-in models and test/slow", names)
	}
	structured(t, tool, call(t, cs, "models", map[string]any{"capability": "calc"}), &calc)
	if len(calc.Models) != 1 || calc.Models[0].Name != "local/calc" {
		t.Errorf("models offering calc = %+v", calc.Models)
	}
}

// TestBadCalls: arguments a model could correct are tool errors that say
// what to send; calls that are malformed are protocol errors.
func TestBadCalls(t *testing.T) {
	e := newEnv(t)
	cs := e.connectStdio(nil)
	toolErrors := []struct {
		tool string
		args any
		want []string
	}{
		{"ask", map[string]any{}, []string{`parameter "input" is required`, `{"input": "What is 17 * 23 + 4?"}`}},
		{"ask", map[string]any{"input": "   "}, []string{`parameter "input" is required`}},
		{"ask", map[string]any{"inptu": "What is 2+2?"}, []string{`ask has no parameter "inptu"; did you mean "input"?`, "input, planner, model"}},
		{"ask", map[string]any{"input": "2+2", "max_cost": "cheap"}, []string{`parameter "max_cost" must be a number, not a string`}},
		{"ask", map[string]any{"input": "2+2", "prefer_local": "yes"}, []string{`parameter "prefer_local" must be true or false, not a string`}},
		{"ask", map[string]any{"input": "2+2", "planner": "rule"}, []string{`parameter "planner" must be one of auto, rules, llm, single`, `did you mean "rules"?`}},
		{"ask", map[string]any{"input": "2+2", "timeout_seconds": 0}, []string{`parameter "timeout_seconds" must be a number of seconds above 0`}},
		{"ask", map[string]any{"input": "2+2", "max_cost": -1}, []string{`parameter "max_cost" must be a number of US dollars, 0 or more`}},
		{"ask", map[string]any{"input": "Summarize: x", "model": "gpt-9"}, []string{"taskrouter could not answer: model_not_found", "Call the models tool"}},
		{"plan", map[string]any{"input": 42}, []string{`parameter "input" must be a string, not a number`}},
		{"models", map[string]any{"capability": "summarise"}, []string{`no capability "summarise" in the catalog; did you mean "summarize"?`}},
	}
	for _, c := range toolErrors {
		res := call(t, cs, c.tool, c.args)
		if !res.IsError {
			t.Errorf("%s %v: no error; got %s", c.tool, c.args, text(res))
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(text(res), w) {
				t.Errorf("%s %v: error %q lacks %q", c.tool, c.args, text(res), w)
			}
		}
	}
	protocol := []struct {
		tool string
		args any
		want string
	}{
		{"ask", []any{"What is 2+2?"}, `the arguments of ask must be a JSON object, such as {"input": "What is 17 * 23 + 4?"}`},
		{"ask", "What is 2+2?", "must be a JSON object"},
		{"translate", map[string]any{"input": "x"}, `unknown tool "translate"`},
	}
	for _, c := range protocol {
		_, err := cs.CallTool(ctxT(t), &mcp.CallToolParams{Name: c.tool, Arguments: c.args})
		var rpc *jsonrpc.Error
		if !errors.As(err, &rpc) || rpc.Code != jsonrpc.CodeInvalidParams || !strings.Contains(rpc.Message, c.want) {
			t.Errorf("%s %v: error %v, want invalid params with %q", c.tool, c.args, err, c.want)
		}
	}
}

// TestCancel: a client that cancels a call cancels the request, down to
// the subtask at the executor, over both transports; the session serves
// the next call.
func TestCancel(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEnv(t)
			n := newNotes()
			cs := tr.connect(e, n)
			ctx, cancel := context.WithCancel(ctxT(t))
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ask", Arguments: map[string]any{"input": "Tell me a long story", "model": "test/slow"},
					Meta: mcp.Meta{"progressToken": 7}})
				errc <- err
			}()
			select {
			case <-n.running:
			case <-time.After(10 * time.Second):
				t.Fatalf("no progress notification said the subtask runs; got %v", n.all())
			}
			select {
			case <-e.started: // else the executor may refuse it before it starts
			case <-time.After(10 * time.Second):
				t.Fatal("the slow model never started")
			}
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("the cancelled call returned %v", err)
			}
			select {
			case id := <-e.cancelled:
				if id != "t1" {
					t.Errorf("cancelled subtask %q, want t1", id)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the subtask at the executor was not cancelled")
			}
			if res := call(t, cs, "ask", map[string]any{"input": "What is 2^10?"}); !strings.Contains(text(res), "1024") {
				t.Errorf("after a cancelled call, ask answered %q", text(res))
			}
		})
	}
}
