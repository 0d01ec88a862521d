package openai

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/providers"
	"github.com/taskrouter/taskrouter/task"
)

// The lister reads the scripted server's list with the key, and the
// windows servers add in their own fields.
func TestListerReadsTheModelList(t *testing.T) {
	s := openaitest.New(openaitest.WithAPIKey("sk-list"))
	defer s.Close()
	s.SetModelList([]openaitest.ListedModel{
		{ID: "Qwen/Qwen2.5-7B-Instruct", Fields: map[string]any{"max_model_len": 32768}},
		{ID: "moonshot-v1-128k", Fields: map[string]any{"context_length": "131072"}},
		{ID: "llama-3.3-70b-versatile", Fields: map[string]any{"context_window": 131072.0}},
		{ID: "plain", Fields: map[string]any{"context_length": "huge", "max_model_len": -1}},
	})
	l, err := NewLister(s.URL(), "sk-list", "LIST_KEY", WithHeaders(map[string]string{"X-Team": "a"}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.Listing{{ID: "Qwen/Qwen2.5-7B-Instruct", ContextWindow: 32768}, {ID: "moonshot-v1-128k", ContextWindow: 131072},
		{ID: "llama-3.3-70b-versatile", ContextWindow: 131072}, {ID: "plain"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].ContextWindow != want[i].ContextWindow {
			t.Errorf("listing %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// Each failure says what to fix, never shows the key, and carries a code.
func TestListerFailuresAreClear(t *testing.T) {
	s := openaitest.New(openaitest.WithAPIKey("sk-right"))
	defer s.Close()
	closed := closedAddr(t)
	cases := []struct {
		base, key, env string
		code           task.Code
		want           []string
	}{
		{s.URL(), "sk-wrong-secret", "LIST_KEY", task.CodeAuth, []string{"HTTP 401", "check the key in $LIST_KEY", s.URL() + "/models"}},
		{s.URL(), "", "LIST_KEY", task.CodeAuth, []string{"no call was made", "$LIST_KEY (api_key_env) is empty or unset"}},
		{s.URL() + "/nowhere", "sk-right", "", task.CodeNotFound, []string{"HTTP 404", "check base_url"}},
		{"http://" + closed + "/v1", "", "", task.CodeUpstream, []string{"check base_url and that the server is running"}},
	}
	for _, c := range cases {
		l, err := NewLister(c.base, c.key, c.env)
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.List(context.Background())
		te := task.AsError(err)
		if te == nil || te.Code != c.code {
			t.Errorf("%s with key %q: %v, want code %s", c.base, c.key, err, c.code)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(te.Message, w) {
				t.Errorf("%q lacks %q", te.Message, w)
			}
		}
		if c.key != "" && strings.Contains(te.Message, c.key) {
			t.Errorf("the key shows in %q", te.Message)
		}
	}
	if _, err := NewLister("ftp://x", "", ""); err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
		t.Errorf("NewLister(ftp://x): %v", err)
	}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestParseModelListShapes(t *testing.T) {
	cases := []struct {
		body string
		ids  string
		err  string
	}{
		{`{"object":"list","data":[{"id":"a"},{"id":""},{"id":"b","max_model_len":4096}]}`, "a,b", ""},
		{`[{"id":"together/model","context_length":32768}]`, "together/model", ""},
		{`{"object":"list","data":[]}`, "", ""},
		{`{"models":[{"name":"x"}]}`, "", "no data list"},
		{`<html>`, "", "decoding the model list"},
		{`{"data":{"id":"x"}}`, "", "decoding the model list"},
	}
	for _, c := range cases {
		got, err := ParseModelList([]byte(c.body))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.body, err, c.err)
			}
			continue
		}
		var ids []string
		for _, l := range got {
			ids = append(ids, l.ID)
		}
		if err != nil || strings.Join(ids, ",") != c.ids {
			t.Errorf("%s: %v %v, want %s", c.body, ids, err, c.ids)
		}
	}
}

func FuzzParseModelList(f *testing.F) {
	f.Add([]byte(`{"object":"list","data":[{"id":"a","max_model_len":4096}]}`))
	f.Add([]byte(`[{"id":"b","context_length":"8192"}]`))
	f.Add([]byte(`{"data":[{"id":"c","context_window":1e300}]}`))
	f.Add([]byte(strings.Repeat("[", 20000)))
	f.Fuzz(func(t *testing.T, body []byte) {
		listings, err := ParseModelList(body)
		if err != nil {
			return
		}
		for _, l := range listings {
			if strings.TrimSpace(l.ID) == "" || l.ContextWindow < 0 {
				t.Fatalf("listing %+v", l)
			}
		}
	})
}
