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
func (e *encoder) encode(spans []sdktrace.ReadOnlySpan) []byte {
	e.buf = e.buf[:0]
	e.group(spans)
	for r, g := range e.resources {
		m := e.begin(requestResourceSpans)
		if g.res != nil {
			rm := e.begin(resourceSpansResource)
			for it := g.res.Iter(); it.Next(); {
				e.keyValue(resourceAttributes, it.Attribute())
			}
			e.end(rm)
		}
		for s := range e.scopes {
			if e.scopes[s].resource == r {
				e.scopeSpans(s, spans)
			}
		}
		e.str(resourceSpansSchemaURL, g.res.SchemaURL())
		e.end(m)
	}
	if len(e.resources) == 0 {
		return nil
	}
	return e.buf
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

func (e *encoder) scopeSpans(s int, spans []sdktrace.ReadOnlySpan) {
	m := e.begin(resourceSpansScopeSpans)
	scope := e.scopes[s].scope
	// The official transform leaves out the zero scope, and the scope's
	// schema URL goes beside it, not in it.
	if scope != (instrumentation.Scope{}) {
		sm := e.begin(scopeSpansScope)
		e.str(scopeName, scope.Name)
		e.str(scopeVersion, scope.Version)
		for it := scope.Attributes.Iter(); it.Next(); {
			e.keyValue(scopeAttributes, it.Attribute())
		}
		e.end(sm)
	}
	for i, of := range e.of {
		if of == s {
			e.span(spans[i])
		}
	}
	e.str(scopeSpansSchemaURL, scope.SchemaURL)
	e.end(m)
}

func (e *encoder) span(sd sdktrace.ReadOnlySpan) {
	m := e.begin(scopeSpansSpans)
	sc, parent := sd.SpanContext(), sd.Parent()
	tid, sid := sc.TraceID(), sc.SpanID()
	e.bytes(spanTraceID, tid[:])
	e.bytes(spanSpanID, sid[:])
	e.str(spanTraceState, sc.TraceState().String())
	if psid := parent.SpanID(); psid.IsValid() {
		e.bytes(spanParentSpanID, psid[:])
	}
	e.fixed32(spanFlags, flags(sc.TraceFlags(), parent))
	e.str(spanName, sd.Name())
	e.uint(spanKind, kind(sd.SpanKind()))
	e.fixed64(spanStart, unixNano(sd.StartTime()))
	e.fixed64(spanEnd, unixNano(sd.EndTime()))
	e.keyValues(spanAttributes, sd.Attributes())
	e.uint(spanDroppedAttributes, clamp(sd.DroppedAttributes()))
	for _, ev := range sd.Events() {
		em := e.begin(spanEvents)
		e.fixed64(eventTime, unixNano(ev.Time))
		e.str(eventName, ev.Name)
		e.keyValues(eventAttributes, ev.Attributes)
		e.uint(eventDroppedAttributes, clamp(ev.DroppedAttributeCount))
		e.end(em)
	}
	e.uint(spanDroppedEvents, clamp(sd.DroppedEvents()))
	for _, l := range sd.Links() {
		e.link(l)
	}
	e.uint(spanDroppedLinks, clamp(sd.DroppedLinks()))
	// The official transform always sends a status, even an unset one.
	status := sd.Status()
	st := e.begin(spanStatus)
	e.str(statusMessage, status.Description)
	e.uint(statusCode, statusCodeOf(status.Code))
	e.end(st)
	e.end(m)
}

// link writes a span link. Unlike the official Go transform it sends the
// linked context's trace state, which OTLP has a field for and the Java
// and JavaScript exporters fill.
func (e *encoder) link(l sdktrace.Link) {
	m := e.begin(spanLinks)
	tid, sid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
	e.bytes(linkTraceID, tid[:])
	e.bytes(linkSpanID, sid[:])
	e.str(linkTraceState, l.SpanContext.TraceState().String())
	e.keyValues(linkAttributes, l.Attributes)
	e.uint(linkDroppedAttributes, clamp(l.DroppedAttributeCount))
	e.fixed32(linkFlags, flags(l.SpanContext.TraceFlags(), l.SpanContext))
	e.end(m)
}

func (e *encoder) keyValues(num protowire.Number, kvs []attribute.KeyValue) {
	for _, kv := range kvs {
		e.keyValue(num, kv)
	}
}

func (e *encoder) keyValue(num protowire.Number, kv attribute.KeyValue) {
	m := e.begin(num)
	e.str(keyValueKey, string(kv.Key))
	vm := e.begin(keyValueValue)
	e.value(kv.Value)
	e.end(vm)
	e.end(m)
}

// value writes an AnyValue's fields. Its oneof members are written even
// when zero, as proto.Marshal does, so that false, 0 and "" stay set.
func (e *encoder) value(v attribute.Value) {
	switch v.Type() {
	case attribute.EMPTY:
	case attribute.BOOL:
		e.tag(anyBool, protowire.VarintType)
		e.buf = protowire.AppendVarint(e.buf, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		e.tag(anyInt, protowire.VarintType)
		e.buf = protowire.AppendVarint(e.buf, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		e.tag(anyDouble, protowire.Fixed64Type)
		e.buf = protowire.AppendFixed64(e.buf, math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		e.strAlways(anyString, v.AsString())
	case attribute.BYTESLICE:
		e.tag(anyBytes, protowire.BytesType)
		e.buf = protowire.AppendBytes(e.buf, v.AsByteSlice())
	case attribute.BOOLSLICE:
		array(e, v.AsBoolSlice(), attribute.BoolValue)
	case attribute.INT64SLICE:
		array(e, v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		array(e, v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		array(e, v.AsStringSlice(), attribute.StringValue)
	case attribute.SLICE:
		array(e, v.AsSlice(), func(v attribute.Value) attribute.Value { return v })
	case attribute.MAP:
		m := e.begin(anyKeyValueList)
		e.keyValues(keyValueListValues, v.AsMap())
		e.end(m)
	default:
		e.strAlways(anyString, "INVALID")
	}
}

// array writes an ArrayValue of vals, each made an attribute.Value.
func array[T any](e *encoder, vals []T, value func(T) attribute.Value) {
	m := e.begin(anyArray)
	for _, v := range vals {
		vm := e.begin(arrayValues)
		e.value(value(v))
		e.end(vm)
	}
	e.end(m)
}

// begin starts a length-delimited field whose length is not known yet. It
// reserves one byte for the length, which is enough for most attributes;
// end widens it when the message is longer.
func (e *encoder) begin(num protowire.Number) int {
	e.tag(num, protowire.BytesType)
	e.buf = append(e.buf, 0)
	return len(e.buf)
}

// end writes the length of the message begun at start, moving the message
// up when its length takes more than the byte reserved: a copy of what is
// mostly a span, cheaper than measuring every message before writing it.
func (e *encoder) end(start int) {
	n := len(e.buf) - start
	if n < 0x80 {
		e.buf[start-1] = byte(n)
		return
	}
	w := protowire.SizeVarint(uint64(n))
	e.buf = append(e.buf, make([]byte, w-1)...)
	copy(e.buf[start+w-1:], e.buf[start:start+n])
	protowire.AppendVarint(e.buf[:start-1], uint64(n))
}

func (e *encoder) tag(num protowire.Number, typ protowire.Type) {
	e.buf = protowire.AppendTag(e.buf, num, typ)
}

// The scalar writers leave zero values out, as proto3 does.

func (e *encoder) str(num protowire.Number, s string) {
	if s != "" {
		e.strAlways(num, s)
	}
}

// strAlways writes s even when empty. Protobuf strings must be UTF-8:
// proto.Marshal would fail the whole batch, and receivers reject it, over
// one bad byte in, say, a request id, so bad bytes become U+FFFD instead.
func (e *encoder) strAlways(num protowire.Number, s string) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	e.tag(num, protowire.BytesType)
	e.buf = protowire.AppendString(e.buf, s)
}

func (e *encoder) bytes(num protowire.Number, b []byte) {
	e.tag(num, protowire.BytesType)
	e.buf = protowire.AppendBytes(e.buf, b)
}

func (e *encoder) uint(num protowire.Number, v uint32) {
	if v != 0 {
		e.tag(num, protowire.VarintType)
		e.buf = protowire.AppendVarint(e.buf, uint64(v))
	}
}

func (e *encoder) fixed32(num protowire.Number, v uint32) {
	if v != 0 {
		e.tag(num, protowire.Fixed32Type)
		e.buf = protowire.AppendFixed32(e.buf, v)
	}
}

func (e *encoder) fixed64(num protowire.Number, v uint64) {
	if v != 0 {
		e.tag(num, protowire.Fixed64Type)
		e.buf = protowire.AppendFixed64(e.buf, v)
	}
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
