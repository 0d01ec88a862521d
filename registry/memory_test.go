package registry

import "testing"

func newMemoryForTest(t *testing.T, opts ...Option) Registry {
	r := NewMemory(opts...)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	runConformance(t, newMemoryForTest)
}
