package localmodel

import (
	"context"
	"math"
)

// PageRank settings: the damping factor of Brin and Page, and when to stop.
const (
	damping       = 0.85
	rankTolerance = 1e-6
	rankMaxIter   = 100
)

// A graph is a weighted undirected graph as adjacency lists.
type graph [][]edge

type edge struct {
	to     int
	weight float64
}

// link adds an undirected edge, or adds weight to an existing one.
func (g graph) link(a, b int, w float64) {
	for i := range g[a] {
		if g[a][i].to == b {
			g[a][i].weight += w
			for j := range g[b] {
				if g[b][j].to == a {
					g[b][j].weight += w
				}
			}
			return
		}
	}
	g[a] = append(g[a], edge{b, w})
	g[b] = append(g[b], edge{a, w})
}

// pageRank scores the vertices of g by weighted PageRank (the ranking step
// of TextRank): a vertex ranks high when it is strongly linked to vertices
// that rank high. A walker that jumps lands on vertex v with probability
// prior[v] (personalised PageRank), or uniformly when prior is nil. It
// checks ctx between iterations.
func pageRank(ctx context.Context, g graph, prior []float64) ([]float64, error) {
	n := len(g)
	out := make([]float64, n)
	strength := make([]float64, n)
	for v, edges := range g {
		out[v] = 1 / float64(n)
		for _, e := range edges {
			strength[v] += e.weight
		}
	}
	next := make([]float64, n)
	for iter := 0; iter < rankMaxIter; iter++ {
		if err := stopped(ctx, "ranking"); err != nil {
			return nil, err
		}
		delta := 0.0
		for v, edges := range g {
			sum := 0.0
			for _, e := range edges {
				sum += e.weight / strength[e.to] * out[e.to]
			}
			jump := 1 / float64(n)
			if prior != nil {
				jump = prior[v]
			}
			next[v] = (1-damping)*jump + damping*sum
			delta += math.Abs(next[v] - out[v])
		}
		out, next = next, out
		if delta < rankTolerance {
			break
		}
	}
	return out, nil
}
