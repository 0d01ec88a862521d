package memory

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Embedder turns texts into vectors, one per text, all from one model,
// which it names: vectors of different models are never compared.
type Embedder interface {
	Embed(ctx context.Context, texts []string) (vecs [][]float32, model string, err error)
}

// ErrNoEmbedder is what an Embedder returns when no model can embed
// now; recall is then by terms alone, quietly.
var ErrNoEmbedder = errors.New("no model with capability embed is available")

// embedTimeout bounds one embedding call on a request's path: recall by
// terms is better than a request held up by a slow embedding model.
const embedTimeout = 3 * time.Second

// WithEmbedder returns a Memory that also recalls turns by meaning:
// turns recorded through it are indexed with their vectors, and a lookup
// ranks by terms (BM25) and by cosine similarity to the input's vector,
// fused. It shares m's store and caches.
func (m *Memory) WithEmbedder(e Embedder) *Memory {
	c := *m
	c.embed = e
	return &c
}

// embedTexts returns texts' vectors, or nil when there is no embedder or
// it failed; recall then goes by terms.
func (m *Memory) embedTexts(ctx context.Context, texts []string) ([][]float32, string) {
	if m.embed == nil || len(texts) == 0 {
		return nil, ""
	}
	ctx, cancel := context.WithTimeout(ctx, embedTimeout)
	defer cancel()
	vecs, model, err := m.embed.Embed(ctx, texts)
	if err != nil || len(vecs) != len(texts) {
		if err != nil && !errors.Is(err, ErrNoEmbedder) && m.cfg.OnEmbedError != nil {
			m.cfg.OnEmbedError(err)
		}
		return nil, ""
	}
	return vecs, model
}

// unit is v scaled to length 1, so that cosine similarity is a dot
// product; nil for the zero vector.
func unit(v []float32) []float32 {
	norm := 0.0
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	if norm == 0 {
		return nil
	}
	norm = math.Sqrt(norm)
	u := make([]float32, len(v))
	for i, x := range v {
		u[i] = float32(float64(x) / norm)
	}
	return u
}

// encodeVector is v's unit vector as base64 of little-endian float32s,
// OpenAI's own compact encoding; empty for the zero vector.
func encodeVector(v []float32) string {
	u := unit(v)
	if u == nil {
		return ""
	}
	b := make([]byte, 4*len(u))
	for i, x := range u {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// decodeVector reads what encodeVector wrote; nil when it is not that.
func decodeVector(s string) []float32 {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || len(b)%4 != 0 {
		return nil
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func dot(a, b []float32) float64 {
	s := float32(0)
	for i := range a {
		s += a[i] * b[i]
	}
	return float64(s)
}

// minSimilarity is the least cosine similarity a turn needs to be
// recalled by meaning alone.
const minSimilarity = 0.3

// nearest returns the k docs most similar to q (a unit vector of model),
// best first, among those keep accepts.
func nearest(q []float32, model string, segs []*segIndex, k int, keep func(*doc) bool) []*doc {
	var best topK
	best.k = k
	for _, s := range segs {
		for j, v := range s.vecs {
			d := &s.docs[j]
			if len(v) != len(q) || d.VecModel != model {
				continue
			}
			if sim := dot(q, v); sim >= minSimilarity && best.beats(sim) && keep(d) {
				best.add(d, sim)
			}
		}
	}
	return best.docs()
}

// rrfK is reciprocal rank fusion's constant, the usual 60.
const rrfK = 60

// fuse merges rankings by reciprocal rank fusion: a doc's score is the
// sum over the rankings of 1/(rrfK + its rank), so a turn found by both
// terms and meaning comes first, and one found by either still counts.
func fuse(k int, rankings ...[]*doc) []*doc {
	score := map[*doc]float64{}
	var order []*doc
	for _, r := range rankings {
		for i, d := range r {
			if _, ok := score[d]; !ok {
				order = append(order, d)
			}
			score[d] += 1 / float64(rrfK+i+1)
		}
	}
	var best topK
	best.k = k
	for _, d := range order {
		if best.beats(score[d]) {
			best.add(d, score[d])
		}
	}
	return best.docs()
}
