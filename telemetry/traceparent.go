package telemetry

import (
	"context"
	"encoding/hex"

	"go.opentelemetry.io/otel/trace"
)

// traceparentLen is the length of a version 00 traceparent:
// 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>.
const traceparentLen = 55

// Traceparent returns the W3C traceparent of the span in ctx, sampled or
// not (so that a downstream parent-based sampler follows the decision),
// or "" when ctx has no valid span.
func Traceparent(ctx context.Context) string {
	return FormatTraceparent(trace.SpanContextFromContext(ctx))
}

// FormatTraceparent writes sc as a version 00 traceparent, or "" when sc
// is not valid.
func FormatTraceparent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	var b [traceparentLen]byte
	tid, sid := sc.TraceID(), sc.SpanID()
	b[0], b[1], b[2] = '0', '0', '-'
	hex.Encode(b[3:35], tid[:])
	b[35] = '-'
	hex.Encode(b[36:52], sid[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{byte(sc.TraceFlags())})
	return string(b[:])
}

// ParseTraceparent reads a W3C traceparent (Trace Context level 1): a
// remote span context, or false when s is not a valid one. A version
// other than 00 is read as 00 when it starts the same way, as the
// specification asks of parsers; version ff, ids of zeros, and upper-case
// hex are invalid.
func ParseTraceparent(s string) (trace.SpanContext, bool) {
	if len(s) < traceparentLen || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return trace.SpanContext{}, false
	}
	version, ok := hexByte(s[0:2])
	if !ok || version == 0xff || version == 0 && len(s) != traceparentLen ||
		version != 0 && len(s) > traceparentLen && s[traceparentLen] != '-' {
		return trace.SpanContext{}, false
	}
	var tid trace.TraceID
	var sid trace.SpanID
	if !lowerHex(s[3:35]) || !lowerHex(s[36:52]) {
		return trace.SpanContext{}, false
	}
	_, _ = hex.Decode(tid[:], []byte(s[3:35]))
	_, _ = hex.Decode(sid[:], []byte(s[36:52]))
	flags, ok := hexByte(s[53:55])
	if !ok {
		return trace.SpanContext{}, false
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid,
		TraceFlags: trace.TraceFlags(flags) & trace.FlagsSampled, Remote: true})
	return sc, sc.IsValid()
}

// ContextWithTraceparent returns ctx with the remote span context of a
// traceparent as the parent of the spans started from it; ctx itself when
// s is empty or invalid (a bad header starts a new trace, it fails
// nothing).
func ContextWithTraceparent(ctx context.Context, s string) context.Context {
	if s == "" {
		return ctx
	}
	sc, ok := ParseTraceparent(s)
	if !ok {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

func hexByte(s string) (byte, bool) {
	if !lowerHex(s) {
		return 0, false
	}
	var b [1]byte
	_, _ = hex.Decode(b[:], []byte(s))
	return b[0], true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
