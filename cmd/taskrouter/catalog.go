package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/taskrouter/taskrouter/task"
)

func runCapabilities(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "capabilities", "", "Lists the capability catalog: the built-in entries (unless --catalog-only) plus the config's and --catalog files,\n"+
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
	cfg.CatalogOnly = cfg.CatalogOnly || c.catalogOnly
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

// baseCatalog is the catalog the config's and the flag's files are added
// to: the built-in one, or, with catalog_only, none, when there are files.
func baseCatalog(cfg Config, files []string) (*task.Catalog, error) {
	if !cfg.CatalogOnly {
		return task.BuiltinCatalog(), nil
	}
	if len(files) == 0 {
		return nil, usageError{"catalog_only (--catalog-only) leaves only the catalog files, and none is given; add --catalog FILE or catalog: in the config"}
	}
	return task.NewCatalog()
}
