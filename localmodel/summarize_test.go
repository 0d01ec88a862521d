package localmodel

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// TestSummarizeAgreement measures how many of the sentences TextRank keeps
// a person also chose as key sentences, against keeping the first ones.
func TestSummarizeAgreement(t *testing.T) {
	hits, lead, total := 0, 0, 0
	for _, d := range labelledDocuments(t) {
		sents := splitSentences(d.Text)
		keep, err := rankSentences(context.Background(), sents, len(d.KeySentences))
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range keep {
			if slices.Contains(d.KeySentences, k) {
				hits++
			}
			if slices.Contains(d.KeySentences, i) {
				lead++
			}
		}
		total += len(d.KeySentences)
		t.Logf("%s: kept %v of %d, a person chose %v", d.ID, keep, len(sents), d.KeySentences)
	}
	agree, base := float64(hits)/float64(total), float64(lead)/float64(total)
	t.Logf("summary sentence agreement: TextRank %.3f, first-sentences baseline %.3f (%d key sentences)", agree, base, total)
	if agree < 0.5 {
		t.Errorf("agreement %.3f, want >= 0.5", agree)
	}
}

func TestSummarize(t *testing.T) {
	en := "Dr. Smith arrived at 9.30 a.m. in the lab. The experiment, e.g. the cooling step, failed twice. " +
		"Cooling failures waste the samples. The team fixed the cooling pump on Monday. Lunch was pizza."
	zh := "长江是中国第一大河。过度捕捞使长江鱼类减少！国家在长江实行十年禁渔。禁渔以后长江鱼类开始恢复？今天天气很好。"
	cases := []struct {
		name  string
		input string
		args  map[string]string
		want  []string // sentences the summary must hold
		count int
	}{
		{"english one", en, map[string]string{"sentences": "1"}, nil, 1},
		{"english keeps abbreviations whole", en, map[string]string{"sentences": "5"}, []string{"Dr. Smith arrived at 9.30 a.m. in the lab.", "The experiment, e.g. the cooling step, failed twice."}, 5},
		{"english ratio", en, map[string]string{"ratio": "0.4"}, nil, 2},
		{"chinese two", zh, map[string]string{"sentences": "2"}, nil, 2},
		{"chinese percent ratio", zh, map[string]string{"ratio": "60%"}, nil, 3},
		{"chinese default", zh, nil, nil, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var streamed strings.Builder
			out, err := Summarize{}.Generate(context.Background(), task.Work{Input: c.input, Args: c.args}, func(d string) { streamed.WriteString(d) })
			if err != nil {
				t.Fatal(err)
			}
			if streamed.String() != out.Text {
				t.Errorf("streamed %q, answered %q", streamed.String(), out.Text)
			}
			got := splitSentences(out.Text)
			if len(got) != c.count {
				t.Errorf("got %d sentences, want %d: %q", len(got), c.count, out.Text)
			}
			for _, w := range c.want {
				if !strings.Contains(out.Text, w) {
					t.Errorf("summary %q lacks %q", out.Text, w)
				}
			}
			if inOrder(c.input, got) == false {
				t.Errorf("summary %q is not in the original order", out.Text)
			}
		})
	}
}

// inOrder reports whether the sentences occur in text in the given order.
func inOrder(text string, sents []sentence) bool {
	at := 0
	for _, s := range sents {
		i := strings.Index(text[at:], s.text)
		if i < 0 {
			return false
		}
		at += i + len(s.text)
	}
	return true
}

func TestSummarizeBadArgs(t *testing.T) {
	for _, args := range []map[string]string{{"sentences": "0"}, {"sentences": "many"}, {"ratio": "1.5"}, {"ratio": "-0.2"}} {
		_, err := Summarize{}.Generate(context.Background(), task.Work{Input: "One. Two. Three.", Args: args}, nil)
		if task.AsError(err).Code != task.CodeBadInput {
			t.Errorf("args %v: err %v, want bad_input", args, err)
		}
	}
}

func TestSplitSentences(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"Dr. Who met Mr. Smith. They talked.", []string{"Dr. Who met Mr. Smith.", "They talked."}},
		{"Pi is 3.14159. It never ends!", []string{"Pi is 3.14159.", "It never ends!"}},
		{"See e.g. the docs at example.com. Then ask.", []string{"See e.g. the docs at example.com.", "Then ask."}},
		{"J. K. Rowling wrote it. Really?", []string{"J. K. Rowling wrote it.", "Really?"}},
		{"He said \"Stop.\" Then he left.", []string{"He said \"Stop.\"", "Then he left."}},
		{"It costs $5 etc. The end", []string{"It costs $5 etc.", "The end"}},
		{"Wait... what? No!", []string{"Wait... what?", "No!"}},
		{"今天下雨了。我们不出门！你呢？好的；再见", []string{"今天下雨了。", "我们不出门！", "你呢？", "好的；", "再见"}},
		{"他说：“明天见。”然后走了。", []string{"他说：“明天见。”", "然后走了。"}},
		{"等一下……好了。", []string{"等一下……", "好了。"}},
		{"Title\n\nFirst paragraph here\n- item one\n- item two", []string{"Title", "First paragraph here", "- item one", "- item two"}},
		{"GPT-4 scored 86.4% on MMLU. OK", []string{"GPT-4 scored 86.4% on MMLU.", "OK"}},
	}
	for _, c := range cases {
		var got []string
		for _, s := range splitSentences(c.in) {
			got = append(got, s.text)
			if c.in[s.start:s.start+len(s.text)] != s.text {
				t.Errorf("%q: sentence %q has wrong start %d", c.in, s.text, s.start)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("splitSentences(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func FuzzSplitSentences(f *testing.F) {
	for _, s := range []string{"Dr. A. B. Smith left. OK!", "你好。世界！", "3.14... e.g. x", "\n\n- a\n1. b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, sent := range splitSentences(s) {
			if sent.text == "" || s[sent.start:sent.start+len(sent.text)] != sent.text {
				t.Fatalf("bad sentence %+v of %q", sent, s)
			}
		}
	})
}

// A long input of short sentences is summarized in bounded time and
// memory: the pairwise graph of TextRank is built over a shortlist, not
// over every sentence (64 KB of short Chinese sentences allocated 1 GB).
func TestSummarizeManyShortSentencesStaysSmall(t *testing.T) {
	var b strings.Builder
	topics := []string{"人工智能改变世界。", "机器学习改进产品。", "今天天气很好。", "我们去公园散步。", "自然语言处理让计算机理解语言。"}
	for i := 0; b.Len() < 256<<10; i++ {
		b.WriteString(topics[i%len(topics)])
		fmt.Fprintf(&b, "第%d句。", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	out, err := Summarize{}.Generate(context.Background(), task.Work{Input: b.String()}, nil)
	runtime.ReadMemStats(&after)
	if err != nil || out.Text == "" {
		t.Fatalf("summary %q, %v", out.Text, err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 256<<20 {
		t.Fatalf("allocated %d MB for a 256 KB input", n>>20)
	}
}
