package rules

import (
	"maps"
	"slices"
)

// The word lists below are language, not capabilities: they name the parts
// of a request (the text it is about, the result of a step, pronouns), never
// a kind of work. Capabilities come from the catalog only.

// payloadNouns name the request's own text ("this article", "原文"); a
// phrase built on one refers to the payload, not to an earlier step.
var payloadNouns = stemSet(
	"text", "texts", "article", "passage", "paragraph", "document", "content",
	"message", "sentence", "story", "essay", "email", "report", "file", "input",
	"original", "page", "post", "review", "comment", "note", "letter", "tweet",
	"transcript", "excerpt", "blog", "chapter", "book", "words", "data",
	"文字", "文本", "内容", "文章", "段落", "句子", "消息", "邮件", "原文", "短文",
	"评论", "文档", "报告", "段话", "句话", "材料", "原稿", "数据",
)

// narrators open a sentence by its subject: one that tells what someone
// did ("Then I went home", "然后他走了"), not one that asks for work.
var narrators = setOf(
	"i", "we", "he", "she", "they", "it", "there", "the", "a", "an", "my",
	"our", "his", "her", "their", "its", "我", "我们", "他", "她", "它", "他们",
	"她们", "大家", "人们",
)

// resultNouns name the output of an earlier step without saying which.
var resultNouns = stemSet(
	"result", "results", "output", "outputs", "answer", "answers", "response",
	"responses", "findings", "结果", "输出", "答案",
)

// pluralResult marks words that make a result phrase mean every earlier
// result: "all the results", "以上结果".
var pluralResult = setOf("results", "outputs", "answers", "responses", "findings", "all", "both", "these", "those", "everything", "所有", "全部", "以上", "上述", "这些", "那些", "各")

// aliases are words a request uses for what catalogs say otherwise: the
// kinds of data (a picture is an image, a clip a video), and a few verbs
// of the work on them ("read it out loud" asks for speech). A request's
// word also matches its aliases, for less (aliasFactor). Keys and values
// are stems.
var aliases = func() map[string][]string {
	groups := map[string][]string{
		"image":     {"picture", "photo", "photograph", "pic", "illustration", "frame", "scene", "snapshot"},
		"video":     {"clip", "movie", "film", "footage"},
		"audio":     {"sound", "recording", "soundtrack", "song", "music", "track", "voice", "speech", "podcast"},
		"speech":    {"aloud", "loud", "spoken", "voice", "narrate", "narration", "voiceover"},
		"spoken":    {"aloud", "loud"},
		"describ":   {"caption"},
		"caption":   {"describe", "description"},
		"class":     {"kind", "category", "sort"},
		"sentiment": {"positive", "negative", "opinion", "feel", "feels"},
		"anomaly":   {"outlier", "unusual"},
		"outlier":   {"anomaly", "unusual"},
		"table":     {"spreadsheet", "rows", "csv"},
		"chart":     {"plot", "graph"},
		"plot":      {"chart", "graph"},
	}
	m := map[string][]string{}
	for target, words := range groups {
		t := stem(target)
		for _, w := range words {
			if k := stem(w); k != t && !slices.Contains(m[k], t) {
				m[k] = append(m[k], t)
			}
		}
	}
	for _, targets := range m {
		slices.Sort(targets) // scores add up in one order, run after run
	}
	return m
}()

// questionTerms are what a question asks for, whatever its words: a
// request that ends with a question mark also matches them, for less.
var questionTerms = []string{stem("question"), stem("answer")}

// stemSet tokenizes each entry the way requests are tokenized, so the set
// holds stems and CJK bigrams.
func stemSet(words ...string) map[string]bool {
	m := map[string]bool{}
	for _, w := range words {
		for _, t := range tokenize(w, nil) {
			if t.kind != kindUnigram {
				m[t.term] = true
			}
		}
	}
	return m
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
