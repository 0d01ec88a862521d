package httpapi_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi"
	"github.com/taskrouter/taskrouter/adapters/openaitest"
)

// nodeDir holds the Node client test: package.json pins the openai
// package, package-lock.json its exact build, chat.mjs the script.
const nodeDir = "testdata/node"

// installNodeClient runs `npm ci` unless the pinned client is installed
// already. It fails, never skips, when node or npm is missing or the npm
// registry cannot be reached: CI must run this test.
func installNodeClient(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed; install Node.js 20 or later (this test drives the API with the official OpenAI Node client)")
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	data, err := os.ReadFile(filepath.Join(nodeDir, "package-lock.json"))
	if err != nil || json.Unmarshal(data, &lock) != nil {
		t.Fatalf("reading %s/package-lock.json: %v", nodeDir, err)
	}
	want := lock.Packages["node_modules/openai"].Version
	var installed struct {
		Version string `json:"version"`
	}
	data, err = os.ReadFile(filepath.Join(nodeDir, "node_modules", "openai", "package.json"))
	if err == nil && json.Unmarshal(data, &installed) == nil && installed.Version == want {
		return node
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm is not installed; it installs the OpenAI Node client this test uses")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = nodeDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s failed (is the npm registry reachable?): %v\n%s", nodeDir, err, out)
	}
	return node
}

type nodeReport struct {
	Completion struct {
		ID, Object, Model, Content, Role string
		FinishReason                     string `json:"finish_reason"`
		Created                          int64
		Usage                            struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
			TotalTokens      int `json:"total_tokens"`
		}
	}
	Stream struct {
		Chunks        int
		ContentChunks int `json:"content_chunks"`
		Content       string
		FinishReason  string `json:"finish_reason"`
		Usage         *struct {
			TotalTokens int `json:"total_tokens"`
		}
		IDs int `json:"ids"`
	}
	Helper struct {
		Content      string
		FinishReason string `json:"finish_reason"`
	}
	Models   []string
	NotFound struct {
		Status     int
		Code       string
		Param      string
		IsNotFound bool `json:"is_not_found"`
	} `json:"not_found"`
	BadKey struct {
		Status int
		Code   string
		IsAuth bool `json:"is_auth"`
	} `json:"bad_key"`
	Tools       toolsReport `json:"tools"`
	ToolsStream toolsReport `json:"tools_stream"`
	ToolsHelper toolsReport `json:"tools_helper"`
	Logprobs    struct {
		Fingerprint string
		Tokens, Top int
	}
	LogprobsStream struct {
		Fingerprint string
		Tokens      int
	} `json:"logprobs_stream"`
	Embeddings struct {
		Object, Model string
		Count, Dims   int
		Floats        bool
		PromptTokens  int `json:"prompt_tokens"`
	}
	Legacy struct {
		Object, Model, Text string
		FinishReason        string `json:"finish_reason"`
	}
	LegacyStream struct {
		Text   string
		Chunks int
	} `json:"legacy_stream"`
	Lacks struct {
		Status       int
		Code, Param  string
		IsBadRequest bool `json:"is_bad_request"`
	}
}

// toolsReport is what the client read of a function-calling answer.
type toolsReport struct {
	Content      *string
	Calls        []struct{ ID, Type, Name, Arguments string }
	FinishReason string `json:"finish_reason"`
}

// check reports what is wrong with r: it must have toolRunner's calls.
func (r toolsReport) check(t *testing.T, what string) {
	t.Helper()
	got, _ := json.Marshal(r.Calls)
	want := `[{"ID":"call_a","Type":"function","Name":"get_weather","Arguments":"{\"city\":\"Oslo\"}"},` +
		`{"ID":"call_b","Type":"function","Name":"get_time","Arguments":"{}"}]`
	if string(got) != want || r.FinishReason != "tool_calls" {
		t.Errorf("%s: calls %s, finish_reason %q; want calls %s, finish_reason tool_calls", what, got, r.FinishReason, want)
	}
}

// TestOpenAINodeClient drives /v1/chat/completions, streaming and not,
// with logprobs, /v1/embeddings, /v1/completions, streaming and not, and
// /v1/models with the official OpenAI Node client, through the real
// router, NATS, executor and an OpenAI-compatible upstream; and function
// calling, streaming and not, against a runner whose model calls tools.
func TestOpenAINodeClient(t *testing.T) {
	node := installNodeClient(t)
	e := newAliasEnv(t, httpapi.Config{APIKeys: []string{"sk-node-test"}})
	runner := &toolRunner{}
	toolsURL := newToolServer(t, runner).url
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "chat.mjs")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "TR_BASE_URL="+e.url+"/v1", "TR_API_KEY=sk-node-test", "TR_MODEL=gpt-test", "TR_TOOLS_BASE_URL="+toolsURL+"/v1",
		"TR_RELAY_MODEL=alias")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node chat.mjs: %v\n%s", err, stderr.String())
	}
	t.Logf("report: %s", out)
	var r nodeReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("decoding the script's report %q: %v", out, err)
	}
	c := r.Completion
	if !strings.HasPrefix(c.ID, "chatcmpl-") || c.Object != "chat.completion" || c.Model != "gpt-test" || c.Role != "assistant" ||
		c.Content != reply || c.FinishReason != "stop" || c.Created == 0 || c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens || c.Usage.TotalTokens == 0 {
		t.Errorf("completion = %+v", c)
	}
	s := r.Stream
	if s.Content != reply || s.FinishReason != "stop" || s.Usage == nil || s.Usage.TotalTokens == 0 || s.IDs != 1 || s.ContentChunks < 5 {
		t.Errorf("stream = %+v", s)
	}
	if r.Helper.Content != reply || r.Helper.FinishReason != "stop" {
		t.Errorf("stream helper = %+v", r.Helper)
	}
	if lp := r.Logprobs; lp.Fingerprint != "fp_openaitest" || lp.Tokens != 9 || lp.Top != 2 {
		t.Errorf("logprobs = %+v", lp)
	}
	if lp := r.LogprobsStream; lp.Fingerprint != "fp_openaitest" || lp.Tokens != 9 {
		t.Errorf("streamed logprobs = %+v", lp)
	}
	if em := r.Embeddings; em.Object != "list" || em.Model != "alias" || em.Count != 2 || em.Dims != openaitest.DefaultDimensions || !em.Floats || em.PromptTokens != 4 {
		t.Errorf("embeddings = %+v", em)
	}
	if l := r.Legacy; l.Object != "text_completion" || l.Model != "alias" || l.Text != "Foxes are small" || l.FinishReason != "length" {
		t.Errorf("legacy completion = %+v", l)
	}
	if l := r.LegacyStream; l.Text != "Foxes are small omnivores." || l.Chunks < 5 {
		t.Errorf("streamed legacy completion = %+v", l)
	}
	if l := r.Lacks; l.Status != 400 || l.Code != "model_lacks_capability" || l.Param != "model" || !l.IsBadRequest {
		t.Errorf("embeddings with a chat model = %+v", l)
	}
	if strings.Join(r.Models, ",") != "taskrouter,alias,gpt-test,local/slow" {
		t.Errorf("models = %v", r.Models)
	}
	if nf := r.NotFound; nf.Status != 404 || nf.Code != "model_not_found" || nf.Param != "model" || !nf.IsNotFound {
		t.Errorf("unknown model = %+v", nf)
	}
	if bk := r.BadKey; bk.Status != 401 || bk.Code != "invalid_api_key" || !bk.IsAuth {
		t.Errorf("bad key = %+v", bk)
	}
	r.Tools.check(t, "tool calls")
	if r.Tools.Content != nil {
		t.Errorf("tool calls: content %q, want null", *r.Tools.Content)
	}
	r.ToolsStream.check(t, "streamed tool calls")
	r.ToolsHelper.check(t, "tool calls from the stream helper")
	reqs := runner.ran()
	if len(reqs) != 3 {
		t.Fatalf("the tools runner ran %d requests, want 3", len(reqs))
	}
	for _, req := range reqs {
		if req.Tools == nil || req.Tools.Parallel == nil || !*req.Tools.Parallel || string(req.Tools.Choice) != `"auto"` ||
			len(req.Messages) != 3 || req.Messages[2].ToolCallID != "call_0" || len(req.Messages[1].ToolCalls) == 0 {
			t.Errorf("the runner got tools %+v and messages %+v", req.Tools, req.Messages)
		}
	}
}
