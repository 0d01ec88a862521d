package localmodel

import (
	"regexp"
	"strconv"
	"strings"
)

// The patterns of local/extract. RE2 has no look-behind, so boundaries that
// need one are checked in code (see spans.free).
var (
	urlPattern    = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"'，。、；！？（）【】「」]+`)
	emailPattern  = regexp.MustCompile(`(?i)\b[a-z0-9][a-z0-9._%+-]*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,24}\b`)
	phonePatterns = []*regexp.Regexp{
		regexp.MustCompile(`(?:\+86[\s-]?)?\b1[3-9]\d(?:[\s-]?\d{4}){2}\b`),             // Chinese mobile
		regexp.MustCompile(`\+\d{1,3}(?:[\s.-]?\(\d{1,4}\))?(?:[\s.-]?\d{1,5}){2,5}\b`), // international
		regexp.MustCompile(`(?:\(\d{3}\)\s?|\b\d{3}[\s.-])\d{3}[\s.-]\d{4}\b`),          // North American
		regexp.MustCompile(`(?:\(0\d{2,3}\)|\b0\d{2,3}-)\d{7,8}\b`),                     // Chinese landline
	}
	numberPattern = regexp.MustCompile(`\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\b|\b\d+(?:\.\d+)?\b|(?:^|[^\d.])\.\d+\b`)
)

// Dates: ISO, Chinese, and English with the month spelled out.
const monthNames = `(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)`

var (
	isoDate     = regexp.MustCompile(`\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b`)
	zhDate      = regexp.MustCompile(`(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]`)
	enDateMDY   = regexp.MustCompile(`(?i)\b` + monthNames + `\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(\d{4})\b)?`)
	enDateDMY   = regexp.MustCompile(`(?i)\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?` + monthNames + `\.?,?\s+(\d{4})\b`)
	zhYearMonth = regexp.MustCompile(`(\d{4})\s*年\s*(\d{1,2})\s*月`)
	enMonthYear = regexp.MustCompile(`(?i)\b` + monthNames + `\.?,?\s+(\d{4})\b`)
)

// Money: a currency before the amount (symbol or code) or after it (code or
// word), with an optional scale word.
const (
	amountRE = `(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)`
	scaleRE  = `(?:\s?(thousand|million|billion|bn|k|m)\b|\s?(万|亿))?`
)

var (
	moneyBefore = regexp.MustCompile(`(?i)(US\$|HK\$|C\$|A\$|\$|€|£|¥|￥|₹|₩|₽|\b(?:USD|EUR|GBP|CNY|RMB|JPY|HKD|CAD|AUD|INR|KRW|CHF)\b)\s?` + amountRE + scaleRE)
	moneyAfter  = regexp.MustCompile(`(?i)` + amountRE + `\s?(万|亿)?\s?(元人民币|人民币|元|块钱|块|美元|美金|欧元|英镑|日元|港元|港币|韩元|dollars?|euros?|pounds?|yuan|USD|EUR|GBP|CNY|RMB|JPY|HKD)`)
)

// currencyCodes maps symbols and words to ISO 4217 codes. ¥ is taken as the
// Chinese yuan, the commoner reading in the mixed texts taskrouter serves.
var currencyCodes = map[string]string{
	"$": "USD", "us$": "USD", "hk$": "HKD", "c$": "CAD", "a$": "AUD", "€": "EUR", "£": "GBP",
	"¥": "CNY", "￥": "CNY", "₹": "INR", "₩": "KRW", "₽": "RUB", "rmb": "CNY",
	"元": "CNY", "元人民币": "CNY", "人民币": "CNY", "块": "CNY", "块钱": "CNY", "yuan": "CNY",
	"美元": "USD", "美金": "USD", "dollar": "USD", "dollars": "USD", "欧元": "EUR", "euro": "EUR", "euros": "EUR",
	"英镑": "GBP", "pound": "GBP", "pounds": "GBP", "日元": "JPY", "港元": "HKD", "港币": "HKD", "韩元": "KRW",
}

// currencyCode returns the ISO code of a currency as written.
func currencyCode(s string) string {
	if c, ok := currencyCodes[strings.ToLower(s)]; ok {
		return c
	}
	return strings.ToUpper(s)
}

// scaleOf returns the multiplier of a scale word.
func scaleOf(s string) float64 {
	switch strings.ToLower(s) {
	case "thousand", "k":
		return 1e3
	case "万":
		return 1e4
	case "million", "m":
		return 1e6
	case "亿":
		return 1e8
	case "billion", "bn":
		return 1e9
	}
	return 1
}

// parseAmount reads a number written with thousands separators.
func parseAmount(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	return f, err == nil
}

// requiredText lists, for each pattern that has them, characters one of
// which every match contains; a piece of text with none is skipped.
var requiredText = func() map[*regexp.Regexp]string {
	need := map[*regexp.Regexp]string{emailPattern: "@", urlPattern: "/."}
	for _, re := range append(phonePatterns, numberPattern, isoDate, zhDate, enDateMDY, enDateDMY, zhYearMonth, enMonthYear, moneyBefore, moneyAfter) {
		need[re] = "0123456789"
	}
	return need
}()
