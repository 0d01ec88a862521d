package webhook

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The published Standard Webhooks test vector (the spec's reference
// libraries all check it).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vector(t testing.TB) Secret {
	t.Helper()
	s, err := ParseSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignMatchesPublishedVector(t *testing.T) {
	got := vector(t).Sign(vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if got != vectorSignature {
		t.Fatalf("Sign = %s, want %s", got, vectorSignature)
	}
	noPrefix, err := ParseSecret(strings.TrimPrefix(vectorSecret, SecretPrefix))
	if err != nil || noPrefix.Sign(vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload)) != vectorSignature {
		t.Fatalf("a secret without the whsec_ prefix signs differently (err %v)", err)
	}
}

func headers(id, ts, sig string) http.Header {
	h := http.Header{}
	for k, v := range map[string]string{HeaderID: id, HeaderTimestamp: ts, HeaderSignature: sig} {
		if v != "" {
			h.Set(k, v)
		}
	}
	return h
}

func TestVerify(t *testing.T) {
	s := vector(t)
	at := time.Unix(vectorTimestamp, 0)
	ts := strconv.Itoa(vectorTimestamp)
	other, _ := ParseSecret("whsec_" + strings.Repeat("QUJD", 8))
	wrong := "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
	cases := []struct {
		name    string
		h       http.Header
		body    string
		now     time.Time
		secrets []Secret
		want    error
	}{
		{"published vector", headers(vectorID, ts, vectorSignature), vectorPayload, at, nil, nil},
		{"within tolerance after", headers(vectorID, ts, vectorSignature), vectorPayload, at.Add(4 * time.Minute), nil, nil},
		{"within tolerance before", headers(vectorID, ts, vectorSignature), vectorPayload, at.Add(-4 * time.Minute), nil, nil},
		{"several signatures, one valid", headers(vectorID, ts, wrong+" v1a,"+wrong[3:]+" "+vectorSignature), vectorPayload, at, nil, nil},
		{"rotated secrets", headers(vectorID, ts, vectorSignature), vectorPayload, at, []Secret{other, s}, nil},
		{"tampered body", headers(vectorID, ts, vectorSignature), `{"test": 2432232315}`, at, nil, ErrNoMatch},
		{"other id", headers("msg_other", ts, vectorSignature), vectorPayload, at, nil, ErrNoMatch},
		{"other timestamp", headers(vectorID, strconv.Itoa(vectorTimestamp+1), vectorSignature), vectorPayload, at, nil, ErrNoMatch},
		{"wrong secret", headers(vectorID, ts, vectorSignature), vectorPayload, at, []Secret{other}, ErrNoMatch},
		{"only v1a", headers(vectorID, ts, "v1a"+vectorSignature[2:]), vectorPayload, at, nil, ErrNoMatch},
		{"too old", headers(vectorID, ts, vectorSignature), vectorPayload, at.Add(5*time.Minute + time.Second), nil, ErrTooOld},
		{"too new", headers(vectorID, ts, vectorSignature), vectorPayload, at.Add(-5*time.Minute - time.Second), nil, ErrTooNew},
		{"missing id", headers("", ts, vectorSignature), vectorPayload, at, nil, ErrMissingHeaders},
		{"missing timestamp", headers(vectorID, "", vectorSignature), vectorPayload, at, nil, ErrMissingHeaders},
		{"missing signature", headers(vectorID, ts, ""), vectorPayload, at, nil, ErrMissingHeaders},
		{"timestamp not a number", headers(vectorID, "16142653x0", vectorSignature), vectorPayload, at, nil, ErrBadTimestamp},
		{"timestamp with sign", headers(vectorID, "+"+ts, vectorSignature), vectorPayload, at, nil, ErrBadTimestamp},
		{"id with a dot", headers("msg.1", ts, vectorSignature), vectorPayload, at, nil, ErrBadID},
		{"garbage signature", headers(vectorID, ts, "v1,!!!"), vectorPayload, at, nil, ErrNoMatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			secrets := c.secrets
			if secrets == nil {
				secrets = []Secret{s}
			}
			msg, err := Verifier{Secrets: secrets}.Verify(c.h, []byte(c.body), c.now)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			if err == nil && (msg.ID != c.h.Get(HeaderID) || !msg.Timestamp.Equal(at)) {
				t.Fatalf("message = %+v", msg)
			}
		})
	}
}

func TestSetHeadersRoundTrip(t *testing.T) {
	s := vector(t)
	h := http.Header{}
	now := time.Now()
	s.SetHeaders(h, "job_1", now, []byte("body"))
	if _, err := (Verifier{Secrets: []Secret{s}}).Verify(h, []byte("body"), now); err != nil {
		t.Fatal(err)
	}
}

func TestParseSecret(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{vectorSecret, true},
		{"whsec_" + strings.Repeat("A", 86) + "==", true}, // 64 bytes
		{"whsec_c2hvcnQ=", false},                         // 5 bytes
		{"whsec_not base64", false},
		{"", false},
	}
	for _, c := range cases {
		s, err := ParseSecret(c.in)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrBadSecret)) {
			t.Errorf("ParseSecret(%q) = %v, want ok=%v", c.in, err, c.ok)
		}
		if err == nil && strings.Contains(s.String()+s.GoString(), c.in[6:]) {
			t.Errorf("String shows the key")
		}
	}
}

func TestParseSignaturesBounds(t *testing.T) {
	h := strings.Repeat(vectorSignature+" ", 100)
	if n := len(ParseSignatures(h)); n != MaxSignatures {
		t.Fatalf("parsed %d signatures, want the cap %d", n, MaxSignatures)
	}
	got := ParseSignatures(" v1,AAAA  bad v2, ,x v1a,AAAA ")
	if len(got) != 2 || got[0].Version != "v1" || got[1].Version != "v1a" {
		t.Fatalf("ParseSignatures = %+v", got)
	}
}

func FuzzParseSignatures(f *testing.F) {
	f.Add(vectorSignature)
	f.Add("v1,AAAA v1a,BBBB ,, v2")
	f.Fuzz(func(t *testing.T, header string) {
		sigs := ParseSignatures(header)
		if len(sigs) > MaxSignatures {
			t.Fatalf("%d signatures", len(sigs))
		}
		for _, s := range sigs {
			if s.Version == "" || len(s.Value) == 0 || strings.ContainsAny(s.Version, " ,") {
				t.Fatalf("bad entry %+v", s)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add(vectorID, strconv.Itoa(vectorTimestamp), vectorSignature, []byte(vectorPayload))
	f.Add("", "-1", "v1,", []byte{})
	s := vector(f)
	v := Verifier{Secrets: []Secret{s}}
	now := time.Unix(vectorTimestamp, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		msg, err := v.Verify(headers(id, ts, sig), body, now)
		if err != nil {
			return
		}
		// Anything accepted must carry the signature of exactly this message.
		want := s.mac(msg.ID, msg.Timestamp.Unix(), body)
		for _, p := range ParseSignatures(sig) {
			if p.Version == "v1" && bytes.Equal(p.Value, want) {
				return
			}
		}
		t.Fatalf("accepted %q for id %q ts %q without its signature", sig, id, ts)
	})
}
