package openai

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func FuzzReadEvents(f *testing.F) {
	for _, s := range []string{
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
		"data:{\"choices\":[{\"text\":\"a\",\"finish_reason\":\"stop\"}]}\r\n\r\n",
		": comment\nevent: x\nid: 3\ndata: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n",
		"data: {\"error\":\"flat\"}\n\n",
		"data: [DONE]\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"cut",
		"<html>\n</html>\n",
		"data: " + strings.Repeat("[", 200) + "\n\n",
		"data: {\"choices\":\r[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\n",
	} {
		f.Add([]byte(s))
	}
	m := &Model{idle: time.Minute}
	f.Fuzz(func(t *testing.T, stream []byte) {
		idle := time.NewTimer(time.Hour)
		defer idle.Stop()
		var deltas strings.Builder
		a, err := m.readEvents(bufio.NewReader(bytes.NewReader(stream)), idle, func(raw []byte, delta string) {
			if !json.Valid(raw) {
				t.Fatalf("forwarded a chunk that is not JSON: %q", raw)
			}
			if bytes.ContainsAny(raw, "\r\n") {
				t.Fatalf("forwarded a chunk with a line break: %q", raw)
			}
			deltas.WriteString(delta)
		})
		if err == nil && a.text != deltas.String() {
			t.Fatalf("the answer %q is not its deltas %q", a.text, deltas.String())
		}
	})
}
