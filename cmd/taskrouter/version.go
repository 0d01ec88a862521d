package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

func runVersion(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "version", "", "Prints taskrouter's version, the VCS revision it was built from (with its time, and\n"+
		"whether the tree had uncommitted changes) and the Go version, from the binary's build information.")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("version takes no arguments, got %q", strings.Join(rest, " "))}
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	fmt.Fprintln(env.stdout, versionLine(bi))
	return nil
}

// versionLine describes a build: the main module's version, then the VCS
// revision, its commit time and whether the tree was modified, then the
// Go version and platform. Builds without VCS stamps (go run,
// -buildvcs=false, a git worktree, which Go does not stamp) say so
// instead of a revision.
func versionLine(bi *debug.BuildInfo) string {
	if bi == nil {
		return fmt.Sprintf("taskrouter (no build information in the binary) %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	return fmt.Sprintf("taskrouter %s (%s) %s %s/%s", version, vcsDescription(bi.Settings), bi.GoVersion, runtime.GOOS, runtime.GOARCH)
}

func vcsDescription(settings []debug.BuildSetting) string {
	vcs := map[string]string{}
	for _, s := range settings {
		vcs[s.Key] = s.Value
	}
	if vcs["vcs.revision"] == "" {
		return "no VCS revision in the build: go run, -buildvcs=false, or a git worktree"
	}
	out := "revision " + vcs["vcs.revision"]
	if t := vcs["vcs.time"]; t != "" {
		out += ", committed " + t
	}
	if vcs["vcs.modified"] == "true" {
		out += ", with uncommitted changes"
	}
	return out
}
