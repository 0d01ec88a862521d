package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/taskrouter/taskrouter/bus"
)

// serveDataDir is where `serve` keeps the embedded NATS server's
// JetStream state (jobs, webhook ids, their results), so that it outlives
// a restart: --data-dir, else nats.store_dir, else the user's state
// directory ($XDG_STATE_HOME/taskrouter, else ~/.local/state/taskrouter;
// %LOCALAPPDATA%\taskrouter on Windows). With nats.url the state lives on
// that NATS, and there is no local directory.
func serveDataDir(cfg Config, flagDir string, getenv func(string) string) (string, error) {
	if cfg.NATS.URL != "" {
		if flagDir != "" {
			return "", usageError{"--data-dir is for the embedded NATS server; with nats.url set, jobs and webhook ids live on that NATS"}
		}
		return "", nil
	}
	dir := flagDir
	if dir == "" {
		dir = cfg.NATS.StoreDir
	}
	if dir == "" {
		dir = userStateDir(getenv)
	}
	if dir == "" {
		return "", usageError{"serve keeps its state (jobs, webhook ids) in a data directory, but neither XDG_STATE_HOME nor HOME " +
			"is set to find one: give --data-dir DIR or nats.store_dir"}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", usageError{fmt.Sprintf("data directory %q: %v", dir, err)}
	}
	return abs, nil
}

// userStateDir is taskrouter's directory in the user's state directory,
// as the XDG Base Directory spec places it (a relative XDG_STATE_HOME is
// ignored, as the spec says); "" when the environment names none.
func userStateDir(getenv func(string) string) string {
	if runtime.GOOS == "windows" {
		if d := getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "taskrouter")
		}
		return ""
	}
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "taskrouter")
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".local", "state", "taskrouter")
	}
	return ""
}

// storeLockedError says what to do about a data directory that another
// process holds.
func storeLockedError(err error) error {
	var locked *bus.StoreLockedError
	if !errors.As(err, &locked) {
		return unavailableError{err}
	}
	return unavailableError{fmt.Errorf("%w. Two servers on one directory would overwrite each other's jobs. "+
		"Stop that process, or give this one a directory of its own: serve --data-dir DIR, or nats.store_dir in its config", err)}
}
