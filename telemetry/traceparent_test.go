package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestTraceparentRoundTrip(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	sc, ok := ParseTraceparent(tp)
	if !ok || !sc.IsSampled() || !sc.IsRemote() {
		t.Fatalf("ParseTraceparent(%q) = %v, %v", tp, sc, ok)
	}
	if sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || sc.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("ids = %s %s", sc.TraceID(), sc.SpanID())
	}
	if got := FormatTraceparent(sc); got != tp {
		t.Errorf("FormatTraceparent = %q, want %q", got, tp)
	}
	ctx := ContextWithTraceparent(context.Background(), tp)
	if got := Traceparent(ctx); got != tp {
		t.Errorf("Traceparent(ContextWithTraceparent) = %q", got)
	}
}

func TestParseTraceparentRefuses(t *testing.T) {
	for _, s := range []string{
		"",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",          // no flags
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", // version 00 is exactly 55
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",       // version ff is invalid
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",       // zero trace id
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",       // zero span id
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",       // upper case
		"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",       // not hex
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	} {
		if sc, ok := ParseTraceparent(s); ok {
			t.Errorf("ParseTraceparent(%q) = %v, want invalid", s, sc)
		}
		if ctx := ContextWithTraceparent(context.Background(), s); trace.SpanContextFromContext(ctx).IsValid() {
			t.Errorf("ContextWithTraceparent(%q) set a span context", s)
		}
	}
	// A later version with more fields reads as 00.
	if _, ok := ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-comes"); !ok {
		t.Error("a future version with more fields was refused")
	}
}

func FuzzParseTraceparent(f *testing.F) {
	for _, s := range []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "ff-", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, ok := ParseTraceparent(s)
		if !ok {
			return
		}
		if !sc.IsValid() {
			t.Fatalf("%q: ok but invalid span context", s)
		}
		again, ok := ParseTraceparent(FormatTraceparent(sc))
		if !ok || again.TraceID() != sc.TraceID() || again.SpanID() != sc.SpanID() || again.TraceFlags() != sc.TraceFlags() {
			t.Fatalf("%q: round trip gave %v", s, again)
		}
	})
}
