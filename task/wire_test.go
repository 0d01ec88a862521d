package task

import (
	"regexp"
	"strings"
	"testing"
)

var tokenRe = regexp.MustCompile(`^[A-Za-z0-9_~\-]+$`)

func FuzzEscapeToken(f *testing.F) {
	for _, s := range []string{"local/summarize", "gpt-4o", "", "a.b>c*", "模型", "~41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		tok := EscapeToken(name)
		if !tokenRe.MatchString(tok) {
			t.Fatalf("EscapeToken(%q) = %q is not one subject token", name, tok)
		}
		if back := UnescapeToken(tok); back != name {
			t.Fatalf("UnescapeToken(EscapeToken(%q)) = %q", name, back)
		}
	})
}

func TestModelSubject(t *testing.T) {
	if got := ModelSubject("local/summarize"); got != "tr.v1.model.local~2Fsummarize" {
		t.Fatalf("ModelSubject = %q", got)
	}
}

func TestEstimateTokens(t *testing.T) {
	if got := EstimateTokens(strings.Repeat("word ", 100)); got != 100 {
		t.Fatalf("English estimate = %d, want 100", got)
	}
	if got := EstimateTokens("请总结这段文字"); got != 8 {
		t.Fatalf("Chinese estimate = %d, want 8", got)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"input":"hello"}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":"hi"}],"policy":"cost"}`))
	f.Add([]byte(`{"input":"x","planner":"magic"}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":"","tool_calls":[]},{"role":"tool","tool_call_id":"c","content":"1"}],"tools":{"functions":[{"type":"function","function":{"name":"f"}}],"choice":"auto"}}`))
	f.Add([]byte(`{"input":"x","sampling":{"temperature":0,"stop":["\n"],"response_format":{"type":"json_schema","json_schema":{"name":"a"}}}}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]}]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`))
	f.Add([]byte(strings.Repeat("[", 300)))
	f.Add([]byte(`{"input":"What size is this image?","attachments":[{"name":"p.png","mime":"image/png","data":"iVBORw=="}]}`))
	f.Add([]byte(`{"input":"x","attachments":[{"artifact":"art_0123456789abcdef0123456789abcdef"},{"data":"AA","artifact":""}]}`))
	f.Add([]byte(`{"input":"x","attachments":[{"name":"a/b","data":"AA=="}]}`))
	f.Add([]byte(`{"input":"x","messages":[{"role":"assistant","content":"","tool_calls":` + strings.Repeat(`{"a":`, 130) + `1` + strings.Repeat("}", 130) + `}]}`))
	f.Add([]byte(`{"input":"x","events_subject":"_INBOX.billing.ev"}`))
	f.Add([]byte(`{"input":"x","events_subject":"tr.v1.cancel.req_1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRequest(data, DefaultLimits)
		if err != nil {
			if e := AsError(err); e.Code != CodeInvalidRequest {
				t.Fatalf("error %v has code %s, want invalid_request", err, e.Code)
			}
			return
		}
		if in, _ := r.Text(); strings.TrimSpace(in) == "" && r.Plan == nil {
			t.Fatalf("a request with no input was accepted: %s", data)
		}
		// Each attachment is data or a valid artifact id, never both.
		for i, a := range r.Attachments {
			if (len(a.Data) > 0) == (a.Artifact != "") || a.Artifact != "" && !ValidArtifactID(a.Artifact) || strings.ContainsAny(a.Name, "/\\") {
				t.Fatalf("attachments[%d] = %+v was accepted", i, a)
			}
		}
		if r.EventsSubject != "" && CheckReplySubject(r.EventsSubject) != nil {
			t.Fatalf("a request with events_subject %q was accepted", r.EventsSubject)
		}
	})
}

// FuzzCheckReplySubject: a subject it accepts is one a router may publish
// to for a caller: no wildcard, no empty token, nothing reserved.
func FuzzCheckReplySubject(f *testing.F) {
	for _, s := range []string{"_INBOX.billing.x", "results.mine", "tr.v1.cancel.req_1", "$KV.taskrouter_jobs.j",
		"_TR_ROUTER.abc.1", "a.*", "a.>", "a..b", ".a", "a b", "$SRV.PING", "tr", "_TR_ROUTER"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckReplySubject(s) != nil {
			return
		}
		for _, tok := range strings.Split(s, ".") {
			if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
				t.Fatalf("accepted %q with token %q", s, tok)
			}
		}
		if strings.HasPrefix(s, "tr.") || strings.HasPrefix(s, "$") || strings.HasPrefix(s, RouterInboxPrefix+".") {
			t.Fatalf("accepted the reserved %q", s)
		}
	})
}

func TestDurableSubjects(t *testing.T) {
	cases := []struct {
		subject  string
		producer string
		ok       bool
	}{
		{"tr.v1.jobs", "", true},
		{"tr.v1.jobs.billing-app", "billing-app", true},
		{"tr.v1.jobs.", "", false},
		{"tr.v1.jobs.a.b", "", false},
		{"tr.v1.jobsx", "", false},
		{"tr.v1.req", "", false},
	}
	for _, c := range cases {
		p, ok := ProducerOf(c.subject)
		if p != c.producer || ok != c.ok {
			t.Errorf("ProducerOf(%q) = %q, %v; want %q, %v", c.subject, p, ok, c.producer, c.ok)
		}
	}
	if got := ResultSubject("billing-app", "order-1"); got != "tr.v1.results.billing-app.order-1" {
		t.Errorf("ResultSubject = %q", got)
	}
	if got := ResultSubject("", "job_1"); got != "tr.v1.results.job_1" {
		t.Errorf("ResultSubject without a producer = %q", got)
	}
}

// A durable request's subject names the producer that JobsSubject was
// given, and nothing else is taken for one.
func FuzzProducerOf(f *testing.F) {
	for _, s := range []string{"tr.v1.jobs", "tr.v1.jobs.billing-app", "tr.v1.jobs.a.b", "tr.v1.jobs.", "tr.v1.req", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		p, ok := ProducerOf(subject)
		if !ok {
			return
		}
		if JobsSubject(p) != subject || strings.Contains(p, ".") {
			t.Fatalf("ProducerOf(%q) = %q, which JobsSubject maps to %q", subject, p, JobsSubject(p))
		}
	})
}
