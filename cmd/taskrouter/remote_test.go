package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
)

// remoteConfig writes a config with a plan model, two remote task models
// and a merge model, all served by srv.
func remoteConfig(t *testing.T, srv *openaitest.Server) string {
	t.Helper()
	model := func(name, caps string, q string) string {
		return "  - name: " + name + "\n    backend: openai\n    base_url: " + srv.URL() + "\n    api_key_env: TEST_UPSTREAM_KEY\n" +
			"    capabilities: [" + caps + "]\n    quality: {" + q + "}\n    concurrency: 4\n"
	}
	yaml := "router:\n  accept_timeout: 2s\nmodels:\n" +
		model("planner-llm", "plan", "plan: 0.9") +
		model("sum-llm", "summarize", "summarize: 0.95") +
		model("tr-llm", "translate", "translate: 0.9") +
		model("writer-llm", "merge", "merge: 0.9")
	path := filepath.Join(t.TempDir(), "remote.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runWithKey(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb strings.Builder
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string {
		if k == "TEST_UPSTREAM_KEY" {
			return "sk-test-123"
		}
		return ""
	}}
	code := run(context.Background(), args, env)
	return code, out.String(), errb.String()
}

// askRemoteJSON runs `ask --json` with the remote config and decodes the Response.
func askRemoteJSON(t *testing.T, srv *openaitest.Server) task.Response {
	t.Helper()
	code, out, errOut := runWithKey(t, "ask", "--json", "--config", remoteConfig(t, srv), remoteRequest)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var resp task.Response
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

const remoteRequest = "Summarize this, translate it into French and detect its language: 'Go is a programming language. It is fast and simple.'"

// A plan written by the planner model in HuggingGPT's form, with three
// subtasks on two remote models and one local one, merged by a model.
func TestRemotePlanDispatchAndModelMerge(t *testing.T) {
	srv := openaitest.New()
	defer srv.Close()
	srv.Script("planner-llm", openaitest.Behaviour{Reply: "Here is the plan:\n```json\n" +
		`[{"task": "summarize", "id": 0, "dep": [-1], "args": {"text": "Go is a programming language. It is fast and simple."}},` +
		` {"task": "translate", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0", "target_lang": "fr"}},` +
		` {"task": "langid", "id": 2, "dep": [-1], "args": {"text": "Go is a programming language. It is fast and simple."}},]` + "\n```"})
	srv.Script("sum-llm", openaitest.Behaviour{Reply: "Go is a fast, simple language."})
	srv.Script("tr-llm", openaitest.Behaviour{Reply: "Go est un langage rapide et simple."})
	srv.Script("writer-llm", openaitest.Behaviour{Reply: "Résumé: Go est un langage rapide et simple. Language: English."})
	resp := askRemoteJSON(t, srv)
	models := map[string]string{}
	for _, st := range resp.Subtasks {
		models[st.Capability] = st.Model
	}
	if models["summarize"] != "sum-llm" || models["translate"] != "tr-llm" || models["langid"] != "local/langid" || len(resp.Subtasks) != 3 {
		t.Fatalf("models = %v", models)
	}
	if resp.Plan.Tasks[1].Deps[0] != resp.Plan.Tasks[0].ID {
		t.Fatalf("translate does not depend on summarize: %+v", resp.Plan.Tasks)
	}
	if last, _ := srv.Last("tr-llm"); !strings.Contains(string(last.Body), "Go is a fast, simple language.") {
		t.Fatalf("the translation model did not get the summary: %s", last.Body)
	}
	if resp.Merge != "model" || resp.MergeModel != "writer-llm" || !strings.HasPrefix(resp.Answer, "Résumé") {
		t.Fatalf("merge %q by %q: %q", resp.Merge, resp.MergeModel, resp.Answer)
	}
	if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 {
		t.Fatalf("usage not counted: %+v", resp.Usage)
	}
}

// When the planner model answers garbage twice, the rules planner plans
// and the request still gets an answer.
func TestGarbagePlanFallsBackToRules(t *testing.T) {
	srv := openaitest.New()
	defer srv.Close()
	srv.Script("planner-llm", openaitest.Behaviour{Reply: "I am sorry, I cannot help with planning { not json"})
	srv.Script("sum-llm", openaitest.Behaviour{Reply: "Go is a fast, simple language."})
	srv.Script("tr-llm", openaitest.Behaviour{Reply: "Go est un langage rapide et simple."})
	srv.Script("writer-llm", openaitest.Behaviour{Reply: "Go est un langage rapide et simple (English)."})
	resp := askRemoteJSON(t, srv)
	if srv.Calls("planner-llm") != 2 || resp.Answer == "" || len(resp.Subtasks) < 2 {
		t.Fatalf("planner calls %d, response %+v", srv.Calls("planner-llm"), resp)
	}
	if resp.Plan == nil || resp.Plan.Planner != "rules" || !strings.Contains(resp.Plan.FallbackReason, "invalid_plan") {
		t.Fatalf("the plan does not say it fell back to the rules: %+v", resp.Plan)
	}
	code, _, errOut := runWithKey(t, "plan", "--config", remoteConfig(t, srv), "Summarize this and translate it to French: Go is fast.")
	if code != exitOK || !strings.Contains(errOut, "planned by the rules planner; the LLM planner failed") {
		t.Fatalf("plan: exit %d, stderr %q", code, errOut)
	}
}

// Without --json the model-written answer streams to stdout as it arrives.
func TestModelMergeStreamsToStdout(t *testing.T) {
	srv := openaitest.New()
	defer srv.Close()
	srv.Script("planner-llm", openaitest.Behaviour{Reply: `{"tasks":[{"id":"t1","capability":"summarize","input":"Go is fast.","deps":[]},` +
		`{"id":"t2","capability":"langid","input":"Go is fast.","deps":[]}]}`})
	srv.Script("sum-llm", openaitest.Behaviour{Reply: "Go is fast."})
	srv.Script("writer-llm", openaitest.Behaviour{Reply: "Go is fast, and this is English."})
	code, out, errOut := runWithKey(t, "ask", "--config", remoteConfig(t, srv), "Summarize and detect the language: 'Go is fast.'")
	if code != exitOK || out != "Go is fast, and this is English.\n" || !strings.Contains(errOut, "merged (model)") {
		t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
	}
}
