package main

import (
	"context"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
)

// The examples for the providers Chinese teams use work: each speaks to
// its vendor's OpenAI-compatible endpoint with the key from its variable,
// states a price for every model and a window for every chat model, and,
// pointed at a scripted OpenAI-compatible server, answers a request
// naming each of its chat models with the upstream model id it names.
func TestChineseProviderConfigsWork(t *testing.T) {
	cases := []struct{ file, host, keyEnv string }{
		{"zhipu.yaml", "open.bigmodel.cn", "ZHIPUAI_API_KEY"},
		{"moonshot.yaml", "api.moonshot.cn", "MOONSHOT_API_KEY"},
		{"qianfan.yaml", "qianfan.baidubce.com", "QIANFAN_API_KEY"},
		{"hunyuan.yaml", "api.hunyuan.cloud.tencent.com", "HUNYUAN_API_KEY"},
		{"doubao.yaml", "ark.cn-beijing.volces.com", "ARK_API_KEY"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			cfg, err := LoadConfig("../../configs/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			up := openaitest.New(openaitest.WithAPIKey("sk-test"))
			defer up.Close()
			var chat []task.ModelSpec
			for i, m := range cfg.Models {
				checkVendorModel(t, m, c.host, c.keyEnv)
				cfg.Models[i].BaseURL = up.URL()
				up.Script(m.UpstreamModel, openaitest.Behaviour{Reply: "你好"})
				if m.Has("chat") || m.Has("reason") {
					chat = append(chat, m)
				}
			}
			cfg.HTTP.Addr = ""
			env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
				getenv: func(k string) string { return map[string]string{c.keyEnv: "sk-test"}[k] }}
			a, err := startApp(context.Background(), env, cfg, task.BuiltinCatalog(), nil, nil, appParts{router: true, executors: true})
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			for _, m := range chat {
				resp := a.router.Handle(context.Background(), task.Request{ID: task.NewID("req_"), Input: "你好", Hints: task.Hints{Model: m.Name}}, nil)
				if resp.Error != nil || resp.Answer != "你好" {
					t.Errorf("%s: %+v", m.Name, resp.Error)
				}
				if rec, ok := up.Last(m.UpstreamModel); !ok || !strings.Contains(string(rec.Body), `"model":"`+m.UpstreamModel+`"`) {
					t.Errorf("%s: the upstream got no call for %s", m.Name, m.UpstreamModel)
				}
			}
		})
	}
}

func checkVendorModel(t *testing.T, m task.ModelSpec, host, keyEnv string) {
	t.Helper()
	u, err := url.Parse(m.BaseURL)
	if err != nil || u.Scheme != "https" || u.Host != host || m.APIKeyEnv != keyEnv || m.UpstreamModel == "" {
		t.Errorf("%s: base_url %q, api_key_env %q, upstream_model %q; want https://%s/..., %s and an id", m.Name, m.BaseURL, m.APIKeyEnv, m.UpstreamModel, host, keyEnv)
	}
	free := m.Price.InputPerMTok == 0 && m.Price.OutputPerMTok == 0
	if free && !strings.Contains(m.UpstreamModel, "flash") && !strings.Contains(m.UpstreamModel, "speed") && !strings.Contains(m.UpstreamModel, "lite") {
		t.Errorf("%s has no price", m.Name)
	}
	if m.Has("chat") && m.ContextWindow == 0 {
		t.Errorf("%s: a chat model without a context window", m.Name)
	}
}
