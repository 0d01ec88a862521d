package localmodel

import (
	"context"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// benchText returns about size bytes of English and Chinese prose from the
// labelled documents, cut at a sentence end.
func benchText(b *testing.B, size int) string {
	var sb strings.Builder
	docs := labelledDocuments(b)
	for i := 0; sb.Len() < size; i++ {
		sb.WriteString(docs[i%len(docs)].Text)
		sb.WriteString("\n\n")
	}
	text := sb.String()[:size]
	if i := strings.LastIndexAny(text, ".。"); i > 0 {
		text = text[:i+1]
	}
	return text
}

// benchModel runs one model on 2 KB and 10 KB inputs made by input.
func benchModel(b *testing.B, m Model, args map[string]string, input func(size int) string) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"2KB", 2 << 10}, {"10KB", 10 << 10}} {
		b.Run(size.name, func(b *testing.B) {
			w := task.Work{Input: input(size.bytes), Args: args}
			b.SetBytes(int64(len(w.Input)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Generate(context.Background(), w, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTextStats(b *testing.B) {
	benchModel(b, TextStats{}, nil, func(n int) string { return benchText(b, n) })
}

func BenchmarkSummarize(b *testing.B) {
	benchModel(b, Summarize{}, map[string]string{"sentences": "5"}, func(n int) string { return benchText(b, n) })
}

func BenchmarkKeywords(b *testing.B) {
	benchModel(b, Keywords{}, nil, func(n int) string { return benchText(b, n) })
}

func BenchmarkLangID(b *testing.B) {
	benchModel(b, LangID{}, nil, func(n int) string { return benchText(b, n) })
}

func BenchmarkCalc(b *testing.B) {
	benchModel(b, Calc{}, nil, func(n int) string { return benchText(b, n-40) + " So what is (128 + 256) * 3 / 7 - 2^10?" })
}

func BenchmarkExtract(b *testing.B) {
	line := "\nMail anna@example.org or call +1 415-555-0132 before March 5, 2024; it costs $1,234.50. 请于2024年3月5日前致电13800138000，费用300元。\n"
	benchModel(b, Extract{}, nil, func(n int) string {
		// prose with a line of entities in every kilobyte
		var sb strings.Builder
		for _, p := range strings.SplitAfter(benchText(b, n-len(line)*n/1024), "\n") {
			sb.WriteString(p)
			sb.WriteString(line)
		}
		return sb.String()
	})
}

func BenchmarkSentiment(b *testing.B) {
	benchModel(b, Sentiment{}, nil, func(n int) string { return benchText(b, n) })
}
