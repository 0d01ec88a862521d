package memory

import (
	"math"
	"testing"

	"github.com/tiktoken-go/tokenizer"

	"github.com/taskrouter/taskrouter/task"
)

// The estimate stays close to tiktoken's encodings on the calibration
// texts, and never far below them: an estimate that undercounts lets a
// prompt overflow a window it was measured to fit.
func TestEstimateCalibration(t *testing.T) {
	bounds := map[string][2]float64{"english": {-0.10, 0.10}, "chinese": {-0.10, 0.60}, "mixed": {-0.25, 0.25}}
	for _, enc := range []tokenizer.Encoding{tokenizer.Cl100kBase, tokenizer.O200kBase} {
		c, err := tokenizer.Get(enc)
		if err != nil {
			t.Fatal(err)
		}
		for name, text := range calibrationTexts {
			real, _ := c.Count(text)
			errRatio := float64(task.EstimateTokens(text)-real) / float64(real)
			t.Logf("%s, %s: %d tokens, estimate off by %+.1f%%", enc, name, real, 100*errRatio)
			if b := bounds[name]; errRatio < b[0] || errRatio > b[1] {
				t.Errorf("%s, %s: the estimate is off by %+.1f%%, outside [%+.0f%%, %+.0f%%]", enc, name, 100*errRatio, 100*b[0], 100*b[1])
			}
		}
	}
}

func TestTokensUsesTheModelsTokenizer(t *testing.T) {
	text := calibrationTexts["chinese"]
	o200k, _ := tokenizer.Get(tokenizer.O200kBase)
	want, _ := o200k.Count(text)
	gpt := task.ModelSpec{Name: "fast", Backend: task.BackendOpenAI, UpstreamModel: "gpt-4o-mini"}
	if got := Tokens(gpt, text); got != want || !Exact(gpt) {
		t.Errorf("gpt-4o-mini counts %d tokens (exact %v), want o200k_base's %d", got, Exact(gpt), want)
	}
	qwen := task.ModelSpec{Name: "qwen-72b", Backend: task.BackendOpenAI}
	if got := Tokens(qwen, text); got != task.EstimateTokens(text) || Exact(qwen) {
		t.Errorf("qwen-72b counts %d tokens, want the estimate %d", got, task.EstimateTokens(text))
	}
	if math.Abs(float64(Tokens(task.ModelSpec{Name: "local/summarize", Backend: task.BackendLocal}, "hello")-1)) > 0 {
		t.Error("a built-in model's tokens are not the estimate")
	}
}
