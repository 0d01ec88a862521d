package localmodel

import (
	"math/big"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// calcKind is the kind of a calculator token.
type calcKind uint8

const (
	calcBreak  calcKind = iota // text that is not arithmetic: ends an expression
	calcNumber                 // a number
	calcOp                     // + - * / ^ % mod of, and the postfix squares
	calcLParen
	calcRParen
	calcSqrt
	// calcTooLong stands for the tokens of a run past maxCalcTokens, which
	// lexCalc does not keep: a run holding it is refused as too long.
	calcTooLong
)

// A calcToken is one token of arithmetic; op is its canonical symbol.
type calcToken struct {
	kind calcKind
	op   string
	num  *big.Rat
	text string // as written, normalised

	start, end int // byte offsets in the normalised text
}

// calcWords maps operator words, English and Chinese, to symbols. Longer
// words come first so that "乘以" wins over "乘".
var calcWords = []struct{ word, op string }{
	{"to the power of", "^"}, {"multiplied by", "*"}, {"divided by", "/"},
	{"square root of", "sqrt"}, {"squared", "²"}, {"cubed", "³"},
	{"plus", "+"}, {"minus", "-"}, {"times", "*"}, {"modulo", "mod"}, {"mod", "mod"},
	{"sqrt", "sqrt"}, {"of", "of"},
	{"的平方根", "√"}, {"的平方", "²"}, {"的立方", "³"},
	{"乘以", "*"}, {"除以", "/"}, {"加上", "+"}, {"减去", "-"}, {"百分之", "pct"},
	{"加", "+"}, {"减", "-"}, {"乘", "*"}, {"除", "\\"}, {"开方", "√"}, {"平方根", "sqrt"},
}

// maxCalcWordBytes is the length of the longest operator word, plus room.
const maxCalcWordBytes = 24

// calcSymbols maps operator characters, after width folding, to symbols.
var calcSymbols = map[rune]string{
	'+': "+", '-': "-", '−': "-", '*': "*", '×': "*", '·': "*", '/': "/", '÷': "/",
	'^': "^", '%': "%", '√': "sqrt", '²': "²", '³': "³",
}

// lexCalc normalises text and splits it into calculator tokens: full-width
// characters are folded to ASCII, "的10次方" becomes "^10", and anything
// that is not arithmetic becomes a break. Consecutive breaks become one,
// and a run of arithmetic longer than evalCalc takes keeps its first
// maxCalcTokens tokens and one calcTooLong, so that a megabyte of "(" or
// "-" costs a few hundred tokens instead of 300 MB of them.
func lexCalc(input string) (string, []calcToken) {
	text := chinesePower.ReplaceAllString(foldWidth(input), "^$1")
	var out []calcToken
	run := 0 // arithmetic tokens since the last break
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		var tok calcToken
		switch {
		case unicode.IsSpace(r):
			i += size
			continue
		case r >= '0' && r <= '9' || r == '.' && i+1 < len(text) && text[i+1] >= '0' && text[i+1] <= '9':
			tok, size = lexNumber(text[i:])
		case r == '(':
			tok = calcToken{kind: calcLParen, text: "("}
		case r == ')':
			tok = calcToken{kind: calcRParen, text: ")"}
		case calcSymbols[r] != "":
			tok = opToken(calcSymbols[r])
		default:
			tok, size = lexWord(text[i:])
		}
		tok.start, tok.end = i, i+size
		i += size
		if tok.kind == calcBreak {
			if run = 0; len(out) > 0 && out[len(out)-1].kind == calcBreak {
				continue
			}
		} else if run++; run > maxCalcTokens+1 {
			continue
		} else if run == maxCalcTokens+1 {
			tok.kind = calcTooLong
		} else if tok.kind == calcNumber {
			tok.num = parseNumber(tok.text)
		}
		out = append(out, tok)
	}
	return text, out
}

// opToken makes the token of an operator symbol.
func opToken(op string) calcToken {
	if op == "sqrt" {
		return calcToken{kind: calcSqrt, op: op, text: "sqrt"}
	}
	return calcToken{kind: calcOp, op: op, text: op}
}

// lexNumber reads a number such as 42, 3.14, .5 or 1,234,567.89; lexCalc
// parses the ones it keeps.
func lexNumber(s string) (calcToken, int) {
	var b strings.Builder
	i, dot := 0, false
	for i < len(s) {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' && !dot:
			b.WriteByte(c)
			dot = true
		case c == ',' && thousandsGroup(s[i+1:]) && !dot:
		default:
			return calcToken{kind: calcNumber, text: b.String()}, i
		}
		i++
	}
	return calcToken{kind: calcNumber, text: b.String()}, i
}

// thousandsGroup reports whether s starts with exactly three digits.
func thousandsGroup(s string) bool {
	return len(s) >= 3 && isDigits(s[:3]) && (len(s) == 3 || s[3] < '0' || s[3] > '9')
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseNumber parses the digits of a number, or returns nil when there
// are more than any value may have, which big.Rat would take seconds to
// parse.
func parseNumber(s string) *big.Rat {
	if len(s) > maxValueDigits {
		return nil
	}
	r, _ := new(big.Rat).SetString(s)
	return r
}

// lexWord reads an operator word, or a run of other text as a break.
func lexWord(s string) (calcToken, int) {
	lower := strings.ToLower(s[:min(len(s), maxCalcWordBytes)])
	for _, w := range calcWords {
		if strings.HasPrefix(lower, w.word) && wordEnds(s, len(w.word)) {
			return opToken(w.op), len(w.word)
		}
	}
	r, size := utf8.DecodeRuneInString(s)
	if !unicode.IsLetter(r) || isHan(r) {
		return calcToken{kind: calcBreak, text: s[:size]}, size
	}
	n := scanWhile(s, 0, func(r rune) bool { return unicode.IsLetter(r) && !isHan(r) || r == '\'' })
	return calcToken{kind: calcBreak, text: s[:n]}, n
}

// wordEnds reports whether an English word ends at s[n]: Chinese words need
// no boundary.
func wordEnds(s string, n int) bool {
	last, _ := utf8.DecodeLastRuneInString(s[:n])
	if isHan(last) {
		return true
	}
	next, _ := utf8.DecodeRuneInString(s[n:])
	return n == len(s) || !unicode.IsLetter(next)
}

// chinesePower matches "的10次方" (to the 10th power).
var chinesePower = regexp.MustCompile(`的?\s*([0-9]+(?:\.[0-9]+)?)\s*次方`)

// foldWidth maps full-width ASCII variants (１２３＋（）) to ASCII and the
// ideographic space to a space.
func foldWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3000:
			return ' '
		}
		return r
	}, s)
}
