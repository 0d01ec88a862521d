package localmodel

import (
	"math"
	"math/big"

	"github.com/taskrouter/taskrouter/task"
)

// Limits that keep a hostile expression cheap.
const (
	maxCalcTokens = 512
	maxCalcDepth  = 64
	maxPowerBits  = 1 << 16 // bits of an exact power's result
	maxValueBits  = 1 << 17 // bits of any intermediate value
	// maxValueDigits is maxValueBits in decimal digits, rounded down.
	maxValueDigits = maxValueBits * 3 / 10
)

// Binding powers of the Pratt parser: unary minus binds looser than '^',
// so -2^2 is -4; postfix operators bind tightest.
const (
	bpAdd     = 10
	bpMul     = 20
	bpUnary   = 30
	bpPow     = 40
	bpPostfix = 50
)

// calcParser parses and evaluates one expression over exact rationals.
type calcParser struct {
	toks  []calcToken
	pos   int
	depth int
}

func badExpr(format string, args ...any) error {
	return task.Errorf(task.CodeBadInput, format, args...)
}

// evalCalc evaluates a whole token list.
func evalCalc(toks []calcToken) (*big.Rat, error) {
	if len(toks) > maxCalcTokens || len(toks) > 0 && toks[len(toks)-1].kind == calcTooLong {
		return nil, badExpr("the expression has more than %d tokens: send a shorter one", maxCalcTokens)
	}
	p := &calcParser{toks: toks}
	v, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(toks) {
		return nil, badExpr("unexpected %q in the expression: check the operators and parentheses", toks[p.pos].text)
	}
	return v, nil
}

func (p *calcParser) peek() (calcToken, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return calcToken{}, false
}

// expr parses operators that bind tighter than minBP, left to right.
func (p *calcParser) expr(minBP int) (*big.Rat, error) {
	if p.depth++; p.depth > maxCalcDepth {
		return nil, badExpr("the expression nests deeper than %d levels: simplify it", maxCalcDepth)
	}
	defer func() { p.depth-- }()
	lhs, err := p.prefix()
	if err != nil {
		return nil, err
	}
	for {
		t, ok := p.peek()
		if !ok {
			return lhs, nil
		}
		if p.isPostfix(t) {
			p.pos++
			if lhs, err = sized(applyPostfix(t.op, lhs)); err != nil {
				return nil, err
			}
			continue
		}
		op, lbp, rbp := infix(t)
		if op == "" || lbp < minBP {
			return lhs, nil
		}
		if t.kind == calcOp {
			p.pos++
		}
		rhs, err := p.expr(rbp)
		if err != nil {
			return nil, err
		}
		if lhs, err = sized(applyInfix(op, lhs, rhs)); err != nil {
			return nil, err
		}
	}
}

// prefix parses a number, a parenthesised expression or a prefix operator.
func (p *calcParser) prefix() (*big.Rat, error) {
	t, ok := p.peek()
	if !ok {
		return nil, badExpr("the expression ends too early: an operand is missing")
	}
	p.pos++
	switch {
	case t.kind == calcNumber && t.num == nil:
		return nil, badExpr("a number in the expression has more than %d digits: send smaller numbers", maxValueDigits)
	case t.kind == calcNumber:
		return t.num, nil
	case t.kind == calcLParen:
		v, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		if c, ok := p.peek(); !ok || c.kind != calcRParen {
			return nil, badExpr("a '(' is never closed: add the missing ')'")
		}
		p.pos++
		return v, nil
	case t.kind == calcSqrt:
		v, err := p.expr(bpPostfix)
		if err != nil {
			return nil, err
		}
		return sqrtRat(v)
	case t.op == "-" || t.op == "+" || t.op == "pct":
		v, err := p.expr(bpUnary)
		if err != nil {
			return nil, err
		}
		return applyPrefix(t.op, v), nil
	}
	return nil, badExpr("unexpected %q where a number should be", t.text)
}

// isPostfix reports whether t applies to the value before it: '²', '³',
// '√' (from "的平方根"), and '%' unless an operand follows, which makes it
// the remainder operator.
func (p *calcParser) isPostfix(t calcToken) bool {
	switch t.op {
	case "²", "³", "√":
		return true
	case "%":
		if p.pos+1 >= len(p.toks) {
			return true
		}
		next := p.toks[p.pos+1]
		return !(next.kind == calcNumber || next.kind == calcLParen || next.kind == calcSqrt || next.op == "-" || next.op == "+")
	}
	return false
}

// infix returns the binary operator t stands for and its binding powers. A
// '(' or root right after an operand multiplies: 2(3+4).
func infix(t calcToken) (op string, lbp, rbp int) {
	switch {
	case t.kind == calcLParen || t.kind == calcSqrt:
		return "*", bpMul, bpMul + 1
	case t.kind != calcOp:
		return "", 0, 0
	}
	switch t.op {
	case "+", "-":
		return t.op, bpAdd, bpAdd + 1
	case "*", "/", "\\", "%", "mod", "of":
		return t.op, bpMul, bpMul + 1
	case "^":
		return t.op, bpPow, bpPow // right-associative: 2^3^2 = 2^9
	}
	return "", 0, 0
}

// sized passes on a result unless it is too big to compute with quickly.
func sized(v *big.Rat, err error) (*big.Rat, error) {
	if err == nil && (v.Num().BitLen() > maxValueBits || v.Denom().BitLen() > maxValueBits) {
		return nil, badExpr("a value in the expression has more than %d digits: send smaller numbers", maxValueDigits)
	}
	return v, err
}

func applyPrefix(op string, v *big.Rat) *big.Rat {
	switch op {
	case "-":
		return new(big.Rat).Neg(v)
	case "pct":
		return new(big.Rat).Quo(v, big.NewRat(100, 1))
	}
	return v
}

func applyPostfix(op string, v *big.Rat) (*big.Rat, error) {
	switch op {
	case "%":
		return new(big.Rat).Quo(v, big.NewRat(100, 1)), nil
	case "²":
		return new(big.Rat).Mul(v, v), nil
	case "³":
		return new(big.Rat).Mul(v, new(big.Rat).Mul(v, v)), nil
	}
	return sqrtRat(v)
}

func applyInfix(op string, a, b *big.Rat) (*big.Rat, error) {
	switch op {
	case "+":
		return new(big.Rat).Add(a, b), nil
	case "-":
		return new(big.Rat).Sub(a, b), nil
	case "*", "of":
		return new(big.Rat).Mul(a, b), nil
	case "/":
		return quoRat(a, b)
	case "\\": // 甲除乙: 乙 divided by 甲
		return quoRat(b, a)
	case "%", "mod":
		return modRat(a, b)
	}
	return powRat(a, b)
}

func quoRat(a, b *big.Rat) (*big.Rat, error) {
	if b.Sign() == 0 {
		return nil, badExpr("division by zero: the divisor must not be 0")
	}
	return new(big.Rat).Quo(a, b), nil
}

// modRat is the remainder a - b*floor(a/b), which has the sign of b.
func modRat(a, b *big.Rat) (*big.Rat, error) {
	q, err := quoRat(a, b)
	if err != nil {
		return nil, err
	}
	fl := new(big.Int).Div(q.Num(), q.Denom()) // Euclidean: floors for a positive denominator
	return new(big.Rat).Sub(a, new(big.Rat).Mul(b, new(big.Rat).SetInt(fl))), nil
}

// powRat raises a to b exactly when b is a whole number and the result
// stays small, and in floating point otherwise.
func powRat(a, b *big.Rat) (*big.Rat, error) {
	if b.IsInt() && b.Num().IsInt64() {
		e := b.Num().Int64()
		if a.Sign() == 0 && e < 0 {
			return nil, badExpr("division by zero: 0 has no negative power")
		}
		bits := int64(max(a.Num().BitLen(), a.Denom().BitLen()))
		if e == 0 || bits*absInt64(e) <= maxPowerBits {
			num := new(big.Int).Exp(a.Num(), big.NewInt(absInt64(e)), nil)
			den := new(big.Int).Exp(a.Denom(), big.NewInt(absInt64(e)), nil)
			if e < 0 {
				num, den = den, num
			}
			return new(big.Rat).SetFrac(num, den), nil
		}
	}
	x, _ := a.Float64()
	y, _ := b.Float64()
	return floatRat(math.Pow(x, y))
}

func absInt64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// sqrtRat is exact for squares of rationals and floating point otherwise.
func sqrtRat(v *big.Rat) (*big.Rat, error) {
	if v.Sign() < 0 {
		return nil, badExpr("the square root of a negative number is not a real number")
	}
	n, d := new(big.Int).Sqrt(v.Num()), new(big.Int).Sqrt(v.Denom())
	if new(big.Int).Mul(n, n).Cmp(v.Num()) == 0 && new(big.Int).Mul(d, d).Cmp(v.Denom()) == 0 {
		return new(big.Rat).SetFrac(n, d), nil
	}
	f, _ := v.Float64()
	return floatRat(math.Sqrt(f))
}

func floatRat(f float64) (*big.Rat, error) {
	if math.IsNaN(f) {
		return nil, badExpr("the result is not a real number")
	}
	if math.IsInf(f, 0) {
		return nil, badExpr("the result is too large to compute")
	}
	return new(big.Rat).SetFloat64(f), nil
}
