package main

import (
	"context"
	"fmt"
	"strings"
)

func runCapabilities(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "capabilities", "", "Lists the capability catalog: the built-in entries plus the config's and --catalog files,\n"+
		"and the tools of the config's MCP servers (each started to list them).")
	var c commonFlags
	jsonOut := fs.Bool("json", false, "print the catalog as JSON")
	c.register(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(env, c.config)
	if err != nil {
		return err
	}
	cat, err := buildCatalog(cfg, c.catalogs)
	if err != nil {
		return err
	}
	if cat, err = withTools(ctx, env, cfg, cat); err != nil {
		return err
	}
	if *jsonOut {
		return writeJSON(env.stdout, cat.All())
	}
	for _, cp := range cat.All() {
		fmt.Fprintf(env.stdout, "%-11s %s -> %s  %s\n", cp.Name, strings.Join(cp.Inputs, ","), strings.Join(cp.Outputs, ","), cp.Description)
	}
	return nil
}
