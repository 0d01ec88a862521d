package localmodel

import (
	"context"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/taskrouter/taskrouter/task"
)

// TextStats is local/textstats: it counts words, sentences and characters
// and estimates reading time.
//
// Words are space-delimited words plus one word per Chinese character or
// Japanese kana, the convention of word processors for text without spaces;
// han_characters reports the Chinese characters alone. Characters are
// Unicode code points, spaces included. Reading time uses the mean silent
// reading rates of Brysbaert (2019): 238 words a minute for space-delimited
// words and 255 characters a minute for Chinese and Japanese characters.
type TextStats struct{}

var _ Model = TextStats{}

// Reading rates, per minute.
const (
	wordsPerMinute    = 238
	hanCharsPerMinute = 255
)

// textStats is the JSON answer of local/textstats.
type textStats struct {
	Words              int    `json:"words"`
	Sentences          int    `json:"sentences"`
	Characters         int    `json:"characters"`
	CharactersNoSpaces int    `json:"characters_no_spaces"`
	HanCharacters      int    `json:"han_characters"`
	Paragraphs         int    `json:"paragraphs"`
	ReadingTimeSeconds int    `json:"reading_time_seconds"`
	Language           string `json:"language"`
}

// Generate counts w.Input.
func (TextStats) Generate(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
	input, err := prepare(ctx, w, "the text to count", "counting the text")
	if err != nil {
		return task.Output{}, err
	}
	return jsonOutput(input, countText(input))
}

// countText computes the statistics of text.
func countText(text string) textStats {
	s := textStats{
		Characters: utf8.RuneCountInString(text),
		Sentences:  len(splitSentences(text)),
		Paragraphs: countParagraphs(text),
		Language:   detectLanguage(text)[0].Code,
	}
	spaced, kana := 0, 0
	for _, t := range tokenize(text, nil) {
		switch t.kind {
		case tokWord, tokNumber:
			spaced++
		case tokHan:
			s.HanCharacters += utf8.RuneCountInString(t.text)
		case tokKana:
			kana++
		}
	}
	cjk := s.HanCharacters + kana
	s.Words = spaced + cjk
	for _, r := range text {
		if !unicode.IsSpace(r) {
			s.CharactersNoSpaces++
		}
	}
	minutes := float64(spaced)/wordsPerMinute + float64(cjk)/hanCharsPerMinute
	s.ReadingTimeSeconds = int(math.Ceil(minutes * 60))
	return s
}

// countParagraphs counts runs of non-blank lines.
func countParagraphs(text string) int {
	n, inPara := 0, false
	for line := range strings.Lines(text) {
		blank := strings.TrimSpace(line) == ""
		if !blank && !inPara {
			n++
		}
		inPara = !blank
	}
	return n
}
