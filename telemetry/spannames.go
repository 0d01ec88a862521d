package telemetry

import (
	"sync"
	"sync/atomic"
)

// maxSpanNames bounds a SpanNames cache: capabilities are a deployment's
// few, and names past the bound are built each time rather than kept.
const maxSpanNames = 1024

// SpanNames makes span names of a prefix and a capability ("subtask
// summarize") once per capability instead of once per span: spans are
// started on every dispatch and the capabilities come back. It is safe
// for concurrent use.
type SpanNames struct {
	prefix string
	names  sync.Map // capability → name
	n      atomic.Int32
}

// NewSpanNames returns names that start with prefix.
func NewSpanNames(prefix string) *SpanNames { return &SpanNames{prefix: prefix} }

// Of returns prefix + capability.
func (s *SpanNames) Of(capability string) string {
	if name, ok := s.names.Load(capability); ok {
		return name.(string)
	}
	name := s.prefix + capability
	if s.n.Load() < maxSpanNames {
		if _, loaded := s.names.LoadOrStore(capability, name); !loaded {
			s.n.Add(1)
		}
	}
	return name
}
