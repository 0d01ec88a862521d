// Package otlptest is an OTLP/HTTP trace receiver for tests and the bench:
// it decodes what exporters send with OpenTelemetry's own protobuf types
// and keeps the spans, so a test can look at a trace as a collector would.
package otlptest

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, flattened.
type Span struct {
	Service      string // the resource's service.name
	Name         string
	TraceID      string // hex
	SpanID       string // hex
	ParentSpanID string // hex; empty for a root
	Kind         int32
	StatusCode   int32 // 2 is an error
	Attributes   map[string]string
}

// Receiver collects the spans exported to it. It is safe for concurrent use.
type Receiver struct {
	// URL is where exporters send traces: http://127.0.0.1:port/v1/traces.
	URL string
	// Discard, when true, takes exports without decoding or keeping them,
	// as a collector on another machine costs this one nothing; Exports
	// counts them.
	Discard bool

	srv     *http.Server
	mu      sync.Mutex
	spans   []Span
	count   int
	exports int
}

// Start listens on a random loopback port.
func Start() (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{URL: "http://" + ln.Addr().String() + "/v1/traces"}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.export)
	// How many exports arrived, for a receiver in another process.
	mux.HandleFunc("GET /v1/traces/exports", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(strconv.Itoa(r.Exports())))
	})
	r.srv = &http.Server{Handler: mux}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Close stops the receiver.
func (r *Receiver) Close() error { return r.srv.Close() }

// Spans returns the spans received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Exports returns how many export requests were received.
func (r *Receiver) Exports() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exports
}

// Count returns how many spans were received (none are counted with
// Discard).
func (r *Receiver) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

// ReadBody reads an export's body, gunzipped when it says it is gzip.
func ReadBody(req *http.Request) ([]byte, error) {
	body := io.Reader(req.Body)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			return nil, err
		}
		body = zr
	}
	return io.ReadAll(body)
}

func (r *Receiver) export(w http.ResponseWriter, req *http.Request) {
	data, err := ReadBody(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.exports++
	discard := r.Discard
	r.mu.Unlock()
	if discard {
		w.Header().Set("Content-Type", "application/x-protobuf")
		return
	}
	var msg coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(data, &msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.add(&msg)
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (r *Receiver) add(msg *coltracepb.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range msg.GetResourceSpans() {
		service := attributes(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.count++
				r.spans = append(r.spans, Span{Service: service, Name: s.GetName(),
					TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentSpanID: hex.EncodeToString(s.GetParentSpanId()), Kind: int32(s.GetKind()),
					StatusCode: int32(s.GetStatus().GetCode()), Attributes: attributes(s.GetAttributes())})
			}
		}
	}
}

// attributes flattens attribute values to strings, as a test compares them.
func attributes(kvs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch v.GetValue().(type) {
		case *commonpb.AnyValue_IntValue:
			out[kv.GetKey()] = strconv.FormatInt(v.GetIntValue(), 10)
		case *commonpb.AnyValue_BoolValue:
			out[kv.GetKey()] = strconv.FormatBool(v.GetBoolValue())
		case *commonpb.AnyValue_ArrayValue:
			s := ""
			for i, e := range v.GetArrayValue().GetValues() {
				if i > 0 {
					s += ","
				}
				s += e.GetStringValue()
			}
			out[kv.GetKey()] = s
		default:
			out[kv.GetKey()] = v.GetStringValue()
		}
	}
	return out
}
