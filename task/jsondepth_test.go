package task

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// deepDocs are the hostile documents of issue 10, and their neighbours.
var deepDocs = map[string][]byte{
	"8 MB of [":           bytes.Repeat([]byte("["), 8_000_000),
	`{"a": repeated`:      bytes.Repeat([]byte(`{"a":`), 1_600_000),
	"129 levels, closed":  []byte(strings.Repeat("[", 129) + strings.Repeat("]", 129)),
	"deep after a string": []byte(`{"s":"[[[\"]]]",` + `"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`),
}

func TestCheckJSONDepthRefusesDeepDocuments(t *testing.T) {
	for name, doc := range deepDocs {
		t.Run(name, func(t *testing.T) {
			err := CheckJSONDepth(doc, MaxJSONDepth)
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidRequest {
				t.Fatalf("CheckJSONDepth = %v, want an invalid_request *Error", err)
			}
			for _, want := range []string{"more than 128 levels", "level 129 opens at byte", "send at most 128 levels"} {
				if !strings.Contains(e.Message, want) {
					t.Errorf("message %q does not say %q", e.Message, want)
				}
			}
		})
	}
}

func TestCheckJSONDepth(t *testing.T) {
	cases := []struct {
		doc  string
		max  int
		ok   bool
		want string // part of the error message
	}{
		{`{"a":[1,2,{"b":null}]}`, 3, true, ""},
		{`{"a":[1,2,{"b":null}]}`, 2, false, "level 3 opens at byte 10"},
		{`[[]]`, 2, true, ""},
		{`[[[]]]`, 2, false, "level 3 opens at byte 2"},
		{`"[[[[[["`, 1, true, ""},                        // brackets in a string are text
		{`["\"[[[[", 1]`, 1, true, ""},                   // an escaped quote does not end the string
		{`["\\", [[1]]]`, 2, false, "at byte 8"},         // an escaped backslash does
		{`["\\\"[[", 1]`, 1, true, ""},                   // \\ then \" : still inside
		{`["a\\\\"]`, 1, true, ""},                       // four backslashes, then the end
		{`]]]]][[`, 1, false, "level 2 opens at byte 6"}, // stray closers never lower the count below zero
		{``, 0, true, ""},
		{`1`, 0, true, ""},
		{`[]`, 0, false, "level 1 opens at byte 0"},
	}
	for _, c := range cases {
		err := CheckJSONDepth([]byte(c.doc), c.max)
		if c.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckJSONDepth(%s, %d) = %v, want ok=%v %q", c.doc, c.max, err, c.ok, c.want)
		}
	}
}

// TestJSONDepthInPieces checks that a document split anywhere, even
// inside an escape, is judged as it is whole.
func TestJSONDepthInPieces(t *testing.T) {
	doc := []byte(`{"k\\":"a\"[[[\\\"{{","v":[[["x\\"]]],"w":"\\\\"}`)
	for max := 0; max <= 5; max++ {
		whole := CheckJSONDepth(doc, max)
		for cut := 0; cut <= len(doc); cut++ {
			d := JSONDepth{Max: max}
			_, err := d.Write(doc[:cut])
			if err == nil {
				_, err = d.Write(doc[cut:])
			}
			if (err == nil) != (whole == nil) || err != nil && err.Error() != whole.Error() {
				t.Fatalf("max %d, cut at %d: %v, whole: %v", max, cut, err, whole)
			}
		}
	}
}

// oracleDepth is the reference: a recursive descent over data that
// enters a level at every '[' or '{' outside a string and leaves it at
// the next ']' or '}' (at the top, a closer is ignored). It returns the
// deepest level reached and the offset where level max+1 is first
// entered, or -1.
func oracleDepth(data []byte, max int) (deepest, over int) {
	over = -1
	var level func(i, depth int) int
	level = func(i, depth int) int {
		for i < len(data) {
			switch data[i] {
			case '"':
				i++
				for i < len(data) && data[i] != '"' {
					if data[i] == '\\' {
						i++
					}
					i++
				}
			case '[', '{':
				if depth+1 > max && over < 0 {
					over = i
				}
				deepest = maxInt(deepest, depth+1)
				i = level(i+1, depth+1)
				continue
			case ']', '}':
				if depth > 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	level(0, 0)
	return deepest, over
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// jsonDepth is the nesting of a decoded JSON value.
func jsonDepth(v any) int {
	switch v := v.(type) {
	case []any:
		d := 0
		for _, e := range v {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	case map[string]any:
		d := 0
		for _, e := range v {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	}
	return 0
}

func FuzzCheckJSONDepth(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi [ { \" \\"}]}`), 3, 17)
	f.Add([]byte(`["\\",[["\"[",{"a":[]}]]]`), 2, 4)
	f.Add([]byte(`["a long string with an escaped \" quote and a \\ backslash",[["\"[",{"a":[]}]]]`), 2, 33)
	f.Add([]byte(strings.Repeat("[", 300)), 128, 0)
	f.Add([]byte(strings.Repeat(`{"a":`, 200)+"1"+strings.Repeat("}", 200)), 128, 500)
	f.Add([]byte(`]]}{[`), 1, 2)
	f.Fuzz(func(t *testing.T, data []byte, max, cut int) {
		max = int(uint(max) % 64)
		deepest, over := oracleDepth(data, max)
		d := JSONDepth{Max: max}
		n, err := d.Write(data)
		if (err == nil) != (deepest <= max) {
			t.Fatalf("JSONDepth(max %d) = %v; the oracle reaches level %d", max, err, deepest)
		}
		if err != nil && n != over {
			t.Fatalf("refused at byte %d; the oracle enters level %d at byte %d", n, max+1, over)
		}
		if (CheckJSONDepth(data, max) == nil) != (err == nil) {
			t.Fatalf("CheckJSONDepth and JSONDepth.Write disagree")
		}
		cut = int(uint(cut) % uint(len(data)+1))
		d = JSONDepth{Max: max}
		m, perr := d.Write(data[:cut])
		if perr == nil {
			m, perr = d.Write(data[cut:])
			m += cut
		}
		if (perr == nil) != (err == nil) || perr != nil && m != n {
			t.Fatalf("written in two pieces cut at %d: %d, %v; whole: %d, %v", cut, m, perr, n, err)
		}
		var v any
		if json.Unmarshal(data, &v) == nil {
			if got := jsonDepth(v); got != deepest {
				t.Fatalf("encoding/json decodes %d levels; the oracle counts %d", got, deepest)
			}
		}
	})
}

// A request on tr.v1.req nested too deep is refused before it is decoded,
// with an error that says so: encoding/json would read 10,000 levels, and
// report "exceeded max depth" at best.
func TestDecodeRequestRefusesDeepJSON(t *testing.T) {
	lim := Limits{MaxInputBytes: 8 << 20}
	docs := map[string][]byte{
		"8 MB of [":      deepDocs["8 MB of ["],
		`{"a": repeated`: deepDocs[`{"a": repeated`],
		"deep tool_calls": []byte(`{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"","tool_calls":` +
			strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}]}`),
	}
	for name, doc := range docs {
		_, err := DecodeRequest(doc, lim)
		if e := AsError(err); e == nil || e.Code != CodeInvalidRequest || !strings.Contains(e.Message, "nested more than 128 levels deep") {
			t.Errorf("%s: DecodeRequest = %v, want invalid_request saying how deep", name, err)
		}
	}
	_, err := DecodePlan([]byte(`{"tasks":[{"id":"t1","capability":"x","input":"a","deps":` + strings.Repeat("[", 200) + `}]}`))
	if e := AsError(err); e == nil || e.Code != CodeInvalidPlan || !strings.Contains(e.Message, "nested more than 128 levels deep") {
		t.Errorf("DecodePlan = %v, want invalid_plan saying how deep", err)
	}
}
