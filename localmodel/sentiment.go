package localmodel

import (
	"context"
	"math"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// Sentiment is local/sentiment: positive, negative or neutral with a score,
// for English and Chinese, by a lexicon with rules in the manner of VADER
// (Hutto and Gilbert, 2014). Each sentiment word carries a valence; a
// negator up to three units before it flips and damps it ("not good",
// "不好"), an intensifier scales it ("very good", "非常好"), a negated
// intensifier softens it ("not very good", "不太好"), and after a contrast
// word ("but", "但是") the later clause counts more. English words come
// from the tokenizer; Chinese text is matched longest-first against the
// lexicon, so "不错" is one positive word.
type Sentiment struct{}

var _ Model = Sentiment{}

// Sentiment settings, after VADER.
const (
	negationScale   = -0.74
	softNegScale    = -0.4 // "not very good"
	negationWindow  = 3
	beforeContrast  = 0.5
	afterContrast   = 1.5
	normalizeAlpha  = 15
	neutralBand     = 0.05
	maxShownTerms   = 10
	exclamationGain = 0.1
)

// sentimentAnswer is the JSON answer of local/sentiment.
type sentimentAnswer struct {
	Label string  `json:"label"`
	Score float64 `json:"score"` // in [-1, 1]
	// Terms are the sentiment words found, with their weight in context.
	Terms []sentimentTerm `json:"terms"`
}

type sentimentTerm struct {
	Text    string  `json:"text"`
	Valence float64 `json:"valence"`
}

// Generate rates the sentiment of w.Input.
func (Sentiment) Generate(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
	input, err := prepare(ctx, w, "the text whose sentiment to rate", "rating sentiment")
	if err != nil {
		return task.Output{}, err
	}
	return jsonOutput(input, rateSentiment(input))
}

// rateSentiment scores text and labels it.
func rateSentiment(text string) sentimentAnswer {
	units := sentimentUnits(text)
	applyContrast(units)
	sum := 0.0
	ans := sentimentAnswer{Terms: []sentimentTerm{}}
	for i, u := range units {
		if u.kind != unitSentiment {
			continue
		}
		v := u.valence * modifierScale(units, i) * u.weight
		sum += v
		if len(ans.Terms) < maxShownTerms {
			ans.Terms = append(ans.Terms, sentimentTerm{Text: u.text, Valence: round3(v)})
		}
	}
	if sum != 0 {
		sum += math.Copysign(exclamationGain*float64(min(strings.Count(text, "!")+strings.Count(text, "！"), 4)), sum)
	}
	ans.Score = round3(sum / math.Sqrt(sum*sum+normalizeAlpha))
	switch {
	case ans.Score >= neutralBand:
		ans.Label = "positive"
	case ans.Score <= -neutralBand:
		ans.Label = "negative"
	default:
		ans.Label = "neutral"
	}
	return ans
}

// modifierScale looks back from unit i, within the clause, for negators
// and intensifiers.
func modifierScale(units []sentimentUnit, i int) float64 {
	scale, negated, soft := 1.0, false, false
	for j := i - 1; j >= 0 && j >= i-negationWindow; j-- {
		switch u := units[j]; u.kind {
		case unitBreak, unitContrast, unitSentiment:
			j = -1
		case unitNegator:
			negated = true
			soft = soft || j+1 < i && units[j+1].kind == unitIntensifier
		case unitIntensifier:
			scale *= u.valence
		}
	}
	switch {
	case soft:
		return softNegScale
	case negated:
		return scale * negationScale
	}
	return scale
}

// applyContrast weighs units before the last contrast word less and those
// after it more.
func applyContrast(units []sentimentUnit) {
	last := -1
	for i, u := range units {
		if u.kind == unitContrast {
			last = i
		}
	}
	if last < 0 {
		return
	}
	for i := range units {
		if i < last {
			units[i].weight = beforeContrast
		} else {
			units[i].weight = afterContrast
		}
	}
}
