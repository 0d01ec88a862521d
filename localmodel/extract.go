package localmodel

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// Extract is local/extract: it pulls emails, URLs, phone numbers, dates,
// money amounts and other numbers out of English and Chinese text.
//
// Kinds are matched in that order of precedence and a span of text belongs
// to one kind only, so the digits of a phone number or a date are not also
// reported as numbers. Dates are normalised to ISO 8601 ("2024-03-05", or
// "--03-05" without a year); amounts to numbers with an ISO 4217 currency.
type Extract struct{}

var _ Model = Extract{}

// extraction is the JSON answer of local/extract.
type extraction struct {
	Emails  []string       `json:"emails"`
	URLs    []string       `json:"urls"`
	Phones  []string       `json:"phones"`
	Dates   []dateMention  `json:"dates"`
	Numbers []float64      `json:"numbers"`
	Money   []moneyMention `json:"money"`
}

// dateMention is a date as written and in ISO 8601.
type dateMention struct {
	Text string `json:"text"`
	ISO  string `json:"iso"`
	pos  int
}

// moneyMention is an amount of money.
type moneyMention struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
	Text     string  `json:"text"`
	pos      int
}

// Generate extracts the entities of w.Input.
func (Extract) Generate(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
	input, err := prepare(ctx, w, "the text to extract emails, links, phone numbers, dates and amounts from", "extracting")
	if err != nil {
		return task.Output{}, err
	}
	return jsonOutput(input, extractEntities(input))
}

// extractEntities runs the extractors in order of precedence.
func extractEntities(text string) extraction {
	ex := extraction{Emails: []string{}, URLs: []string{}, Phones: []string{}, Dates: []dateMention{}, Numbers: []float64{}, Money: []moneyMention{}}
	taken := &spans{text: text}
	for _, m := range taken.claim(urlPattern, trimURL) {
		ex.URLs = appendUnique(ex.URLs, text[m[0]:m[1]])
	}
	for _, m := range taken.claim(emailPattern, nil) {
		ex.Emails = appendUnique(ex.Emails, text[m[0]:m[1]])
	}
	ex.Dates = extractDates(text, taken)
	slices.SortStableFunc(ex.Dates, func(a, b dateMention) int { return a.pos - b.pos })
	var phones [][]int
	for _, p := range phonePatterns {
		phones = append(phones, taken.claim(p, phoneDigits)...)
	}
	slices.SortFunc(phones, func(a, b []int) int { return a[0] - b[0] })
	for _, m := range phones {
		ex.Phones = appendUnique(ex.Phones, text[m[0]:m[1]])
	}
	ex.Money = extractMoney(text, taken)
	slices.SortStableFunc(ex.Money, func(a, b moneyMention) int { return a.pos - b.pos })
	for _, m := range taken.claim(numberPattern, trimNumber) {
		if f, ok := parseAmount(text[m[0]:m[1]]); ok {
			ex.Numbers = append(ex.Numbers, f)
		}
	}
	return ex
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// trimURL drops punctuation that ends a sentence rather than the address,
// and a closing bracket that has no opening one inside the address.
func trimURL(s string, m []int) []int {
	for m[1] > m[0] {
		u := s[m[0]:m[1]]
		last := u[len(u)-1]
		switch {
		case strings.IndexByte(".,;:!?'\"", last) >= 0:
		case last == ')' && strings.Count(u, "(") < strings.Count(u, ")"):
		default:
			return m
		}
		m[1]--
	}
	return m
}

// phoneDigits keeps a phone match with 7 to 15 digits (the E.164 limit)
// that does not run on into more digits.
func phoneDigits(s string, m []int) []int {
	n := 0
	for _, r := range s[m[0]:m[1]] {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	if n < 7 || n > 15 || m[1] < len(s) && (s[m[1]] >= '0' && s[m[1]] <= '9' || s[m[1]] == '-' && m[1]+1 < len(s) && s[m[1]+1] >= '0' && s[m[1]+1] <= '9') {
		return nil
	}
	return m
}

// trimNumber drops the character a number match had to take before a
// leading decimal point (" .5"), and numbers glued to letters or dots.
func trimNumber(s string, m []int) []int {
	if s[m[0]] != '.' && (s[m[0]] < '0' || s[m[0]] > '9') {
		m[0]++
	}
	if m[0] > 0 && (isASCIILetter(s[m[0]-1]) || s[m[0]-1] == '.' && m[0] > 1 && s[m[0]-2] >= '0' && s[m[0]-2] <= '9') {
		return nil
	}
	return m
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// isoDateOf formats a date in ISO 8601, or returns "" when it is no real
// date. A zero year or day means the text gave none: "--03-05", "2024-03".
func isoDateOf(year, month, day int) string {
	switch {
	case month < 1 || month > 12 || day < 0 || day > daysIn(month, year):
		return ""
	case year == 0 && day == 0, year != 0 && (year < 1000 || year > 9999):
		return ""
	case year == 0:
		return fmt.Sprintf("--%02d-%02d", month, day)
	case day == 0:
		return fmt.Sprintf("%04d-%02d", year, month)
	}
	return fmt.Sprintf("%04d-%02d-%02d", year, month, day)
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year == 0 || year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
