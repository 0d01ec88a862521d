package memory

import (
	"context"
	"strconv"
	"testing"

	"github.com/taskrouter/taskrouter/localmodel"
)

// BenchmarkOpenLongConversation is the lookup a request in a
// conversation of 2,000 turns pays: its record, recent turns, summary
// and a recall over the scope's index, from a warm cache of sealed
// segments.
func BenchmarkOpenLongConversation(b *testing.B) {
	for name, bucket := range buckets(b, 0) {
		b.Run(name, func(b *testing.B) {
			m, err := New(Config{Bucket: bucket})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			k := Key{Owner: "k", Conversation: "long-" + strconv.Itoa(b.N)} // b.Run runs this more than once
			for i := range 1000 {
				s, err := m.Open(ctx, k, "")
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Record(ctx, s, []Turn{{Role: "user", Content: "Note " + strconv.Itoa(i) + ": the shipment of crates arrived at dock " + strconv.Itoa(i%17) + "."},
					{Role: "assistant", Content: "Noted, dock " + strconv.Itoa(i%17) + "."}}); err != nil {
					b.Fatal(err)
				}
			}
			// A router folds what falls out of the recent window into the
			// summary, so a lookup reads the recent turns only.
			s, err := m.Open(ctx, k, "")
			if err != nil {
				b.Fatal(err)
			}
			if err := m.Fold(ctx, s, s.meta.Next-20, "Crates arrive at docks.", "local/summarize"); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := m.Open(ctx, k, "Which dock took the crates?"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRank is BM25 over 2,000 indexed turns.
func BenchmarkRank(b *testing.B) {
	var segs []segment
	for i := range 2000 / segmentDocs {
		s := segment{n: i}
		for j := range segmentDocs {
			n := i*segmentDocs + j
			s.docs = append(s.docs, newDoc("c", "conv", Turn{Seq: int64(n + 1), Role: "user",
				Content: "Note " + strconv.Itoa(n) + ": the shipment of crates arrived at dock " + strconv.Itoa(n%17) + "."}))
		}
		segs = append(segs, s)
	}
	docs := indexOf(segs)
	query := localmodel.IndexTerms("Which dock took the crates?")
	b.ResetTimer()
	for range b.N {
		rank(query, docs, 5, func(*doc) bool { return true })
	}
}
