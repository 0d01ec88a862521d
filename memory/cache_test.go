package memory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/taskrouter/taskrouter/task"
)

func TestCachesKeepAndBound(t *testing.T) {
	ctx := context.Background()
	c := testRedis(t)
	prefix := "tr:test:cache:" + task.NewID("") + ":"
	t.Cleanup(func() {
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	cfg := CacheConfig{TTL: time.Second, MaxEntries: 3, MaxBytes: 100}
	for name, cache := range map[string]Cache{"local": NewLocalCache(cfg), "redis": NewRedisCache(c, prefix, cfg)} {
		t.Run(name, func(t *testing.T) {
			if _, ok, err := cache.Get(ctx, "k0"); ok || err != nil {
				t.Fatalf("an empty cache has k0: %v %v", ok, err)
			}
			for i := range 4 {
				if err := cache.Put(ctx, fmt.Sprintf("k%d", i), task.Output{Text: fmt.Sprint(i), Usage: task.Usage{PromptTokens: i}}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Millisecond) // the Redis index orders by millisecond
			}
			if _, ok, _ := cache.Get(ctx, "k0"); ok {
				t.Error("the oldest answer is still there past MaxEntries")
			}
			if out, ok, err := cache.Get(ctx, "k3"); !ok || err != nil || out.Text != "3" || out.Usage.PromptTokens != 3 {
				t.Errorf("k3 = %+v, %v, %v", out, ok, err)
			}
			if err := cache.Put(ctx, "big", task.Output{Text: string(make([]byte, 101))}); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := cache.Get(ctx, "big"); ok {
				t.Error("an answer over MaxBytes was kept")
			}
			time.Sleep(1100 * time.Millisecond)
			if _, ok, _ := cache.Get(ctx, "k3"); ok {
				t.Error("an answer outlived its TTL")
			}
		})
	}
}

func TestDeterministicAndKeys(t *testing.T) {
	zero, one, seed := 0.0, 1.0, int64(7)
	remote := task.ModelSpec{Name: "gpt", Backend: task.BackendOpenAI}
	for _, c := range []struct {
		spec task.ModelSpec
		w    task.Work
		want bool
	}{
		{task.ModelSpec{Backend: task.BackendLocal}, task.Work{}, true},
		{remote, task.Work{}, false},
		{remote, task.Work{Sampling: &task.Sampling{Temperature: &zero}}, true},
		{remote, task.Work{Sampling: &task.Sampling{Temperature: &one}}, false},
		{remote, task.Work{Sampling: &task.Sampling{Temperature: &one, Seed: &seed}}, true},
		{remote, task.Work{Body: []byte(`{"temperature":0,"messages":[]}`)}, true},
		{remote, task.Work{Body: []byte(`{"seed":1}`)}, true},
		{remote, task.Work{Body: []byte(`{"temperature":0,"stream":true}`)}, false},
		{remote, task.Work{Body: []byte(`{"messages":[]}`)}, false},
		{remote, task.Work{Body: []byte(`{"temperature":0,"messages":[}`)}, false},
		{remote, task.Work{Body: []byte(`{"temperature":0,"temperature":1}`)}, true},
		{remote, task.Work{Body: []byte(`{"messages":[{"temperature":0}],"seed":"7"}`)}, false},
		{remote, task.Work{Body: []byte(`[{"temperature":0}]`)}, false},
	} {
		if got := Deterministic(c.spec, c.w); got != c.want {
			t.Errorf("Deterministic(%s, %+v) = %v", c.spec.Backend, c.w, got)
		}
	}
	w := task.Work{RequestID: "r1", SubtaskID: "t1", Attempt: 1, Model: "m", Capability: "chat", Input: "hi"}
	same := w
	same.RequestID, same.SubtaskID, same.Attempt, same.Deadline = "r2", "t9", 3, time.Now()
	if CacheKey("o", w) != CacheKey("o", same) {
		t.Error("ids, attempts or deadlines change the cache key")
	}
	for _, other := range []task.Work{{Model: "m2", Capability: "chat", Input: "hi"}, {Model: "m", Capability: "chat", Input: "hi", Args: map[string]string{"a": "b"}},
		{Model: "m", Capability: "chat", Input: "hi", Sampling: &task.Sampling{Temperature: &zero}}} {
		if CacheKey("o", w) == CacheKey("o", other) {
			t.Errorf("%+v has the same cache key", other)
		}
	}
	if CacheKey("o", w) == CacheKey("p", w) {
		t.Error("two owners share a cache key")
	}
}

// deterministicBody reads a body in one pass as the four reads of gjson
// it replaced did.
func FuzzDeterministicBody(f *testing.F) {
	for _, b := range []string{`{"temperature":0,"messages":[]}`, `{"seed":1}`, `{"temperature":0,"stream":true}`,
		`{"messages":[]}`, `{"temperature":0,"messages":[}`, `{"temperature":0,"temperature":1}`, `{"stream":"yes","seed":2}`,
		`{"temperature":0.0e0}`, ` {"seed":-1} `, `{"a":{"seed":1}}`, `{"temperature":0,"stream":1}`} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want := gjson.ValidBytes(body) && !gjson.GetBytes(body, "stream").Bool()
		if want {
			temp, seed := gjson.GetBytes(body, "temperature"), gjson.GetBytes(body, "seed")
			want = temp.Type == gjson.Number && temp.Num == 0 || seed.Type == gjson.Number
		}
		if got := deterministicBody(body); got != want {
			t.Errorf("deterministicBody(%q) = %v, want %v", body, got, want)
		}
	})
}

func BenchmarkDeterministicBody(b *testing.B) {
	body := []byte(`{"model":"bench/gpt","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello."}]}`)
	for b.Loop() {
		deterministicBody(body)
	}
}
