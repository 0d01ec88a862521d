package openai

import (
	"context"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/adapters/openaitest"
	"github.com/taskrouter/taskrouter/task"
)

// A spec that names a key variable the environment left empty fails every
// call with an auth error naming the variable, streamed or not, and sends
// the upstream nothing, even one that would answer without a key.
func TestUnsetKeyVariableFailsEveryCallNamingIt(t *testing.T) {
	s := openaitest.New()
	defer s.Close()
	s.Script("gpt", openaitest.Behaviour{Reply: "hello"})
	m, err := New(task.ModelSpec{Name: "gpt", BaseURL: s.URL(), APIKeyEnv: "GPT_API_KEY", Capabilities: []string{"chat"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, progress := range []func(string){nil, func(string) {}} {
		_, err := m.Generate(context.Background(), task.Work{Capability: "chat", Input: "hi"}, progress)
		te := task.AsError(err)
		if te == nil || te.Code != task.CodeAuth || !strings.Contains(te.Message, "$GPT_API_KEY") || te.Retryable {
			t.Errorf("Generate (streamed %v) = %v; want a final auth error naming $GPT_API_KEY", progress != nil, err)
		}
	}
	if n := s.TotalCalls(); n != 0 {
		t.Errorf("the upstream got %d calls without a key", n)
	}
	// A spec with no api_key_env is a server that needs none.
	open, err := New(task.ModelSpec{Name: "gpt", BaseURL: s.URL(), Capabilities: []string{"chat"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := open.Generate(context.Background(), task.Work{Capability: "chat", Input: "hi"}, nil); err != nil || out.Text != "hello" {
		t.Errorf("without api_key_env: %q, %v", out.Text, err)
	}
}
