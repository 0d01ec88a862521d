// Command taskrouter plans requests into DAGs of typed subtasks, dispatches
// them over NATS to executors serving local and remote models, and merges
// the results into one answer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1 // the request or command ran and failed
	exitUsage       = 2 // bad flags, arguments or config
	exitUnavailable = 3 // NATS, Redis or a port could not be reached
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

var commands = map[string]command{
	"ask":          {"plan a request, run it and print the answer", runAsk},
	"plan":         {"print the plan of a request without running it", runPlan},
	"serve":        {"run a router (and executors) until stopped", runServe},
	"executor":     {"serve models for routers elsewhere on the same NATS", runExecutor},
	"mcp":          {"serve taskrouter as an MCP server on stdio, for agent hosts", runMCP},
	"models":       {"list models, capabilities, replicas, load and state", runModels},
	"capabilities": {"list the capability catalog", runCapabilities},
	"bench":        {"measure dispatch against raw NATS in one run", runBench},
	"nats-config":  {"print a nats-server configuration with the users and permissions of nats.users", runNATSConfig},
	"nats-setup":   {"create taskrouter's streams, consumer and buckets on a NATS of your own", runNATSSetup},
	"version":      {"print the version and the VCS revision it was built from", runVersion},
}

// cliEnv is what commands get from the process: streams and environment.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError marks errors in flags or arguments (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// unavailableError marks failures to reach a service (exit 3).
type unavailableError struct{ err error }

func (e unavailableError) Error() string { return e.err.Error() }
func (e unavailableError) Unwrap() error { return e.err }

// failedError marks a request that ran and failed (exit 1) after its
// outcome was printed.
type failedError struct{ err error }

func (e failedError) Error() string { return e.err.Error() }
func (e failedError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile(os.Getenv("TASKROUTER_CPU_PROFILE"))
	startPprof(os.Getenv("TASKROUTER_PPROF_ADDR"))
	code := run(ctx, os.Args[1:], &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stopProfile()
	stop()
	os.Exit(code)
}

// startCPUProfile writes a CPU profile of the whole run to path, for
// operators chasing where a router spends its time; "" does nothing.
func startCPUProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "taskrouter: TASKROUTER_CPU_PROFILE: %v\n", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }
}

// startPprof serves net/http/pprof on addr (keep it on loopback), for
// operators looking at a live process's goroutines, heap and CPU; ""
// does nothing.
func startPprof(addr string) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", httppprof.Index)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "taskrouter: TASKROUTER_PPROF_ADDR: %v\n", err)
		return
	}
	go func() { _ = http.Serve(l, mux) }()
}

func run(ctx context.Context, args []string, env *cliEnv) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "taskrouter: unknown command %q\n\n", args[0])
		usage(env.stderr)
		return exitUsage
	}
	err := cmd.run(ctx, env, args[1:])
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue usageError
	var un unavailableError
	var fe failedError
	switch {
	case errors.As(err, &fe):
		return exitFailed
	case errors.As(err, &ue):
		fmt.Fprintf(env.stderr, "taskrouter %s: %v\nRun 'taskrouter %s --help' for usage.\n", args[0], err, args[0])
		return exitUsage
	case errors.As(err, &un):
		fmt.Fprintf(env.stderr, "taskrouter %s: %v\n", args[0], err)
		return exitUnavailable
	}
	fmt.Fprintf(env.stderr, "taskrouter %s: %v\n", args[0], err)
	return exitFailed
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "taskrouter: a multi-model task router over NATS.")
	fmt.Fprintln(w, "\nUsage: taskrouter <command> [flags] [args]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-13s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'taskrouter <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Example: taskrouter ask \"Summarize this and detect its language: 'Hello world. It is a nice day.'\"")
}

// newFlags returns a flag set whose usage names the command and its arguments.
func newFlags(env *cliEnv, name, argsUsage, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: taskrouter %s [flags] %s\n\n%s\n\nFlags:\n", name, argsUsage, about)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses flags that may come before or after the positional
// arguments, as in `ask "text" --json`.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// textArg joins the positional arguments into the request text.
func textArg(args []string) (string, error) {
	text := strings.TrimSpace(strings.Join(args, " "))
	if text == "" {
		return "", usageError{"missing the request text; pass it as an argument, e.g. taskrouter ask \"What is 17 * 23?\", or '-' to read it from standard input"}
	}
	return text, nil
}
