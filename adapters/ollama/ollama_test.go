package ollama

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/ollama/ollamatest"
	"github.com/taskrouter/taskrouter/providers"
	"github.com/taskrouter/taskrouter/task"
)

func TestParseHost(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"", "http://127.0.0.1:11434", ""},
		{"127.0.0.1:11434", "http://127.0.0.1:11434", ""},
		{"0.0.0.0", "http://127.0.0.1:11434", ""},
		{"0.0.0.0:8080", "http://127.0.0.1:8080", ""},
		{"  \"gpu-box:11434\" ", "http://gpu-box:11434", ""},
		{"gpu-box", "http://gpu-box:11434", ""},
		{"http://gpu-box:11434", "http://gpu-box:11434", ""},
		{"http://gpu-box", "http://gpu-box:80", ""},
		{"https://ollama.example.com", "https://ollama.example.com:443", ""},
		{"https://ollama.example.com/proxy/", "https://ollama.example.com:443/proxy", ""},
		{"[::]:11434", "http://[::1]:11434", ""},
		{"::", "http://[::1]:11434", ""},
		{"[fe80::1]:9", "http://[fe80::1]:9", ""},
		{"10.0.0.7:11434/", "http://10.0.0.7:11434", ""},
		{"ftp://x", "", `scheme "ftp"`},
		{"host:99999", "", "port"},
		{"host:abc", "", "port"},
		{"bad host:1", "", "not a host name"},
	}
	for _, c := range cases {
		got, err := ParseHost(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseHost(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseHost(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"", "0.0.0.0", "http://h:1", "https://h/p", "[::]:1", "'h'", "h:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		base, err := ParseHost(v)
		if err != nil {
			return
		}
		if _, err := New(base); err != nil {
			t.Fatalf("ParseHost(%q) = %q, which New refuses: %v", v, base, err)
		}
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("ParseHost(%q) = %q, which is no URL: %v", v, base, err)
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && ip.IsUnspecified() {
			t.Fatalf("ParseHost(%q) = %q dials an unspecified address", v, base)
		}
	})
}

// List reads /api/tags and /api/show as a real Ollama answers them.
func TestListReadsTagsAndShow(t *testing.T) {
	s := ollamatest.New()
	defer s.Close()
	s.Pull(ollamatest.Model{Name: "llama3.2:latest", Family: "llama", ParameterSize: "3.2B", Quantization: "Q4_K_M",
		ContextLength: 131072, Capabilities: []string{"completion", "tools"}})
	s.Pull(ollamatest.Model{Name: "qwen2.5-coder:7b", Family: "qwen2", ContextLength: 32768, NumCtx: 8192,
		Capabilities: []string{"completion", "tools", "insert"}})
	s.Pull(ollamatest.Model{Name: "nomic-embed-text:latest", Family: "nomic-bert", Architecture: "nomic-bert",
		ContextLength: 2048, Capabilities: []string{"embedding"}})
	c, err := New(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := c.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.Listing{
		{ID: "llama3.2:latest", ContextWindow: 131072, Capabilities: []string{"completion", "tools"}, Family: "llama"},
		{ID: "nomic-embed-text:latest", ContextWindow: 2048, Capabilities: []string{"embedding"}, Family: "nomic-bert"},
		{ID: "qwen2.5-coder:7b", ContextWindow: 8192, Capabilities: []string{"completion", "tools", "insert"}, Family: "qwen2"},
	}
	if len(got) != len(want) {
		t.Fatalf("listed %+v", got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.ContextWindow != w.ContextWindow || g.Family != w.Family || !slices.Equal(g.Capabilities, w.Capabilities) {
			t.Errorf("listing %d = %+v, want %+v", i, g, w)
		}
	}
	if s.Shows() != 3 {
		t.Errorf("%d shows, want one per model", s.Shows())
	}
}

// A server that fails, or is not there, is a coded error that says where.
func TestListFailuresAreClear(t *testing.T) {
	s := ollamatest.New()
	defer s.Close()
	s.SetDown(true)
	c, _ := New(s.URL())
	_, err := c.List(context.Background())
	if te := task.AsError(err); te == nil || te.Code != task.CodeUpstream || !strings.Contains(te.Message, "/api/tags answered HTTP 500: open /root/.ollama") {
		t.Fatalf("a failing server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c, _ = New("http://"+addr, WithTimeout(time.Second))
	err = c.Probe(context.Background())
	if te := task.AsError(err); te == nil || te.Code != task.CodeUpstream || !strings.Contains(te.Message, "is Ollama running there?") {
		t.Fatalf("no server: %v", err)
	}
	if _, err := New("127.0.0.1:11434"); err == nil {
		t.Error("New accepted a base URL without a scheme")
	}
}

func TestContextWindow(t *testing.T) {
	info := func(kv ...any) map[string]json.RawMessage {
		m := map[string]json.RawMessage{}
		for i := 0; i+1 < len(kv); i += 2 {
			b, _ := json.Marshal(kv[i+1])
			m[kv[i].(string)] = b
		}
		return m
	}
	cases := []struct {
		show Show
		want int
	}{
		{Show{ModelInfo: info("general.architecture", "llama", "llama.context_length", 131072)}, 131072},
		{Show{Parameters: "num_ctx                        8192\nstop \"x\"", ModelInfo: info("general.architecture", "llama", "llama.context_length", 131072)}, 8192},
		{Show{ModelInfo: info("gemma3.context_length", 32768)}, 32768},
		{Show{ModelInfo: info("general.architecture", "llama", "llama.context_length", "lots")}, 0},
		{Show{ModelInfo: info("general.architecture", "llama", "llama.context_length", -5)}, 0},
		{Show{Parameters: "num_ctx abc"}, 0},
		{Show{}, 0},
	}
	for i, c := range cases {
		if got := ContextWindow(c.show); got != c.want {
			t.Errorf("case %d: ContextWindow = %d, want %d", i, got, c.want)
		}
	}
}

func FuzzShow(f *testing.F) {
	f.Add([]byte(`{"parameters":"num_ctx 4096","model_info":{"general.architecture":"llama","llama.context_length":131072},"capabilities":["completion"]}`))
	f.Add([]byte(`{"model_info":{"x.context_length":1e308}}`))
	f.Add([]byte(`{"parameters":"num_ctx 99999999999999999999"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var s Show
		if json.Unmarshal(body, &s) != nil {
			return
		}
		if w := ContextWindow(s); w < 0 {
			t.Fatalf("window %d from %s", w, body)
		}
	})
}
