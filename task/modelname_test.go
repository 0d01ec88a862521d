package task

import (
	"strings"
	"testing"
)

func TestCheckModelName(t *testing.T) {
	for _, ok := range []string{"gpt-4o-mini", "Qwen/Qwen2.5-7B-Instruct", "llama3.1:8b", "local/calc", "a@b+c_d", strings.Repeat("m", MaxModelNameBytes)} {
		if err := CheckModelName(ok); err != nil {
			t.Errorf("CheckModelName(%q) = %v", ok, err)
		}
	}
	for name, want := range map[string]string{
		"my model": "a space", "m\tx": "a tab", "": "needs a name", "a*b": `'*'`, "a>b": `'>'`, "模型": `'模'`,
		strings.Repeat("m", MaxModelNameBytes+1): "the limit is 128",
	} {
		err := CheckModelName(name)
		if e := AsError(err); e == nil || e.Code != CodeInvalidRequest || !strings.Contains(e.Message, want) {
			t.Errorf("CheckModelName(%q) = %v, want an invalid_request naming %s", name, err, want)
		}
	}
}
