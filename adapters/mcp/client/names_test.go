package client

import (
	"strings"
	"testing"
)

func TestCapabilityName(t *testing.T) {
	long := strings.Repeat("x", 80)
	for _, c := range []struct{ server, tool, want string }{
		{"everything", "echo", "everything-echo"},
		{"everything", "get-sum", "everything-get-sum"},
		{"github", "search_repositories", "github-search_repositories"},
		{"gh", "Repo.Search", "gh-repo-search"},
		{"gh", "files/read  v2!", "gh-files-read-v2"},
		{"gh", "天气", "gh-tool"},
		{"gh", long, "gh-" + strings.Repeat("x", 52) + "-"},
	} {
		got := CapabilityName(c.server, c.tool)
		if !strings.HasPrefix(got, c.want) || len(got) > 64 {
			t.Errorf("CapabilityName(%q, %q) = %q, want %q", c.server, c.tool, got, c.want)
		}
	}
	if CapabilityName("gh", long) == CapabilityName("gh", long+"y") {
		t.Error("two long tool names give one capability")
	}
}

func TestCheckServerName(t *testing.T) {
	for _, ok := range []string{"everything", "github", "my_tools-2"} {
		if err := CheckServerName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", "GitHub", "a b", "a/b", strings.Repeat("a", 33)} {
		if CheckServerName(bad) == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
