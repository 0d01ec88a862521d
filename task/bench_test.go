package task

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkValidate validates a 16-subtask plan: 8 parallel steps, each
// followed by a step that refers to it.
func BenchmarkValidate(b *testing.B) {
	var p Plan
	for i := 1; i <= 8; i++ {
		id := "t" + strconv.Itoa(i)
		p.Tasks = append(p.Tasks, Subtask{ID: id, Capability: "summarize", Input: "some text to work on", Deps: []string{}},
			Subtask{ID: id + "b", Capability: "translate", Input: "{{" + id + "}}", Args: map[string]string{"target_lang": "fr"}, Deps: []string{id}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Validate(DefaultLimits, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSubstitute(b *testing.B) {
	outputs := map[string]string{"t1": "the summary", "t2": "the keywords"}
	b.ReportAllocs()
	for b.Loop() {
		_ = Substitute("Combine {{t1}} with {{t2}}.", outputs)
	}
}

// BenchmarkCheckJSONDepth measures the nesting check on documents of the
// hot paths, a chat body and a Work, and the scan it falls back on; they
// must not allocate. executors and
// adapters/httpapi compare it with gjson's validation, which it precedes.
func BenchmarkCheckJSONDepth(b *testing.B) {
	text := strings.Repeat("NATS is a simple, secure and \"high performance\" messaging system. 它连接云和边缘设备。\n", 8)
	chat := []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` + text +
		`"},{"role":"assistant","content":"Noted."},{"role":"user","content":"Summarize it."}],"temperature":0.2,"stream":true}`)
	work, _ := json.Marshal(Work{RequestID: "req_1", SubtaskID: "t2", Attempt: 1, Model: "local/summarize", Capability: "summarize",
		Input: strings.ReplaceAll(text, `\`, ""), Args: map[string]string{"sentences": "2"}, Context: []Message{{Role: "user", Content: "hi"}}})
	for _, c := range []struct {
		name string
		doc  []byte
	}{{"chat", chat}, {"work", work}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.doc)))
			b.ReportAllocs()
			for b.Loop() {
				if err := CheckJSONDepth(c.doc, MaxJSONDepth); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The scan that documents with more than MaxJSONDepth brackets get.
		b.Run(c.name+"/scan", func(b *testing.B) {
			b.SetBytes(int64(len(c.doc)))
			b.ReportAllocs()
			for b.Loop() {
				d := JSONDepth{Max: MaxJSONDepth}
				if _, err := d.Write(c.doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
