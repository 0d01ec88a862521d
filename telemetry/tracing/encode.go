package tracing

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of the messages an ExportTraceServiceRequest holds, from
// opentelemetry/proto/{collector/trace,trace,common,resource}/v1.
const (
	requestResourceSpans protowire.Number = 1

	resourceSpansResource, resourceSpansScopeSpans, resourceSpansSchemaURL protowire.Number = 1, 2, 3
	resourceAttributes                                                     protowire.Number = 1
	scopeSpansScope, scopeSpansSpans, scopeSpansSchemaURL                  protowire.Number = 1, 2, 3
	scopeName, scopeVersion, scopeAttributes                               protowire.Number = 1, 2, 3

	spanTraceID, spanSpanID, spanTraceState, spanParentSpanID  protowire.Number = 1, 2, 3, 4
	spanName, spanKind, spanStart, spanEnd                     protowire.Number = 5, 6, 7, 8
	spanAttributes, spanDroppedAttributes                      protowire.Number = 9, 10
	spanEvents, spanDroppedEvents, spanLinks, spanDroppedLinks protowire.Number = 11, 12, 13, 14
	spanStatus, spanFlags                                      protowire.Number = 15, 16

	eventTime, eventName, eventAttributes, eventDroppedAttributes protowire.Number = 1, 2, 3, 4

	linkTraceID, linkSpanID, linkTraceState, linkAttributes, linkDroppedAttributes, linkFlags protowire.Number = 1, 2, 3, 4, 5, 6

	statusMessage, statusCode protowire.Number = 2, 3

	keyValueKey, keyValueValue            protowire.Number = 1, 2
	anyString, anyBool, anyInt, anyDouble protowire.Number = 1, 2, 3, 4
	anyArray, anyKeyValueList, anyBytes   protowire.Number = 5, 6, 7
	arrayValues, keyValueListValues       protowire.Number = 1, 1

	// The Span.flags bits above the W3C trace flags: whether the parent
	// (or linked span) is known to be remote, and whether it is.
	flagHasIsRemote, flagIsRemote uint32 = 0x100, 0x200
)

// encoder writes []sdktrace.ReadOnlySpan as an OTLP
// ExportTraceServiceRequest straight into buf, with what the official
// exporter's transform would produce, but without building the protobuf
// structs it marshals. An encoder is reused, buf and scratch included,
// and is not safe for concurrent use.
type encoder struct {
	buf []byte
	// resources are the batch's distinct resources, in the order first
	// seen; scopes are each resource's distinct instrumentation scopes,
	// in the same order; of holds each span's index in scopes (-1 for a
	// nil span).
	resources []resourceGroup
	scopes    []scopeGroup
	of        []int
}

type resourceGroup struct {
	key attribute.Distinct
	res *resource.Resource // the first span's: it gives the attributes and schema URL
}

type scopeGroup struct {
	resource int
	scope    instrumentation.Scope
}

// encode returns the request for spans, nil when there is no span. It is
// valid until the next encode.
//
// The writers append to a local slice and return it, as strconv's Append
// functions do: storing into e.buf at every append would cost a GC write
// barrier each time.
func (e *encoder) encode(spans []sdktrace.ReadOnlySpan) []byte {
	e.group(spans)
	if len(e.resources) == 0 {
		return nil
	}
	b := e.buf[:0]
	for r, g := range e.resources {
		var m, rm int
		b, m = begin(b, requestResourceSpans)
		if g.res != nil {
			b, rm = begin(b, resourceSpansResource)
			for it := g.res.Iter(); it.Next(); {
				b = appendKeyValue(b, resourceAttributes, it.Attribute())
			}
			b = end(b, rm)
		}
		for s := range e.scopes {
			if e.scopes[s].resource == r {
				b = e.appendScopeSpans(b, s, spans)
			}
		}
		b = appendStr(b, resourceSpansSchemaURL, g.res.SchemaURL())
		b = end(b, m)
	}
	e.buf = b
	return b
}

// forget drops the last batch's resources and scopes, so that a pooled
// encoder does not keep them alive.
func (e *encoder) forget() {
	clear(e.resources[:cap(e.resources)])
	clear(e.scopes[:cap(e.scopes)])
}

// group sorts the spans by resource, then scope, as OTLP nests them. A
// batch rarely holds more than a resource and a few scopes, so looking
// them up in order beats a map.
func (e *encoder) group(spans []sdktrace.ReadOnlySpan) {
	e.resources, e.scopes, e.of = e.resources[:0], e.scopes[:0], e.of[:0]
	for _, sd := range spans {
		if sd == nil {
			e.of = append(e.of, -1)
			continue
		}
		r := e.resourceOf(sd.Resource())
		e.of = append(e.of, e.scopeOf(r, sd.InstrumentationScope()))
	}
}

func (e *encoder) resourceOf(res *resource.Resource) int {
	key := res.Equivalent()
	for i := range e.resources {
		if e.resources[i].key == key {
			return i
		}
	}
	e.resources = append(e.resources, resourceGroup{key: key, res: res})
	return len(e.resources) - 1
}

func (e *encoder) scopeOf(r int, scope instrumentation.Scope) int {
	for i := len(e.scopes) - 1; i >= 0; i-- {
		if g := &e.scopes[i]; g.resource == r && g.scope == scope {
			return i
		}
	}
	e.scopes = append(e.scopes, scopeGroup{resource: r, scope: scope})
	return len(e.scopes) - 1
}

func (e *encoder) appendScopeSpans(b []byte, s int, spans []sdktrace.ReadOnlySpan) []byte {
	b, m := begin(b, resourceSpansScopeSpans)
	scope := e.scopes[s].scope
	// The official transform leaves out the zero scope, and the scope's
	// schema URL goes beside it, not in it.
	if scope != (instrumentation.Scope{}) {
		var sm int
		b, sm = begin(b, scopeSpansScope)
		b = appendStr(b, scopeName, scope.Name)
		b = appendStr(b, scopeVersion, scope.Version)
		for it := scope.Attributes.Iter(); it.Next(); {
			b = appendKeyValue(b, scopeAttributes, it.Attribute())
		}
		b = end(b, sm)
	}
	for i, of := range e.of {
		if of == s {
			b = appendSpan(b, spans[i])
		}
	}
	b = appendStr(b, scopeSpansSchemaURL, scope.SchemaURL)
	return end(b, m)
}

func appendSpan(b []byte, sd sdktrace.ReadOnlySpan) []byte {
	b, m := begin(b, scopeSpansSpans)
	sc, parent := sd.SpanContext(), sd.Parent()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytes(b, spanTraceID, tid[:])
	b = appendBytes(b, spanSpanID, sid[:])
	b = appendStr(b, spanTraceState, sc.TraceState().String())
	if psid := parent.SpanID(); psid.IsValid() {
		b = appendBytes(b, spanParentSpanID, psid[:])
	}
	b = appendFixed32(b, spanFlags, flags(sc.TraceFlags(), parent))
	b = appendStr(b, spanName, sd.Name())
	b = appendUint(b, spanKind, kind(sd.SpanKind()))
	b = appendFixed64(b, spanStart, unixNano(sd.StartTime()))
	b = appendFixed64(b, spanEnd, unixNano(sd.EndTime()))
	b = appendKeyValues(b, spanAttributes, sd.Attributes())
	b = appendUint(b, spanDroppedAttributes, clamp(sd.DroppedAttributes()))
	for _, ev := range sd.Events() {
		var em int
		b, em = begin(b, spanEvents)
		b = appendFixed64(b, eventTime, unixNano(ev.Time))
		b = appendStr(b, eventName, ev.Name)
		b = appendKeyValues(b, eventAttributes, ev.Attributes)
		b = appendUint(b, eventDroppedAttributes, clamp(ev.DroppedAttributeCount))
		b = end(b, em)
	}
	b = appendUint(b, spanDroppedEvents, clamp(sd.DroppedEvents()))
	for _, l := range sd.Links() {
		b = appendLink(b, l)
	}
	b = appendUint(b, spanDroppedLinks, clamp(sd.DroppedLinks()))
	// The official transform always sends a status, even an unset one.
	status := sd.Status()
	b, st := begin(b, spanStatus)
	b = appendStr(b, statusMessage, status.Description)
	b = appendUint(b, statusCode, statusCodeOf(status.Code))
	b = end(b, st)
	return end(b, m)
}

// appendLink writes a span link. Unlike the official Go transform it
// sends the linked context's trace state, which OTLP has a field for and
// the Java and JavaScript exporters fill.
func appendLink(b []byte, l sdktrace.Link) []byte {
	b, m := begin(b, spanLinks)
	tid, sid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
	b = appendBytes(b, linkTraceID, tid[:])
	b = appendBytes(b, linkSpanID, sid[:])
	b = appendStr(b, linkTraceState, l.SpanContext.TraceState().String())
	b = appendKeyValues(b, linkAttributes, l.Attributes)
	b = appendUint(b, linkDroppedAttributes, clamp(l.DroppedAttributeCount))
	b = appendFixed32(b, linkFlags, flags(l.SpanContext.TraceFlags(), l.SpanContext))
	return end(b, m)
}

func appendKeyValues(b []byte, num protowire.Number, kvs []attribute.KeyValue) []byte {
	for _, kv := range kvs {
		b = appendKeyValue(b, num, kv)
	}
	return b
}

func appendKeyValue(b []byte, num protowire.Number, kv attribute.KeyValue) []byte {
	b, m := begin(b, num)
	b = appendStr(b, keyValueKey, string(kv.Key))
	b, vm := begin(b, keyValueValue)
	b = appendValue(b, kv.Value)
	b = end(b, vm)
	return end(b, m)
}

// appendValue writes an AnyValue's fields. Its oneof members are written
// even when zero, as proto.Marshal does, so that false, 0 and "" stay set.
func appendValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.EMPTY:
		return b
	case attribute.BOOL:
		b = protowire.AppendTag(b, anyBool, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		b = protowire.AppendTag(b, anyInt, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		b = protowire.AppendTag(b, anyDouble, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		return appendStrAlways(b, anyString, v.AsString())
	case attribute.BYTESLICE:
		return appendBytes(b, anyBytes, v.AsByteSlice())
	case attribute.BOOLSLICE:
		return appendArray(b, v.AsBoolSlice(), attribute.BoolValue)
	case attribute.INT64SLICE:
		return appendArray(b, v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		return appendArray(b, v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		return appendArray(b, v.AsStringSlice(), attribute.StringValue)
	case attribute.SLICE:
		return appendArray(b, v.AsSlice(), func(v attribute.Value) attribute.Value { return v })
	case attribute.MAP:
		b, m := begin(b, anyKeyValueList)
		b = appendKeyValues(b, keyValueListValues, v.AsMap())
		return end(b, m)
	}
	return appendStrAlways(b, anyString, "INVALID")
}

// appendArray writes an ArrayValue of vals, each made an attribute.Value.
func appendArray[T any](b []byte, vals []T, value func(T) attribute.Value) []byte {
	b, m := begin(b, anyArray)
	for _, v := range vals {
		var vm int
		b, vm = begin(b, arrayValues)
		b = appendValue(b, value(v))
		b = end(b, vm)
	}
	return end(b, m)
}

// begin starts a length-delimited field whose length is not known yet. It
// reserves one byte for the length, which is enough for most attributes;
// end widens it when the message is longer.
func begin(b []byte, num protowire.Number) ([]byte, int) {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = append(b, 0)
	return b, len(b)
}

// end writes the length of the message begun at start, moving the message
// up when its length takes more than the byte reserved: a copy of what is
// mostly a span, cheaper than measuring every message before writing it.
func end(b []byte, start int) []byte {
	n := len(b) - start
	if n < 0x80 {
		b[start-1] = byte(n)
		return b
	}
	w := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, w-1)...)
	copy(b[start+w-1:], b[start:start+n])
	protowire.AppendVarint(b[:start-1], uint64(n))
	return b
}

// The scalar writers leave zero values out, as proto3 does.

func appendStr(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return appendStrAlways(b, num, s)
}

// appendStrAlways writes s even when empty. Protobuf strings must be
// UTF-8: proto.Marshal would fail the whole batch, and receivers reject
// it, over one bad byte in, say, a request id, so bad bytes become U+FFFD
// instead.
func appendStrAlways(b []byte, num protowire.Number, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendUint(b []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendFixed32(b []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

func appendFixed64(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

// flags are the W3C trace flags and whether the parent (or linked span)
// is remote, which the SDK always knows.
func flags(tf trace.TraceFlags, parent trace.SpanContext) uint32 {
	f := uint32(tf) | flagHasIsRemote
	if parent.IsRemote() {
		f |= flagIsRemote
	}
	return f
}

// kind maps the API's span kinds, numbered as OTLP's from internal (1) to
// consumer (5), and anything else to unspecified.
func kind(k trace.SpanKind) uint32 {
	if k < trace.SpanKindInternal || k > trace.SpanKindConsumer {
		return 0
	}
	return uint32(k)
}

// statusCodeOf maps the API's codes, numbered differently (Error is 1 in
// the API, 2 in OTLP).
func statusCodeOf(c codes.Code) uint32 {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	}
	return 0
}

// unixNano is t in Unix nanoseconds, times before 1970 made 0.
func unixNano(t time.Time) uint64 { return uint64(max(0, t.UnixNano())) }

func clamp(n int) uint32 {
	if n < 0 {
		return 0
	}
	return uint32(min(uint64(n), math.MaxUint32))
}
