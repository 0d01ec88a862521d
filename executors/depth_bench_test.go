package executors

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

// BenchmarkDepthVsGJSON compares the nesting check with gjson's
// validation, which it precedes on every hot path (chat bodies at the
// HTTP API, work at executors, replies at the router). Both run in
// alternating rounds of the same run, so a busy machine slows both, and
// the ratio is reported as depth/gjson. "tools" holds more than 128
// brackets, so the check follows its strings instead of only counting.
func BenchmarkDepthVsGJSON(b *testing.B) {
	for _, c := range depthBenchDocs() {
		if !gjson.ValidBytes(c.doc) {
			b.Fatalf("%s is not JSON", c.name)
		}
		b.Run(c.name, func(b *testing.B) {
			const round = 100
			var depth, valid time.Duration
			for b.Loop() {
				t0 := time.Now()
				for range round {
					if task.CheckJSONDepth(c.doc, task.MaxWireJSONDepth) != nil {
						b.Fatal("refused")
					}
				}
				t1 := time.Now()
				for range round {
					if !gjson.ValidBytes(c.doc) {
						b.Fatal("invalid")
					}
				}
				depth, valid = depth+t1.Sub(t0), valid+time.Since(t1)
			}
			n := float64(b.N * round)
			b.ReportMetric(float64(depth)/n, "depth-ns/op")
			b.ReportMetric(float64(valid)/n, "gjson-ns/op")
			b.ReportMetric(float64(depth)/float64(valid), "depth/gjson")
		})
	}
}

type benchDoc struct {
	name string
	doc  []byte
}

func depthBenchDocs() []benchDoc {
	text := strings.Repeat("NATS is a simple, secure and \"high performance\" messaging system. 它连接云和边缘设备。\n", 8)
	msgs, _ := json.Marshal([]task.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: text},
		{Role: "assistant", Content: "Noted."}, {Role: "user", Content: "Summarize it."}})
	chat := []byte(`{"model":"gpt-4o","messages":` + string(msgs) + `,"temperature":0.2,"stream":true}`)
	small := []byte(`{"model":"bench/gpt","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello."}]}`)
	w := task.Work{RequestID: "req_1", SubtaskID: "t2", Attempt: 1, Model: "local/summarize", Capability: "summarize",
		Input: text, Args: map[string]string{"sentences": "2"}, Context: []task.Message{{Role: "user", Content: "hi"}},
		Deadline: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	work, _ := json.Marshal(w)
	var fns []string
	for i := range 24 {
		fns = append(fns, `{"type":"function","function":{"name":"f`+strings.Repeat("x", i)+`","description":"Look \"it\" up.",`+
			`"parameters":{"type":"object","properties":{"city":{"type":"string","enum":["a","b"]},"days":{"type":"array","items":{"type":"integer"}}},"required":["city"]}}}`)
	}
	w.Tools = &task.Tools{Functions: json.RawMessage("[" + strings.Join(fns, ",") + "]")}
	tools, _ := json.Marshal(w)
	return []benchDoc{{"chat-1KB", chat}, {"chat-small", small}, {"work-1KB", work}, {"work-tools-6KB", tools}}
}
