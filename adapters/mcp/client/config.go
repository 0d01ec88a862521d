// Package client serves the tools of MCP servers as taskrouter models:
// it keeps a session with each server (a command over stdio, or a URL
// over streamable HTTP) with the official Go SDK, lists its tools and
// follows their changes, turns each tool into a capability, checks a
// subtask's arguments against the tool's input schema before calling it,
// and restarts a server that dies. A *Client is an executors.Model
// named mcp/<server>.
package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Defaults of Config.
const (
	DefaultConcurrency = 8
	DefaultCallTimeout = time.Minute
	DefaultMinBackoff  = 250 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
)

// Config is one MCP server: a command started with Env that speaks MCP on
// its standard input and output, or a URL that speaks streamable HTTP.
type Config struct {
	// Name names the server; its model is mcp/<Name> and its tools'
	// capabilities <Name>-<tool>. See CheckServerName.
	Name string
	// Command is the program and its arguments, for a stdio server.
	Command []string
	// Env is the command's whole environment, "NAME=value" each: nothing
	// of the executor's own is passed unless listed (see BaseEnv).
	Env []string
	// URL is a streamable HTTP server's endpoint, and Header the headers
	// every request to it carries (an Authorization, say).
	URL    string
	Header http.Header
	// HTTPClient makes the HTTP requests; default a client without a
	// timeout (calls are bounded by CallTimeout).
	HTTPClient *http.Client
	// Concurrency is how many calls the executor makes to the server at
	// once (default DefaultConcurrency).
	Concurrency int
	// CallTimeout bounds one call; a call that takes longer is cancelled
	// (MCP's notifications/cancelled) and fails with tool_timeout
	// (default DefaultCallTimeout).
	CallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a dead server is
	// started again: it doubles after each start that did not last.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	return c
}

// Check reports what is wrong with a server's config.
func (c Config) Check() error {
	if err := CheckServerName(c.Name); err != nil {
		return err
	}
	switch {
	case len(c.Command) > 0 && c.URL != "":
		return fmt.Errorf("tool server %s has both a command and a url; give one", c.Name)
	case len(c.Command) == 0 && c.URL == "":
		return fmt.Errorf("tool server %s has neither a command (stdio) nor a url (streamable HTTP); give one", c.Name)
	case len(c.Command) > 0 && c.Command[0] == "":
		return errors.New("tool server " + c.Name + ": the command's program is empty")
	}
	return nil
}

// baseEnvNames are the variables a stdio server gets from the executor's
// environment when Config.Env is built by BaseEnv: what a program needs
// to run and find its files, and no secret.
var baseEnvNames = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LC_ALL", "TMPDIR", "TZ",
	"SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP", "APPDATA", "LOCALAPPDATA", "USERPROFILE", "PROGRAMFILES"}

// BaseEnv is the environment a stdio server starts with before its
// configured variables: PATH, HOME, USER, the locale and the temporary
// directory (their Windows counterparts there) from getenv. API keys and
// the rest of the executor's environment stay out of a third party's
// process unless the config passes them.
func BaseEnv(getenv func(string) string) []string {
	var env []string
	for _, name := range baseEnvNames {
		if v := getenv(name); v != "" {
			env = append(env, name+"="+v)
		}
	}
	return env
}
