package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/taskrouter/taskrouter", Version: "v0.0.0-20261202033807-6106f9470bb5+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "6106f9470bb5e120952a4702ad34fa09d401de7e"},
			{Key: "vcs.time", Value: "2026-12-02T03:38:07Z"}, {Key: "vcs.modified", Value: "true"}}}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	cases := []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{stamped, "taskrouter v0.0.0-20261202033807-6106f9470bb5+dirty (revision 6106f9470bb5e120952a4702ad34fa09d401de7e, committed 2026-12-02T03:38:07Z, with uncommitted changes) go1.26.8 " + platform},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "taskrouter (devel) (no VCS revision in the build: go run, -buildvcs=false, or a git worktree) go1.26.8 " + platform},
		{nil, "taskrouter (no build information in the binary) " + runtime.Version() + " " + platform},
	}
	for _, c := range cases {
		if got := versionLine(c.bi); got != c.want {
			t.Errorf("versionLine =\n  %s\nwant\n  %s", got, c.want)
		}
	}
}

// Both spellings print the binary's own build information on stdout.
func TestVersionCommand(t *testing.T) {
	bi, _ := debug.ReadBuildInfo()
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, stdout, stderr := runCLI(t, context.Background(), args...)
		if code != 0 || stdout != versionLine(bi)+"\n" || !strings.Contains(stdout, runtime.Version()) || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	if code, _, _ := runCLI(t, context.Background(), "version", "extra"); code != exitUsage {
		t.Errorf("version with an argument: exit %d", code)
	}
}
