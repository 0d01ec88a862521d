package task

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

// Every error code has its own status: a new code without one would go
// out as a 500 on NATS services' error headers.
func TestEveryCodeHasAStatus(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
			return true
		}
		lit, _ := vs.Values[0].(*ast.BasicLit)
		code, _ := strconv.Unquote(lit.Value)
		n++
		if _, ok := statusOf[Code(code)]; !ok {
			t.Errorf("code %s has no status", code)
		}
		return true
	})
	if n < 10 {
		t.Fatalf("found only %d codes in errors.go", n)
	}
}
