package rules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.yaml.in/yaml/v3"

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

// BenchmarkPlanUserCatalog plans the hand-written requests of
// planner/testdata/f1 over their catalogs alone, one request per op:
// what a user's catalog costs per request.
func BenchmarkPlanUserCatalog(b *testing.B) {
	for _, name := range []string{"media", "hftasks"} {
		cat := loadTestCatalog(b, filepath.Join("..", "testdata", "catalogs", name+".yaml"))
		p, err := New(cat, WithoutFallback())
		if err != nil {
			b.Fatal(err)
		}
		reqs := scoredRequests(b, filepath.Join("..", "testdata", "f1", name+".txt"))
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// a request that matches nothing is refused, and costs as much
				_, _ = p.Plan(context.Background(), task.Request{Input: reqs[i%len(reqs)]})
				i++
			}
		})
	}
}

// loadTestCatalog reads a catalog file of planner/testdata/catalogs.
func loadTestCatalog(tb testing.TB, path string) *task.Catalog {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var doc struct {
		Capabilities []task.Capability `yaml:"capabilities"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		tb.Fatal(err)
	}
	cat, err := task.NewCatalog(doc.Capabilities...)
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// scoredRequests reads the requests ("> " lines) of a file of
// planner/testdata/f1.
func scoredRequests(tb testing.TB, path string) []string {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if r, ok := strings.CutPrefix(line, "> "); ok {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("%s holds no requests", path)
	}
	return out
}
