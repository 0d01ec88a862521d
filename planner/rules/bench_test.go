package rules

import (
	"context"
	"strings"
	"syscall"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// benchRequests are 2 KB requests: one compound instruction with a long
// quoted payload, and one made of instructions only, the worst case for
// splitting and matching.
func benchRequests() map[string]string {
	sentence := "Electric buses are replacing diesel fleets in many cities, cutting noise and pollution. "
	payload := strings.Repeat(sentence, 2048/len(sentence))
	steps := []string{
		"Summarize the quarterly report on electric buses in three sentences",
		"then translate the summary into French and German",
		"extract the ten most important keywords from the report",
		"detect the language of the customer review in review.txt",
		"count the words and sentences of the original report",
		"analyze the sentiment of the customer review",
		"先用三句话总结这篇关于城市交通的文章", "然后把摘要翻译成英文和日文", "再提取文章中的关键词", "最后识别评论的语言",
	}
	var b strings.Builder
	for b.Len() < 2048 {
		for i, s := range steps {
			if b.Len() >= 2048 {
				break
			}
			b.WriteString(s)
			if i%3 == 2 {
				b.WriteString(". ")
			} else {
				b.WriteString(", ")
			}
		}
	}
	return map[string]string{
		"payload2KB":      "Summarize this article, extract its keywords and then translate the summary into German: '" + payload + "'",
		"instructions2KB": b.String(),
	}
}

func BenchmarkPlan(b *testing.B) {
	p, err := New(task.BuiltinCatalog())
	if err != nil {
		b.Fatal(err)
	}
	for name, input := range benchRequests() {
		b.Run(name, func(b *testing.B) {
			req := task.Request{Input: input}
			b.SetBytes(int64(len(input)))
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if _, err := p.Plan(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time, unlike wall time, does not count the time other
			// processes on a busy machine hold the core
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

func BenchmarkNew(b *testing.B) {
	cat := task.BuiltinCatalog()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(cat); err != nil {
			b.Fatal(err)
		}
	}
}

// processCPU returns the CPU time the process has used, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
