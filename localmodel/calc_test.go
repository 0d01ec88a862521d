package localmodel

import (
	"context"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// calcCases is the labelled set of local/calc: input and the exact result.
var calcCases = []struct{ in, want string }{
	{"What is 17 * 23 + 4?", "395"},
	{"计算 (128 + 256) * 3", "1152"},
	{"2^10", "1024"},
	{"2^3^2", "512"},
	{"-2^2", "-4"},
	{"15% of 80", "12"},
	{"What's 3 plus 4 times 2?", "11"},
	{"10 divided by 4", "2.5"},
	{"0.1 + 0.2", "0.3"},
	{"1/3", "0.333333333333"},
	{"（１２＋８）×３", "60"},
	{"12 ÷ 4 − 1", "2"},
	{"3加5乘2", "13"},
	{"100除以8", "12.5"},
	{"2除10", "5"},
	{"2的10次方", "1024"},
	{"9的平方", "81"},
	{"sqrt(16) + 2", "6"},
	{"√2", "1.41421356237"},
	{"the square root of 81", "9"},
	{"5 squared minus 3 cubed", "-2"},
	{"17 mod 5", "2"},
	{"-7 % 3", "2"},
	{"2(3+4)", "14"},
	{"1,234 + 766", "2000"},
	{"2^64", "18446744073709551616"},
	{"2^-2", "0.25"},
	{"百分之20乘以50", "10"},
	{"Please compute ((1 + 2) * (3 + 4)) / 7 for me.", "3"},
	{"I have 3 apples; what is 3 * 7?", "21"},
}

func TestCalcAccuracy(t *testing.T) {
	right := 0
	for _, c := range calcCases {
		out, err := Calc{}.Generate(context.Background(), task.Work{Input: c.in}, nil)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got := out.Text[strings.LastIndex(out.Text, " = ")+3:]; got != c.want {
			t.Errorf("%q = %q, want %q", c.in, out.Text, c.want)
			continue
		}
		right++
	}
	t.Logf("calc accuracy: %d/%d", right, len(calcCases))
}

func TestCalcReadable(t *testing.T) {
	out, err := Calc{}.Generate(context.Background(), task.Work{Input: "What is 17 * 23 + 4?"}, nil)
	if err != nil || out.Text != "17 * 23 + 4 = 395" || out.Format != "text" {
		t.Fatalf("got %+v, %v", out, err)
	}
}

func TestCalcErrors(t *testing.T) {
	for _, in := range []string{
		"1/0", "5 mod 0", "0^-1", "hello world", "I have 3 apples", "(1 + 2", "1 + * 2", "sqrt(-4)",
		"9^9^9", strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), strings.Repeat("1+", 400) + "1",
		"999999999^9999 * 999999999^9999 * 999999999^9999 * 999999999^9999 * 999999999^9999",
	} {
		_, err := Calc{}.Generate(context.Background(), task.Work{Input: in}, nil)
		if e := task.AsError(err); e == nil || e.Code != task.CodeBadInput || e.Message == "" {
			t.Errorf("%.40q: err %v, want bad_input", in, err)
		}
	}
}

func FuzzCalc(f *testing.F) {
	for _, c := range calcCases {
		f.Add(c.in)
	}
	f.Add("((((1))))^^%%")
	f.Add(strings.Repeat("(", 600) + "1+1" + strings.Repeat(")", 600))
	f.Add(strings.Repeat("-", 600) + "1")
	f.Add("* " + strings.Repeat("1+", 256) + "1")
	f.Add("1" + strings.Repeat(",000", 200) + ".5 + 1")
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Calc{}.Generate(context.Background(), task.Work{Input: in}, nil)
		if err != nil {
			if e := task.AsError(err); e.Code != task.CodeBadInput {
				t.Fatalf("%q: error code %s, want bad_input: %v", in, e.Code, err)
			}
			return
		}
		if !strings.Contains(out.Text, " = ") {
			t.Fatalf("%q: answer %q has no result", in, out.Text)
		}
	})
}
