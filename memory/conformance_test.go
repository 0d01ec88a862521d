package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Both backends keep records the same way: conditional writes, reads of
// many keys, deletion and expiry.
func TestBucketConformance(t *testing.T) {
	ctx := context.Background()
	for name, b := range buckets(t, 2*time.Second) {
		t.Run(name, func(t *testing.T) {
			if _, _, err := b.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get of a missing key = %v, want ErrNotFound", err)
			}
			r1, err := b.Put(ctx, "a", []byte("1"), 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Put(ctx, "a", []byte("x"), 0); !errors.Is(err, ErrConflict) {
				t.Fatalf("creating an existing key = %v, want ErrConflict", err)
			}
			r2, err := b.Put(ctx, "a", []byte("2"), r1)
			if err != nil || r2 == r1 {
				t.Fatalf("Put on the current revision = %d, %v", r2, err)
			}
			if _, err := b.Put(ctx, "a", []byte("x"), r1); !errors.Is(err, ErrConflict) {
				t.Fatalf("Put on a stale revision = %v, want ErrConflict", err)
			}
			if v, rev, err := b.Get(ctx, "a"); err != nil || string(v) != "2" || rev != r2 {
				t.Fatalf("Get = %q, %d, %v; want 2 at %d", v, rev, err, r2)
			}
			if _, err := b.Put(ctx, "b.c", []byte("3"), 0); err != nil {
				t.Fatal(err)
			}
			vals, revs, err := b.GetMany(ctx, []string{"b.c", "missing", "a"})
			if err != nil || string(vals[0]) != "3" || vals[1] != nil || revs[1] != 0 || string(vals[2]) != "2" || revs[2] != r2 {
				t.Fatalf("GetMany = %q, %v, %v", vals, revs, err)
			}
			if err := b.Delete(ctx, "a", "missing"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := b.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
			}
			if _, err := b.Put(ctx, "a", []byte("again"), 0); err != nil {
				t.Fatalf("creating a deleted key: %v", err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				_, _, err := b.Get(ctx, "b.c")
				if errors.Is(err, ErrNotFound) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("b.c is still there 10s after its 2s TTL: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// forEachBackend runs f on a Memory over each backend.
func forEachBackend(t *testing.T, cfg Config, f func(t *testing.T, m *Memory, b Bucket)) {
	for name, b := range buckets(t, time.Hour) {
		t.Run(name, func(t *testing.T) {
			cfg := cfg
			cfg.Bucket = b
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			f(t, m, b)
		})
	}
}

// exchange records one request's input and answer in a conversation.
func exchange(t *testing.T, m *Memory, k Key, input, answer string) *Session {
	t.Helper()
	s, err := m.Open(context.Background(), k, input)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Record(context.Background(), s, []Turn{{Role: "user", Content: input}, {Role: "assistant", Content: answer}}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConversationTurnsAndSummary(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, Config{Window: 4}, func(t *testing.T, m *Memory, _ Bucket) {
		k := Key{Owner: "key-a", Conversation: "thread/1 ü"}
		for i := range 20 {
			exchange(t, m, k, fmt.Sprintf("question %d", i), fmt.Sprintf("answer %d", i))
		}
		s, err := m.Open(ctx, k, "next")
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Recent) != 40 || s.Recent[0].Content != "question 0" || s.Recent[39].Content != "answer 19" || s.Recent[39].Seq != 40 {
			t.Fatalf("recent turns = %d, first %+v", len(s.Recent), s.Recent[0])
		}
		in, through := s.FoldInput(36)
		if through != 36 || !strings.Contains(in, "User: question 0") || strings.Contains(in, "question 18") {
			t.Fatalf("fold input through %d:\n%s", through, in)
		}
		if err := m.Fold(ctx, s, through, "they asked 18 questions", "local/summarize"); err != nil {
			t.Fatal(err)
		}
		if len(s.Recent) != 4 || s.Recent[0].Seq != 37 {
			t.Fatalf("after the fold the session holds %d turns from %d", len(s.Recent), s.Recent[0].Seq)
		}
		s2, err := m.Open(ctx, k, "next")
		if err != nil {
			t.Fatal(err)
		}
		if s2.Summary == nil || s2.Summary.Through != 36 || len(s2.Recent) != 4 {
			t.Fatalf("reopened: summary %+v, %d recent turns", s2.Summary, len(s2.Recent))
		}
		// The next fold reads the summary and the turns after it only.
		in, _ = s2.FoldInput(2)
		if !strings.Contains(in, "they asked 18 questions") || strings.Contains(in, "question 0") {
			t.Fatalf("the incremental fold reads:\n%s", in)
		}
		msgs := s2.Messages()
		if len(msgs) != 5 || msgs[0].Role != "system" || !strings.Contains(msgs[0].Content, "they asked 18 questions") {
			t.Fatalf("messages = %+v", msgs)
		}
		v, err := m.Get(ctx, "key-a", "thread/1 ü")
		if err != nil || len(v.Turns) != 40 || v.Summary == nil {
			t.Fatalf("Get = %d turns, summary %v, %v", len(v.Turns), v.Summary, err)
		}
		if _, err := m.Get(ctx, "key-b", "thread/1 ü"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another owner's Get = %v, want ErrNotFound", err)
		}
	})
}

func TestRecallAcrossAScope(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, Config{Window: 2}, func(t *testing.T, m *Memory, _ Bucket) {
		last := Key{Owner: "k", Conversation: "last-week", Scope: "user-42"}
		exchange(t, m, last, "I'm flying to Lisbon on May 3 for my sister's wedding.", "Have a good trip!")
		exchange(t, m, last, "我下周去北京出差，住在王府井。", "好的，祝你出差顺利。")
		for i := range 30 {
			exchange(t, m, last, fmt.Sprintf("Unrelated note %d about invoices", i), "Noted.")
		}
		now := Key{Owner: "k", Conversation: "today", Scope: "user-42"}
		s, err := m.Open(ctx, now, "What did I tell you about my trip to Lisbon?")
		if err != nil {
			t.Fatal(err)
		}
		if r := recalled(s, "Lisbon on May 3"); r == nil || r.Conversation != "last-week" {
			t.Fatalf("recalled %+v", s.Recalled)
		}
		note := s.Messages()[0].Content
		if !strings.Contains(note, "Recalled") || !strings.Contains(note, `conversation "last-week"`) || !strings.Contains(note, time.Now().UTC().Format("2006-01-02")) {
			t.Fatalf("the memory note does not mark the recalled turn with its date and source:\n%s", note)
		}
		s, err = m.Open(ctx, now, "我在北京住哪里？")
		if err != nil {
			t.Fatal(err)
		}
		if recalled(s, "王府井") == nil {
			t.Fatalf("recalled for the Chinese question: %+v", s.Recalled)
		}
		// Another scope, or another owner, recalls nothing of it.
		for _, k := range []Key{{Owner: "k", Conversation: "other", Scope: "user-7"}, {Owner: "k2", Conversation: "today", Scope: "user-42"}} {
			s, err := m.Open(ctx, k, "What did I tell you about my trip to Lisbon?")
			if err != nil || len(s.Recalled) != 0 {
				t.Fatalf("%+v recalled %+v, %v", k, s.Recalled, err)
			}
		}
		if _, err := m.Open(ctx, Key{Owner: "k", Conversation: "last-week", Scope: "user-7"}, "x"); err == nil {
			t.Fatal("a conversation was opened in another scope than its own")
		}
	})
}

func TestForgetLeavesNothing(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, Config{}, func(t *testing.T, m *Memory, b Bucket) {
		before := liveKeys(t, b)
		own := Key{Owner: "k", Conversation: "alone"}
		for i := range 40 {
			exchange(t, m, own, fmt.Sprintf("my locker code is %d", 1000+i), "ok")
		}
		if err := m.Forget(ctx, "k", "alone"); err != nil {
			t.Fatal(err)
		}
		if left := liveKeys(t, b); !slices.Equal(left, before) {
			t.Fatalf("after Forget the bucket holds %v, it held %v", left, before)
		}
		if err := m.Forget(ctx, "k", "alone"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("forgetting again = %v, want ErrNotFound", err)
		}
		// In a shared scope, the others' turns stay and its own go.
		a, c := Key{Owner: "k", Conversation: "a", Scope: "team"}, Key{Owner: "k", Conversation: "c", Scope: "team"}
		exchange(t, m, a, "The launch code word is pelican.", "ok")
		exchange(t, m, c, "The backup code word is heron.", "ok")
		q := Key{Owner: "k", Conversation: "q", Scope: "team"}
		if s, _ := m.Open(ctx, q, "what is the code word"); len(s.Recalled) < 2 {
			t.Fatalf("before Forget, recalled %+v", s.Recalled)
		}
		if err := m.Forget(ctx, "k", "a"); err != nil {
			t.Fatal(err)
		}
		s, err := m.Open(ctx, q, "what is the code word pelican")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.Recalled {
			if strings.Contains(r.Content, "pelican") {
				t.Fatalf("a forgotten turn was recalled: %+v", r)
			}
		}
		if len(s.Recalled) == 0 {
			t.Fatal("the other conversation's turns went too")
		}
	})
}

func TestMaxTurnsDropsTheOldest(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, Config{MaxTurns: 20, Window: 100}, func(t *testing.T, m *Memory, _ Bucket) {
		k := Key{Owner: "k", Conversation: "long"}
		exchange(t, m, k, "The first secret is walrus.", "ok")
		for i := range 40 {
			exchange(t, m, k, fmt.Sprintf("filler %d", i), "ok")
		}
		v, err := m.Get(ctx, "k", "long")
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Turns) != 20 || v.Turns[19].Seq != 82 {
			t.Fatalf("kept %d turns, last %d", len(v.Turns), v.Turns[len(v.Turns)-1].Seq)
		}
		s, err := m.Open(ctx, Key{Owner: "k", Conversation: "long"}, "what is the secret walrus")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.Recalled {
			if strings.Contains(r.Content, "walrus") {
				t.Fatalf("a dropped turn was recalled: %+v", r)
			}
		}
	})
}

// Requests of one conversation that end at once, on different routers,
// each keep their turns, under distinct seqs.
func TestConcurrentRecords(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, m *Memory, b Bucket) {
		m2, _ := New(Config{Bucket: b})
		k := Key{Owner: "k", Conversation: "busy"}
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mm := m
				if i%2 == 1 {
					mm = m2
				}
				exchange(t, mm, k, fmt.Sprintf("q%d", i), fmt.Sprintf("a%d", i))
			}()
		}
		wg.Wait()
		v, err := m.Get(context.Background(), "k", "busy")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for _, tu := range v.Turns {
			seen[tu.Seq] = true
		}
		if len(v.Turns) != 24 || len(seen) != 24 {
			t.Fatalf("%d turns with %d distinct seqs, want 24", len(v.Turns), len(seen))
		}
	})
}

// recalled returns the session's recalled turn that holds text, or nil.
func recalled(s *Session, text string) *Recalled {
	for i := range s.Recalled {
		if strings.Contains(s.Recalled[i].Content, text) {
			return &s.Recalled[i]
		}
	}
	return nil
}

// Dropping the oldest turns past MaxTurns keeps every router's cache of
// the index (the scope's epoch holds), and a router whose cached segment
// still holds a dropped turn does not recall it.
func TestTrimKeepsCachesAndHidesDroppedTurns(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, Config{MaxTurns: 40, Window: 100}, func(t *testing.T, m *Memory, b Bucket) {
		other, err := New(Config{Bucket: b, MaxTurns: 40, Window: 100})
		if err != nil {
			t.Fatal(err)
		}
		k := Key{Owner: "k", Conversation: "trimmed", Scope: "user-1"}
		reader := Key{Owner: "k", Conversation: "another", Scope: "user-1"}
		exchange(t, m, k, "The first secret is walrus.", "ok")
		for i := range 18 {
			exchange(t, m, k, fmt.Sprintf("filler %d", i), "ok")
		}
		s, err := other.Open(ctx, reader, "what is the secret walrus") // caches the sealed segments
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Recalled) == 0 {
			t.Fatal("the secret was not recalled before it was dropped")
		}
		epoch := s.scope.meta.Epoch
		for i := range 12 {
			exchange(t, m, k, fmt.Sprintf("more filler %d", i), "ok")
		}
		s, err = other.Open(ctx, reader, "what is the secret walrus")
		if err != nil {
			t.Fatal(err)
		}
		if s.scope.meta.Epoch != epoch {
			t.Errorf("dropping old turns gave the scope a new epoch: %s, was %s", s.scope.meta.Epoch, epoch)
		}
		for _, r := range s.Recalled {
			if strings.Contains(r.Content, "walrus") {
				t.Fatalf("a dropped turn was recalled from a cached segment: %+v", r)
			}
		}
	})
}
