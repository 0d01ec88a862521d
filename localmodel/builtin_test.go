package localmodel

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// plainInputs is one ordinary input per capability, English and Chinese.
var plainInputs = map[string][]string{
	"textstats": {"Dr. Smith arrived. He was late!", "我爱北京天安门。今天天气很好！"},
	"summarize": {"Cats sleep a lot. Cats also hunt mice. Dogs bark at night. Cats and dogs can be friends.", "猫喜欢睡觉。猫也会抓老鼠。狗晚上会叫。猫和狗可以成为朋友。"},
	"keywords":  {"Electric cars need batteries. Battery prices fall as electric cars sell.", "电动汽车需要电池。电池价格下降，电动汽车销量上升。"},
	"langid":    {"Where is the train station?", "火车站在哪里？"},
	"calc":      {"What is 17 * 23 + 4?", "计算 (128 + 256) * 3"},
	"extract":   {"Mail bob@example.com by March 5, 2024; it costs $20.", "请于2024年3月5日前发邮件到 li@example.cn，费用300元。"},
	"sentiment": {"The service was not good.", "服务很好，我很满意。"},
}

// TestBuiltinsConformance runs every built-in model through the contract
// of Model: it answers plain input, stops on a cancelled context and
// rejects empty input with bad_input.
func TestBuiltinsConformance(t *testing.T) {
	names := map[string]bool{}
	for _, b := range Builtins() {
		t.Run(b.Spec.Name, func(t *testing.T) {
			checkSpec(t, b.Spec)
			if names[b.Spec.Name] {
				t.Fatalf("duplicate model %s", b.Spec.Name)
			}
			names[b.Spec.Name] = true
			if got, ok := Lookup(b.Spec.Name); !ok || got.Spec.Name != b.Spec.Name {
				t.Errorf("Lookup(%q) = %v, %v", b.Spec.Name, got.Spec.Name, ok)
			}
			capability := b.Spec.Capabilities[0]
			if _, media := b.New().(mediaModel); media {
				checkNeedsArtifacts(t, b.New(), capability)
				return // media_test.go runs them on real artifacts
			}
			inputs := plainInputs[capability]
			if len(inputs) == 0 {
				t.Fatalf("no plain input for %s", capability)
			}
			m := b.New()
			for _, in := range inputs {
				checkAnswers(t, m, capability, in)
			}
			checkCancelled(t, m, inputs[0])
			checkEmpty(t, m)
		})
	}
	if _, ok := Lookup("local/nothing"); ok {
		t.Error("Lookup found a model that does not exist")
	}
}

func checkSpec(t *testing.T, s task.ModelSpec) {
	t.Helper()
	if !strings.HasPrefix(s.Name, "local/") || s.Backend != task.BackendLocal || len(s.Capabilities) != 1 ||
		s.Name != "local/"+s.Capabilities[0] && s.Name != "local/imageops" || s.Concurrency < 1 || s.ContextWindow != 0 || s.MaxOutputTokens != 0 {
		t.Errorf("bad spec %+v", s)
	}
	if q := s.QualityFor(s.Capabilities[0]); q <= 0 || q > 1 {
		t.Errorf("quality %v out of (0, 1]", q)
	}
}

func checkAnswers(t *testing.T, m Model, capability, in string) {
	t.Helper()
	out, err := m.Generate(context.Background(), task.Work{Capability: capability, Input: in}, func(string) {})
	if err != nil {
		t.Fatalf("%q: %v", in, err)
	}
	if strings.TrimSpace(out.Text) == "" || !slices.Contains([]string{"text", "json"}, out.Format) {
		t.Errorf("%q: empty or unformatted answer %+v", in, out)
	}
	if out.Format == "json" && !json.Valid([]byte(out.Text)) {
		t.Errorf("%q: answer is not JSON: %s", in, out.Text)
	}
	want := task.Usage{PromptTokens: task.EstimateTokens(in), CompletionTokens: task.EstimateTokens(out.Text)}
	if out.Usage != want {
		t.Errorf("%q: usage %+v, want %+v", in, out.Usage, want)
	}
}

func checkCancelled(t *testing.T, m Model, in string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	_, err := m.Generate(ctx, task.Work{Input: strings.Repeat(in+" ", 200)}, nil)
	if !errors.Is(err, context.Canceled) || task.AsError(err).Code != task.CodeCancelled {
		t.Errorf("cancelled context: err %v, want one classified as cancelled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancelled context took %v to return", d)
	}
}

func checkEmpty(t *testing.T, m Model) {
	t.Helper()
	for _, in := range []string{"", "  \n\t "} {
		_, err := m.Generate(context.Background(), task.Work{Input: in}, nil)
		if e := task.AsError(err); e == nil || e.Code != task.CodeBadInput || !strings.Contains(e.Message, "send") {
			t.Errorf("empty input %q: err %v, want bad_input saying what to send", in, err)
		}
	}
}

// FuzzBuiltins feeds any text to every model: no panic, and either an
// answer in its format or a *task.Error.
func FuzzBuiltins(f *testing.F) {
	for _, ins := range plainInputs {
		for _, in := range ins {
			f.Add(in)
		}
	}
	f.Add("Dr. e.g. 3.14 ... 。。！？ ¥ $ 1,2,3 ((( ")
	models := Builtins()
	f.Fuzz(func(t *testing.T, in string) {
		for _, b := range models {
			out, err := b.New().Generate(context.Background(), task.Work{Input: in}, nil)
			if err != nil {
				var e *task.Error
				if !errors.As(err, &e) || e.Code != task.CodeBadInput {
					t.Fatalf("%s on %q: error %v is not a bad_input *task.Error", b.Spec.Name, in, err)
				}
				continue
			}
			if out.Format == "json" && !json.Valid([]byte(out.Text)) {
				t.Fatalf("%s on %q: answer is not JSON: %s", b.Spec.Name, in, out.Text)
			}
		}
	})
}

// mediaModel is a built-in model that reads or makes artifacts.
type mediaModel interface {
	GenerateArtifacts(ctx context.Context, w task.Work, store task.Artifacts, progress func(string)) (task.Output, error)
}

// checkNeedsArtifacts: a media model asked for text alone says it needs
// an artifact, as bad input.
func checkNeedsArtifacts(t *testing.T, m Model, capability string) {
	t.Helper()
	_, err := m.Generate(context.Background(), task.Work{Capability: capability, Input: "photo.png"}, nil)
	if e := task.AsError(err); e == nil || e.Code != task.CodeBadInput {
		t.Errorf("Generate without artifacts = %v, want bad_input", err)
	}
}
