package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

func runPlan(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "plan", "TEXT", "Prints the plan taskrouter would run for TEXT, without running it or starting anything.")
	var c commonFlags
	jsonOut := fs.Bool("json", false, "print the plan object {\"tasks\": [...]} as JSON")
	c.register(fs)
	args, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	text, err := readText(env, args)
	if err != nil {
		return err
	}
	p, err := loadPlanning(env, c)
	if err != nil {
		return err
	}
	pl := p.pl
	switch {
	case hasPlanModel(p.cfg):
		// The LLM planner asks a model over NATS: start what it needs,
		// and plan over the tools it serves too.
		a, err := p.start(ctx, env)
		if err != nil {
			return err
		}
		defer a.close()
		pl = a.planner
	case len(p.cfg.Tools) > 0:
		cat, err := withTools(ctx, env, p.cfg, p.cat)
		if err != nil {
			return err
		}
		if pl, err = buildPlanner(p.cfg, cat, c.planner, p.gen); err != nil {
			return err
		}
	}
	plan, err := pl.Plan(ctx, task.Request{Input: text, Planner: c.planner})
	if err != nil {
		fmt.Fprintf(env.stderr, "taskrouter plan: %v\n", err)
		return failedError{err}
	}
	if *jsonOut {
		return writeJSON(env.stdout, plan)
	}
	printPlan(env, plan)
	return nil
}

func printPlan(env *cliEnv, plan task.Plan) {
	for _, s := range plan.Tasks {
		deps := "-"
		if len(s.Deps) > 0 {
			deps = strings.Join(s.Deps, ",")
		}
		fmt.Fprintf(env.stdout, "%-4s %-11s after %-8s %s\n", s.ID, s.Capability, deps, oneLine(s.Input, 60))
		for _, k := range slices.Sorted(maps.Keys(s.Args)) {
			fmt.Fprintf(env.stdout, "     %s=%s\n", k, oneLine(s.Args[k], 60))
		}
	}
	if plan.FallbackReason != "" {
		// On stderr, so that stdout stays the plan.
		fmt.Fprintf(env.stderr, "taskrouter plan: planned by the %s planner; the LLM planner failed: %s\n", plan.Planner, plan.FallbackReason)
	}
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
