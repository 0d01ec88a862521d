package localmodel

import (
	"context"

	"github.com/taskrouter/taskrouter/task"
)

// LangID is local/langid: it names the language of a text, with a
// confidence and the runners-up. It knows 32 languages: by their script
// alone zh, ja, ko, el, he, th, hi, bn, ta, ka and hy; by character trigram
// models and frequent words (profiles in langdata.txt) en, fr, de, es, pt,
// it, nl, sv, da, fi, pl, cs, tr, ro, hu, id, vi, ru, uk, ar and fa. See
// detectLanguage for the method.
type LangID struct{}

var _ Model = LangID{}

// langIDAnswer is the JSON answer of local/langid.
type langIDAnswer struct {
	langGuess
	// Alternatives are the next most likely languages of the same script.
	Alternatives []langGuess `json:"alternatives,omitempty"`
}

// Generate identifies the language of w.Input.
func (LangID) Generate(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
	input, err := prepare(ctx, w, "the text whose language to identify", "identifying the language")
	if err != nil {
		return task.Output{}, err
	}
	guesses := detectLanguage(input)
	if guesses[0].Code == undetermined.Code {
		return task.Output{}, task.Errorf(task.CodeBadInput, "the input has no letters to identify a language from: send words or sentences")
	}
	ans := langIDAnswer{langGuess: guesses[0]}
	for _, g := range guesses[1:] {
		if len(ans.Alternatives) == 2 || g.Confidence < 0.01 {
			break
		}
		ans.Alternatives = append(ans.Alternatives, g)
	}
	return jsonOutput(input, ans)
}
