package localmodel

import "unicode"

// isHan reports whether r is a Chinese character (hanzi, kanji).
func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

// isKana reports whether r is Japanese hiragana or katakana.
func isKana(r rune) bool {
	return unicode.In(r, unicode.Hiragana, unicode.Katakana) && r != 'ー' && r != '・'
}

// isWordRune reports whether r belongs inside a space-delimited word:
// letters (other than Han and kana, which form words on their own), marks
// and digits.
func isWordRune(r rune) bool {
	if isHan(r) || isKana(r) {
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || r == 'ー'
}

// isJoiner reports whether r may join two word parts, as in "don't",
// "state-of-the-art" or "3.14".
func isJoiner(r rune) bool {
	return r == '\'' || r == '’' || r == '-' || r == '.' || r == ',' || r == '_'
}
