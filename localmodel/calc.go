package localmodel

import (
	"context"
	"math/big"
	"strconv"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

// Calc is local/calc: it finds the arithmetic in a text ("What is 17 * 23
// + 4?", "计算 (128 + 256) × 3", "15% of 80", "2的10次方") and evaluates it
// exactly over rational numbers; square roots and fractional powers fall
// back to floating point. Operators: + - * / ^ % mod, parentheses, √ and
// sqrt, ² ³, the English words plus, minus, times, divided by, to the power
// of, squared, and the Chinese 加 减 乘(以) 除以 除 的平方 次方 开方 百分之.
// Full-width digits and operators are accepted. Nothing is executed: a
// tokenizer and a Pratt parser evaluate the expression, with limits on its
// length, nesting and the size of its values.
type Calc struct{}

var _ Model = Calc{}

// maxCalcDigits is how many digits of an exact whole result are printed
// before scientific notation takes over.
const maxCalcDigits = 1000

// Generate evaluates the arithmetic in w.Input; the answer reads
// "17 * 23 + 4 = 395".
func (Calc) Generate(ctx context.Context, w task.Work, _ func(string)) (task.Output, error) {
	input, err := prepare(ctx, w, "an arithmetic expression such as \"17 * 23 + 4\"", "calculating")
	if err != nil {
		return task.Output{}, err
	}
	text, toks := lexCalc(input)
	expr := findExpression(toks)
	if expr == nil {
		return task.Output{}, task.Errorf(task.CodeBadInput, "no arithmetic found in the input: send an expression such as \"(128 + 256) * 3\" or \"15%% of 80\"")
	}
	v, err := evalCalc(expr)
	if err != nil {
		return task.Output{}, err
	}
	written := text[expr[0].start:expr[len(expr)-1].end]
	return textOutput(input, written+" = "+formatRat(v)), nil
}

// findExpression returns the longest run of arithmetic tokens that holds a
// number and an operator, or nil. Runs are separated by other text.
func findExpression(toks []calcToken) []calcToken {
	var best []calcToken
	start := 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && toks[i].kind != calcBreak {
			continue
		}
		run := trimRun(toks[start:i])
		if isExpression(run) && len(run) > len(best) {
			best = run
		}
		start = i + 1
	}
	return best
}

// trimRun drops operator words at the ends of a run that cannot belong to
// an expression there ("of 3 + 4", "3 + 4 plus").
func trimRun(run []calcToken) []calcToken {
	for len(run) > 0 && run[0].kind == calcOp && run[0].op != "-" && run[0].op != "+" && run[0].op != "pct" {
		run = run[1:]
	}
	for len(run) > 0 && run[len(run)-1].kind == calcOp && !strings.Contains("%²³√", run[len(run)-1].op) {
		run = run[:len(run)-1]
	}
	return run
}

// isExpression reports whether a run holds a number and an operation
// beyond a leading sign.
func isExpression(run []calcToken) bool {
	numbers, ops := 0, 0
	for i, t := range run {
		switch {
		case t.kind == calcNumber:
			numbers++
		case t.kind == calcSqrt, t.kind == calcOp && !(i == 0 && (t.op == "-" || t.op == "+")):
			ops++
		case t.kind == calcTooLong: // so that evalCalc says the run is too long
			numbers++
			ops++
		}
	}
	return numbers > 0 && ops > 0
}

// formatRat prints whole numbers exactly and others as decimals with up to
// twelve significant digits.
func formatRat(v *big.Rat) string {
	if v.IsInt() && len(v.Num().String()) <= maxCalcDigits {
		return v.Num().String()
	}
	f, _ := v.Float64()
	return strconv.FormatFloat(f, 'g', 12, 64)
}
