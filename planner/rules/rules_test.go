package rules

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func newTestPlanner(t testing.TB) *Planner {
	t.Helper()
	p, err := New(task.BuiltinCatalog())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStem(t *testing.T) {
	families := [][]string{
		{"summary", "summarize", "summarized", "summaries", "summarization", "summarise"},
		{"translate", "translated", "translation", "translating", "translations"},
		{"keyword", "keywords"},
		{"language", "languages"},
		{"classify", "classified", "classification"},
		{"calculate", "calculation", "calculator"},
	}
	for _, f := range families {
		for _, w := range f[1:] {
			if stem(w) != stem(f[0]) {
				t.Errorf("stem(%q) = %q, stem(%q) = %q; want the same", w, stem(w), f[0], stem(f[0]))
			}
		}
	}
	for _, w := range []string{"class", "this", "news", "is"} {
		if got := stem(w); got != w && len(got) < 3 {
			t.Errorf("stem(%q) = %q, cut too far", w, got)
		}
	}
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"Summarize the keywords", []string{"summar", "keyword"}},
		{"What is 17 * 23?", []string{"what", numberTerm, "*", numberTerm}},
		{"a well-known to-do list", []string{"well-known", "to-do", "list"}},
		{"翻译成法语", []string{"翻", "翻译", "译", "译成", "成", "成法", "法", "法语", "语"}},
		{"把它翻译", []string{"翻", "翻译", "译"}}, // 把 and 它 are function characters
		{"John's 3.5 apples", []string{"john", numberTerm, "appl"}},
	}
	for _, tt := range tests {
		var got []string
		for _, tok := range tokenize(tt.text, nil) {
			got = append(got, tok.term)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		text string
		want []string // fragments, "»" marking a sequenced one
	}{
		{"Summarize this text, extract its keywords and detect its language",
			[]string{"Summarize this text", "extract its keywords", "detect its language"}},
		{"Summarize it and then translate it", []string{"Summarize it", "»translate it"}},
		{"First summarize it. Next, translate it", []string{"summarize it", "»translate it"}},
		{"Read the next chapter", []string{"Read the next chapter"}},
		{"1. Summarize\n2. Translate", []string{"Summarize", "Translate"}},
		{"Step 1: translate it. Step 2: summarize it", []string{"translate it", "summarize it"}},
		{"先总结这段文字，再翻译成英文", []string{"总结这段文字", "»翻译成英文"}},
		{"请总结、提取关键词并识别语言", []string{"请总结", "提取关键词", "识别语言"}},
		{"把结果合并，然后说再见", []string{"把结果合并", "»说再见"}},
		{"Is it good? Yes!", []string{"Is it good?", "Yes!"}},
	}
	for _, tt := range tests {
		var got []string
		for _, f := range split(tt.text) {
			s := strings.TrimFunc(tt.text[f.start:f.end], trimmable)
			if strings.HasSuffix(tt.text[f.start:f.end], "?") || strings.HasSuffix(tt.text[f.start:f.end], "!") {
				s = strings.TrimSpace(tt.text[f.start:f.end])
			}
			if f.seq {
				s = "»" + s
			}
			got = append(got, s)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("split(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestParseRequest(t *testing.T) {
	p := newTestPlanner(t)
	tests := []struct {
		text     string
		payloads []string // text|type, "*" marking a shared one
		instr    string   // the instructions, trimmed
	}{
		{"Summarize John's notes: 'It's late.'", []string{"*It's late.|text"}, "Summarize John's notes:"},
		{"Translate into French: Hello, how are you?", []string{"*Hello, how are you?|text"}, "Translate into French"},
		{"Read scan.png and photo.JPG, then see https://example.com/a.png.", []string{"scan.png|image", "photo.JPG|image", "https://example.com/a.png|url"}, "Read          and          , then see                          ."},
		{"总结：“今天天气很好”", []string{"*今天天气很好|text"}, "总结："},
		{"Text: the quick fox\nSummarize it", []string{"*the quick fox|text"}, "Summarize it"},
		{"Summarize the following text.\nThe quick fox.", []string{"*The quick fox.|text"}, "Summarize the following text."},
		{"Do the following:\n1. Summarize the text\n2. Translate it", nil, "Do the following:\n1. Summarize the text\n2. Translate it"},
		{"Meet at 10:30 and call me", nil, "Meet at 10:30 and call me"},
		{"Rate these: 'good' 'bad'", []string{"*good\nbad|text"}, "Rate these:"},
	}
	for _, tt := range tests {
		r := p.parseRequest(tt.text)
		var got []string
		for _, pl := range r.payloads {
			s := pl.text + "|" + pl.typ
			if pl.shared {
				s = "*" + s
			}
			got = append(got, s)
		}
		if !slices.Equal(got, tt.payloads) {
			t.Errorf("payloads of %q = %q, want %q", tt.text, got, tt.payloads)
		}
		if instr := strings.TrimSpace(r.masked[:r.end]); instr != tt.instr {
			t.Errorf("instructions of %q = %q, want %q", tt.text, instr, tt.instr)
		}
	}
}

func TestLanguages(t *testing.T) {
	tests := []struct {
		text    string
		targets []string
		source  string
	}{
		{"Translate it into French", []string{"fr"}, ""},
		{"translate from German to English", []string{"en"}, "de"},
		{"Translate this into French and German", []string{"fr", "de"}, ""},
		{"Answer in plain English", []string{"en"}, ""},
		{"Is this French or Italian?", nil, ""},
		{"翻译成英文、法文和德文", []string{"en", "fr", "de"}, ""},
		{"从日语译成简体中文", []string{"zh"}, "ja"},
		{"中译英", []string{"en"}, "zh"},
		{"Learn Frenchly things in Frenchmen", nil, ""},
	}
	for _, tt := range tests {
		targets, source := languages(tt.text, languageSpans(tt.text, 0, len(tt.text)))
		if !slices.Equal(targets, tt.targets) || source != tt.source {
			t.Errorf("languages(%q) = %q, %q; want %q, %q", tt.text, targets, source, tt.targets, tt.source)
		}
	}
}

func TestCounts(t *testing.T) {
	tests := []struct {
		text string
		n    int
		unit string
		top  bool
	}{
		{"summarize in 3 sentences", 3, "sentences", false},
		{"in under fifty words", 50, "words", false},
		{"a 2-paragraph summary", 2, "paragraphs", false},
		{"the top 5", 5, "", true},
		{"用三句话总结", 3, "sentences", false},
		{"不超过100字", 100, "characters", false},
		{"提取前5个关键词", 5, "", true},
		{"十二行", 12, "lines", false},
	}
	for _, tt := range tests {
		got := counts(tt.text, latinWords(tt.text, 0, len(tt.text)))
		if len(got) == 0 {
			t.Errorf("counts(%q) found none", tt.text)
			continue
		}
		m := got[0]
		if m.n != tt.n || m.unit != tt.unit || m.top != tt.top {
			t.Errorf("counts(%q) = %d %q top=%v, want %d %q top=%v", tt.text, m.n, m.unit, m.top, tt.n, tt.unit, tt.top)
		}
	}
	if got := counts("add 2 and 3", latinWords("add 2 and 3", 0, 11)); len(got) != 2 || got[0].unit != "" {
		t.Errorf("bare numbers should count nothing: %+v", got)
	}
	for _, text := range []string{"make it 128 px wide", "rotate it 90 degrees", "trim it to 30 seconds"} {
		if got := counts(text, latinWords(text, 0, len(text))); len(got) != 0 {
			t.Errorf("counts(%q) = %+v; a measure counts nothing", text, got)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	p := newTestPlanner(t)
	small, err := New(task.BuiltinCatalog(), WithLimits(task.Limits{MaxInputBytes: 10}))
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		p    *Planner
		ctx  context.Context
		req  task.Request
		code task.Code
	}{
		{"empty", p, context.Background(), task.Request{Input: "  \n"}, task.CodeInvalidRequest},
		{"no user message", p, context.Background(), task.Request{Messages: []task.Message{{Role: "assistant", Content: "hi"}}}, task.CodeInvalidRequest},
		{"too large", small, context.Background(), task.Request{Input: "Summarize this long text please"}, task.CodeInvalidRequest},
		{"cancelled", p, cancelled, task.Request{Input: "Summarize it"}, task.CodeCancelled},
	}
	for _, tt := range tests {
		_, err := tt.p.Plan(tt.ctx, tt.req)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if got := task.AsError(err).Code; got != tt.code {
			t.Errorf("%s: code %s, want %s (%v)", tt.name, got, tt.code, err)
		}
	}
}

func TestPlanUsesLastUserMessage(t *testing.T) {
	p := newTestPlanner(t)
	plan, err := p.Plan(context.Background(), task.Request{Messages: []task.Message{
		{Role: "user", Content: "Hello"},
		{Role: "assistant", Content: "Hi! How can I help?"},
		{Role: "user", Content: "Translate 'good night' into German"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := plan.Tasks[0]
	if len(plan.Tasks) != 1 || got.Capability != "translate" || got.Input != "good night" || got.Args["target_lang"] != "de" {
		t.Errorf("plan = %+v, want one translate of %q into de", plan, "good night")
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := New(task.BuiltinCatalog(), WithFallback("nope")); task.AsError(err).Code != task.CodeNotFound {
		t.Errorf("a missing fallback gave %v, want a not_found error", err)
	}
}

// TestFallbackFromCatalog checks that the fallback is found by the name
// given, not by a name in the code: a catalog whose talking capability is
// called "smalltalk" falls back to it.
func TestFallbackFromCatalog(t *testing.T) {
	cat, err := task.NewCatalog(
		task.Capability{Name: "smalltalk", Description: "Talk about anything", Inputs: []string{"prompt"}, Outputs: []string{"text"}},
		task.Capability{Name: "shout", Description: "Convert text to upper case letters", Keywords: []string{"uppercase", "shout"}, Inputs: []string{"text"}, Outputs: []string{"text"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cat, WithFallback("smalltalk"))
	if err != nil {
		t.Fatal(err)
	}
	for input, want := range map[string]string{"What a nice day": "smalltalk", "Shout this: 'hello'": "shout"} {
		plan, err := p.Plan(context.Background(), task.Request{Input: input})
		if err != nil {
			t.Fatal(err)
		}
		if got := plan.Tasks[0].Capability; got != want {
			t.Errorf("%q planned as %s, want %s", input, got, want)
		}
	}
}

// FuzzPlan plans arbitrary text: the planner must never panic, and must
// return either a valid plan or a request error.
func FuzzPlan(f *testing.F) {
	for _, s := range []string{
		"Summarize this text, extract its keywords and detect its language: 'The fox.'",
		"请总结这段文字、提取关键词并识别语言：'今天天气很好'",
		"Summarize this article and then translate the summary into French: 'AI.'",
		"1. a\n2. b\n\nText: c", "''''", "“「『", ":::", "then then then and and", "把它们的结果合并再再再",
		"Translate 'a' into French, 'b' into German and 'c' into Korean", "x.png y.mp3 z.mp4 https://a.b",
		"\xff\xfe broken utf8 翻译", strings.Repeat("summarize, ", 80),
		"Summarize: A. Then detect the language of: B. Finally, count the words of: 'C. Then D.'",
		"总结：甲。然后检测这句话的语言：乙。最后",
	} {
		f.Add(s)
	}
	p := newTestPlanner(f)
	f.Fuzz(func(t *testing.T, input string) {
		plan, err := p.Plan(context.Background(), task.Request{Input: input})
		if err != nil {
			var te *task.Error
			if !errors.As(err, &te) || te.Code != task.CodeInvalidRequest && te.Code != task.CodeInvalidPlan {
				t.Fatalf("planning %q: %v, want a request or plan error", input, err)
			}
			return
		}
		if err := plan.Validate(task.DefaultLimits, task.BuiltinCatalog().Has); err != nil {
			t.Fatalf("planning %q gave an invalid plan: %v", input, err)
		}
		for i, s := range plan.Tasks {
			if s.ID != subtaskID(i) || s.Deps == nil {
				t.Fatalf("planning %q: subtask %d is %+v; want id %s and non-nil deps", input, i, s, subtaskID(i))
			}
		}
	})
}

func subtaskID(i int) string { return fmt.Sprintf("t%d", i+1) }

// TestLargeRequests plans requests near the size limit, of the shapes
// that would make a careless planner slow: many steps, many quotes, one
// endless sentence, many colons, unbroken Chinese, many file names and
// a payload cut short by instructions again and again.
// Each must come back soon, with a plan or a request or plan error.
func TestLargeRequests(t *testing.T) {
	p := newTestPlanner(t)
	const size = 200 << 10
	for name, unit := range map[string]string{
		"steps":    "summarize it, translate it, ",
		"quotes":   "'a' ",
		"sentence": "the quick brown fox jumps over the lazy dog ",
		"colons":   "a:",
		"chinese":  "总结这段文字并翻译成英文再提取关键词",
		"files":    "x.png ",
		"payload":  "Translate into French: " + strings.Repeat("word ", size/5),
		"resumed":  "Summarize: " + strings.Repeat("It rained. Then it stopped. Then count the words of: one two. ", size/62),
	} {
		t.Run(name, func(t *testing.T) {
			input := strings.Repeat(unit, max(1, size/len(unit)))
			if len(input) > size+len(unit) {
				input = input[:size]
			}
			plan, err := p.Plan(context.Background(), task.Request{Input: input})
			if err != nil {
				if code := task.AsError(err).Code; code != task.CodeInvalidRequest && code != task.CodeInvalidPlan {
					t.Fatalf("%v, want a plan, or a request or plan error", err)
				}
			}
			if err == nil && len(plan.Tasks) == 0 {
				t.Fatal("an empty plan")
			}
		})
	}
}

// TestConcurrentPlans plans from several goroutines at once over one
// planner; run with -race it shows the planner shares no mutable state.
func TestConcurrentPlans(t *testing.T) {
	p := newTestPlanner(t)
	inputs := []string{
		"Summarize this text, extract its keywords and detect its language: 'The fox.'",
		"先总结这篇文章，再把摘要翻译成英文：'新能源汽车的销量持续增长。'",
		"Translate 'a' into French and 'b' into German",
	}
	want := make([]task.Plan, len(inputs))
	for i, in := range inputs {
		var err error
		if want[i], err = p.Plan(context.Background(), task.Request{Input: in}); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for k := 0; k < 20; k++ {
				i := (g + k) % len(inputs)
				got, err := p.Plan(context.Background(), task.Request{Input: inputs[i]})
				if err == nil && fmt.Sprint(got) != fmt.Sprint(want[i]) {
					err = fmt.Errorf("plan of %q changed under concurrency: %v", inputs[i], got)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
