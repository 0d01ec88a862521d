package localmodel

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func TestLangIDAnswer(t *testing.T) {
	cases := []struct{ in, code, name string }{
		{"Bonjour tout le monde, comment allez-vous aujourd'hui ?", "fr", "French"},
		{"今天的天气非常好，我们去公园散步吧。", "zh", "Chinese"},
		{"The weather is lovely today, let's go for a walk.", "en", "English"},
		{"Привет, как у тебя дела?", "ru", "Russian"},
		{"東京は日本の首都です。", "ja", "Japanese"},
	}
	for _, c := range cases {
		out, err := LangID{}.Generate(context.Background(), task.Work{Input: c.in}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var ans langIDAnswer
		if err := json.Unmarshal([]byte(out.Text), &ans); err != nil || out.Format != "json" {
			t.Fatalf("%q: answer %q is not JSON: %v", c.in, out.Text, err)
		}
		if ans.Code != c.code || ans.Name != c.name || ans.Confidence <= 0.5 || ans.Confidence > 1 {
			t.Errorf("%q: got %s", c.in, out.Text)
		}
	}
}

func TestLangIDNoLetters(t *testing.T) {
	_, err := LangID{}.Generate(context.Background(), task.Work{Input: "123 + 456 = 579 !!!"}, nil)
	if task.AsError(err).Code != task.CodeBadInput {
		t.Errorf("err %v, want bad_input", err)
	}
}
