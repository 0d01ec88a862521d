package planner

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestGoldenUserCatalogs plans the requests of testdata/golden_user/<catalog>
// over testdata/catalogs/<catalog>.yaml alone, as --catalog-only does, and
// compares the whole plan (inputs, args, dependencies) with the expected
// one; -update rewrites them.
func TestGoldenUserCatalogs(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden_user", "*"))
	if err != nil || len(dirs) < 3 {
		t.Fatalf("want golden requests for at least 3 catalogs, found %d (%v)", len(dirs), err)
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		p, err := New(ModeRules, userCatalog(name)(t))
		if err != nil {
			t.Fatal(err)
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
		if err != nil || len(files) < 4 {
			t.Fatalf("%s: want at least 4 golden files, found %d (%v)", dir, len(files), err)
		}
		for _, file := range files {
			t.Run(name+"/"+strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
				input, want := readGolden(t, file)
				got := planJSON(t, p, input)
				if *update {
					writeGolden(t, file, input, got)
					return
				}
				if got != want {
					t.Errorf("request:\n%s\ngot plan:\n%s\nwant:\n%s", input, got, want)
				}
			})
		}
	}
}
