package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

// TestCatalogOnly plans and lists over a catalog file alone, by flag or by
// config key: no built-in capability appears, and a request the built-in
// catalog would give to its own capabilities goes to the file's.
func TestCatalogOnly(t *testing.T) {
	media := filepath.Join("..", "..", "planner", "testdata", "catalogs", "media.yaml")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "taskrouter.yaml")
	if err := os.WriteFile(cfg, []byte("catalog_only: true\ncatalog: ["+media+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	request := "Generate an image of a red fox in the snow, then describe it."
	for name, args := range map[string][]string{
		"flag":   {"plan", "--json", "--catalog-only", "--catalog", media, request},
		"config": {"plan", "--json", "--config", cfg, request},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCLI(t, context.Background(), args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			p, err := task.DecodePlan([]byte(out))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Tasks) != 2 || p.Tasks[0].Capability != "Text-to-Image" || p.Tasks[1].Capability != "Image-to-Text" || len(p.Tasks[1].Deps) != 1 {
				t.Fatalf("plan = %s, want Text-to-Image then Image-to-Text on its result", out)
			}
		})
	}
	code, out, errOut := runCLI(t, context.Background(), "capabilities", "--catalog-only", "--catalog", media)
	if code != exitOK {
		t.Fatalf("capabilities: exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "summarize ") || !strings.Contains(out, "Audio-Noise-Reduction") || strings.Count(out, "\n") != 32 {
		t.Errorf("capabilities --catalog-only listed:\n%s\nwant the 32 entries of %s alone", out, media)
	}
	code, _, errOut = runCLI(t, context.Background(), "plan", "--catalog-only", "hi")
	if code != exitUsage || !strings.Contains(errOut, "--catalog") {
		t.Errorf("--catalog-only with no file: exit %d, %q; want a usage error that asks for --catalog", code, errOut)
	}
}
