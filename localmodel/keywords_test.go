package localmodel

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func TestKeywordsModel(t *testing.T) {
	cases := []struct {
		name, in string
		count    string
		want     []string // must be among keywords or phrases
	}{
		{"english", "Solar panels turn sunlight into electricity. Cheap solar panels have made solar power the fastest growing source of electricity. Storage batteries keep the power flowing at night.", "5",
			[]string{"solar panels", "electricity"}},
		{"chinese", "区块链技术正在改变金融行业。区块链是一种分布式账本，区块链上的数据难以篡改。许多银行开始用区块链处理跨境支付。", "",
			[]string{"区块链"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Keywords{}.Generate(context.Background(), task.Work{Input: c.in, Args: map[string]string{"count": c.count}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var ans keywordsAnswer
			if err := json.Unmarshal([]byte(out.Text), &ans); err != nil || out.Format != "json" {
				t.Fatalf("answer %q is not JSON: %v", out.Text, err)
			}
			var got []string
			for _, k := range append(ans.Keywords, ans.Phrases...) {
				got = append(got, k.Text)
			}
			for _, w := range c.want {
				if !slices.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			if c.count == "5" && (len(ans.Keywords) > 5 || len(ans.Phrases) > 5) {
				t.Errorf("count 5 gave %d keywords and %d phrases", len(ans.Keywords), len(ans.Phrases))
			}
		})
	}
}

func TestKeywordsBadCount(t *testing.T) {
	_, err := Keywords{}.Generate(context.Background(), task.Work{Input: "some text here", Args: map[string]string{"count": "-3"}}, nil)
	if task.AsError(err).Code != task.CodeBadInput {
		t.Errorf("err %v, want bad_input", err)
	}
}

func TestSegmentHan(t *testing.T) {
	cases := []struct {
		in    string
		extra map[string]int
		want  []string
	}{
		{"人工智能技术", nil, []string{"人工智能", "技术"}},
		{"我们的研究", nil, []string{"我们", "的", "研究"}},
		{"元宇宙平台", map[string]int{"元宇宙": 3}, []string{"元宇宙", "平台"}},
		{"元宇宙平台", nil, []string{"元", "宇宙", "平台"}},
	}
	for _, c := range cases {
		if got := segmentHan(c.in, c.extra); !slices.Equal(got, c.want) {
			t.Errorf("segmentHan(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDiscoverHanTerms(t *testing.T) {
	got := discoverHanTerms("量子计算很难。量子计算需要低温。研究量子计算的人很多。")
	if got["量子计算"] != 3 {
		t.Errorf("量子计算 not found 3 times: %v", got)
	}
	for _, part := range []string{"量子计", "子计算", "子计"} {
		if _, ok := got[part]; ok {
			t.Errorf("%q is part of a longer term and should be dropped: %v", part, got)
		}
	}
}
