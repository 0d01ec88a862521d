package rules

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// languageNames maps language names, in English and in Chinese, to their
// codes.
var languageNames = map[string]string{
	"english": "en", "chinese": "zh", "mandarin": "zh", "simplified chinese": "zh", "traditional chinese": "zh-Hant",
	"cantonese": "yue", "french": "fr", "german": "de", "spanish": "es", "japanese": "ja", "korean": "ko",
	"russian": "ru", "arabic": "ar", "portuguese": "pt", "brazilian portuguese": "pt-BR", "italian": "it",
	"dutch": "nl", "hindi": "hi", "vietnamese": "vi", "thai": "th", "turkish": "tr", "polish": "pl",
	"swedish": "sv", "norwegian": "no", "danish": "da", "finnish": "fi", "greek": "el", "hebrew": "he",
	"indonesian": "id", "malay": "ms", "ukrainian": "uk", "czech": "cs", "hungarian": "hu", "romanian": "ro",
	"persian": "fa", "farsi": "fa", "bengali": "bn", "urdu": "ur", "tamil": "ta", "swahili": "sw", "latin": "la",
	"英语": "en", "英文": "en", "中文": "zh", "汉语": "zh", "简体中文": "zh", "普通话": "zh", "繁体中文": "zh-Hant",
	"繁体": "zh-Hant", "粤语": "yue", "法语": "fr", "法文": "fr", "德语": "de", "德文": "de", "西班牙语": "es",
	"西班牙文": "es", "日语": "ja", "日文": "ja", "韩语": "ko", "韩文": "ko", "朝鲜语": "ko", "俄语": "ru",
	"俄文": "ru", "阿拉伯语": "ar", "阿拉伯文": "ar", "葡萄牙语": "pt", "葡萄牙文": "pt", "意大利语": "it",
	"意大利文": "it", "荷兰语": "nl", "印地语": "hi", "越南语": "vi", "泰语": "th", "泰文": "th", "土耳其语": "tr",
	"波兰语": "pl", "瑞典语": "sv", "挪威语": "no", "丹麦语": "da", "芬兰语": "fi", "希腊语": "el",
	"希伯来语": "he", "印尼语": "id", "印度尼西亚语": "id", "马来语": "ms", "乌克兰语": "uk", "捷克语": "cs",
	"匈牙利语": "hu", "罗马尼亚语": "ro", "波斯语": "fa", "孟加拉语": "bn", "乌尔都语": "ur", "泰米尔语": "ta",
	"斯瓦希里语": "sw", "拉丁语": "la",
}

// languageStarts lists the names by first letter, longest first, so
// "simplified chinese" wins over "chinese" and "繁体中文" over "中文".
var languageStarts = func() map[rune][]string {
	names := slices.Sorted(maps.Keys(languageNames))
	sort.SliceStable(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	m := map[rune][]string{}
	for _, n := range names {
		r, _ := utf8.DecodeRuneInString(n)
		m[r] = append(m[r], n)
	}
	return m
}()

// asciiLanguageStart marks the letters an English language name starts with.
var asciiLanguageStart = func() (a [128]bool) {
	for r := range languageStarts {
		if r < utf8.RuneSelf {
			a[r] = true
		}
	}
	return a
}()

// Words that, before a language name, make it the language to produce
// ("into French", "翻译成法语") or the one to read ("from German", "从德语").
var (
	targetBefore = []string{"into", "to", "in", "as"}
	sourceBefore = []string{"from"}
	zhTarget     = []string{"翻译成", "翻成", "译成", "译为", "翻译为", "转成", "转换成", "改成", "变成", "成", "为", "到", "用"}
	zhSource     = []string{"从"}
	zhShortPairs = map[string]string{"中": "zh", "英": "en", "法": "fr", "德": "de", "日": "ja", "韩": "ko", "俄": "ru", "西": "es"}
)

// languages finds the target and source languages named in text, whose
// language names lie at spans: "into French" and "from German", "翻译成法语"
// and "从德语", or the short forms "中译英" and "英译中". Several targets
// joined by "and", commas or 和 ("into French and German") are all
// returned, in order.
func languages(text string, spans [][2]int) (targets []string, source string) {
	for k := 0; k < len(spans); k++ {
		i := spans[k][0]
		code := languageNames[strings.ToLower(text[i:spans[k][1]])]
		before := tail(text[:i])
		switch {
		case targets == nil && (endsWithWord(before, targetBefore) || endsWithAny(before, zhTarget)):
			targets = []string{code}
			for k+1 < len(spans) && joined(text[spans[k][1]:spans[k+1][0]]) {
				k++
				if c := languageNames[strings.ToLower(text[spans[k][0]:spans[k][1]])]; !slices.Contains(targets, c) {
					targets = append(targets, c)
				}
			}
		case source == "" && (endsWithWord(before, sourceBefore) || endsWithAny(before, zhSource)):
			source = code
		}
	}
	if targets == nil {
		if t, s := shortPair(text, source); t != "" {
			targets, source = []string{t}, s
		}
	}
	return targets, source
}

// joined reports whether the text between two language names joins them:
// "and", a comma, 和.
func joined(between string) bool {
	for _, j := range targetJoiners {
		if strings.EqualFold(between, j) {
			return true
		}
	}
	return false
}

// tail returns the last few words before a language name, lowercased,
// without trailing spaces or a style word ("in plain English").
func tail(s string) string {
	s = strings.TrimRight(s, " \t")
	if len(s) > 24 {
		s = strings.ToValidUTF8(s[len(s)-24:], "")
	}
	s = strings.ToLower(s)
	if k := strings.LastIndexByte(s, ' '); k >= 0 && styleWords[s[k+1:]] {
		s = strings.TrimRight(s[:k], " \t")
	}
	return s
}

// styleWords may stand between "in" and a language name.
var styleWords = setOf("plain", "simple", "formal", "informal", "casual", "polite", "modern", "standard", "natural", "fluent", "proper", "good", "british", "american", "written", "spoken")

// skipRune returns the size of the rune at i, skipping a run of spaces
// (masked payloads) at once.
func skipRune(text string, i int) int {
	if text[i] == ' ' {
		j := i
		for j < len(text) && text[j] == ' ' {
			j++
		}
		return j - i
	}
	_, size := utf8.DecodeRuneInString(text[i:])
	return size
}

// targetJoiners join further target languages to a first one.
var targetJoiners = []string{", and ", " and ", ", ", " or ", "、", "，", "和", "以及", "及", "与"}

// languageAt returns the language name that starts at i, as written in
// languageNames, and its code.
func languageAt(text string, i int) (string, string) {
	first := rune(text[i])
	if first >= utf8.RuneSelf {
		first, _ = utf8.DecodeRuneInString(text[i:])
	} else if !asciiLanguageStart[first|0x20] {
		return "", ""
	}
	candidates := languageStarts[unicode.ToLower(first)]
	if len(candidates) == 0 {
		return "", ""
	}
	if i > 0 {
		if p, _ := utf8.DecodeLastRuneInString(text[:i]); unicode.IsLetter(p) && !isCJK(p) {
			return "", ""
		}
	}
	for _, name := range candidates {
		if !hasPrefixFold(text[i:], name) {
			continue
		}
		if n, _ := utf8.DecodeRuneInString(text[i+len(name):]); !isCJK(first) && unicode.IsLetter(n) {
			continue
		}
		return text[i : i+len(name)], languageNames[name]
	}
	return "", ""
}
func endsWithWord(s string, words []string) bool {
	for _, w := range words {
		if strings.HasSuffix(s, w) {
			k := len(s) - len(w)
			if k == 0 || !unicode.IsLetter(rune(s[k-1])) {
				return true
			}
		}
	}
	return false
}

func endsWithAny(s string, words []string) bool {
	for _, w := range words {
		if strings.HasSuffix(s, w) {
			return true
		}
	}
	return false
}

// shortPair reads "中译英", "英译中" and "汉译英".
func shortPair(text, source string) (string, string) {
	k := strings.Index(text, "译")
	if k <= 0 {
		return "", source
	}
	from, _ := utf8.DecodeLastRuneInString(text[:k])
	to, _ := utf8.DecodeRuneInString(text[k+len("译"):])
	if from == '汉' {
		from = '中'
	}
	src, ok1 := zhShortPairs[string(from)]
	dst, ok2 := zhShortPairs[string(to)]
	if !ok1 || !ok2 {
		return "", source
	}
	return dst, src
}

// languageSpans returns the spans of the language names in text[start:end].
func languageSpans(text string, start, end int) [][2]int {
	var out [][2]int
	for i := start; i < end; {
		if name, _ := languageAt(text[:end], i); name != "" {
			out = append(out, [2]int{i, i + len(name)})
			i += len(name)
			continue
		}
		i += skipRune(text[:end], i)
	}
	return out
}

// directional returns the spans of the language names that say which
// language to produce or read ("into French", "从德语", "into French and
// German"), leaving out the ones a text is about ("Is this French?").
func directional(text string, spans [][2]int) [][2]int {
	var out [][2]int
	for k, s := range spans {
		before := tail(text[:s[0]])
		switch {
		case endsWithWord(before, targetBefore), endsWithAny(before, zhTarget),
			endsWithWord(before, sourceBefore), endsWithAny(before, zhSource),
			k > 0 && len(out) > 0 && out[len(out)-1] == spans[k-1] && joined(text[spans[k-1][1]:s[0]]):
			out = append(out, s)
		}
	}
	return out
}
