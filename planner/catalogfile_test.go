package planner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/task"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadCatalogFile(t *testing.T) {
	tests := []struct {
		name, file, content string
		want                []string // capability names, in order
	}{
		{"yaml list", "c.yaml", "- name: ocr\n  description: Read text in images\n  inputs: [image]\n  outputs: [text]\n- name: tts\n  description: Speak text\n", []string{"ocr", "tts"}},
		{"yaml object", "c.yml", "capabilities:\n  - name: sql\n    description: Write SQL\n    examples: [Write a query]\n    titles: {en: SQL, zh: SQL 查询}\n", []string{"sql"}},
		{"json list", "c.json", `[{"name": "ocr", "description": "Read text in images", "inputs": ["image"], "outputs": ["text"]}]`, []string{"ocr"}},
		{"json object", "c.JSON", `{"capabilities": [{"name": "tts", "description": "Speak text", "keywords": ["aloud"]}]}`, []string{"tts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caps, err := LoadCatalogFile(writeFile(t, tt.file, tt.content))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range caps {
				names = append(names, c.Name)
				if len(c.Inputs) == 0 || len(c.Outputs) == 0 {
					t.Errorf("%s: inputs %v, outputs %v; want [text] by default", c.Name, c.Inputs, c.Outputs)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Errorf("names = %v, want %v", names, tt.want)
			}
		})
	}
}

func TestLoadCatalogFileShippedCatalog(t *testing.T) {
	caps, err := LoadCatalogFile(filepath.Join("testdata", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ocr := caps[0]
	if ocr.Name != "ocr" || ocr.Inputs[0] != "image" || ocr.Titles["zh"] == "" || len(ocr.Examples) < 5 {
		t.Errorf("first capability = %+v", ocr)
	}
}

func TestLoadCatalogFileErrors(t *testing.T) {
	tests := []struct {
		name, file, content string
		wantInError         []string
	}{
		{"yaml unknown key", "c.yaml", "- name: ocr\n  description: Read\n  inputz: [image]\n", []string{"line 3", "inputz"}},
		{"yaml unknown top key", "c.yaml", "capabilities: []\nmodels: []\n", []string{"line 2", "models"}},
		{"json unknown key", "c.json", `[{"name": "ocr", "description": "Read", "input": ["image"]}]`, []string{"input", "line 1"}},
		{"yaml syntax", "c.yaml", "- name: [ocr\n", []string{"yaml"}},
		{"json trailing", "c.json", `[] []`, []string{"trailing"}},
		{"duplicate", "c.yaml", "- {name: a, description: x}\n- {name: a, description: y}\n", []string{`"a"`, "twice"}},
		{"no description", "c.json", `[{"name": "ocr"}]`, []string{"description"}},
		{"bad name", "c.json", `[{"name": "o c r", "description": "x"}]`, []string{"name"}},
		{"empty", "c.yaml", "", []string{"empty"}},
		{"no capabilities", "c.json", `{"capabilities": []}`, []string{"no capabilities"}},
		{"scalar", "c.yaml", "hello\n", []string{"list of capabilities"}},
		{"extension", "c.toml", "x", []string{".toml", ".yaml"}},
		{"json one capability", "c.json", `{"name": "ocr", "description": "Read text in images"}`,
			[]string{"one object with the keys description, name", `a list of capabilities, [{"name"`, `{"capabilities": [...]}`, "put it in a list"}},
		{"yaml one capability", "c.yaml", "name: ocr\ndescription: Read text in images\n", []string{"one object with the keys description, name", "put it in a list"}},
		{"json other object", "c.json", `{"caps": []}`, []string{"keys caps and no capabilities"}},
		{"two documents", "c.yaml", "- {name: a, description: x}\n---\n- {name: b, description: y}\n", []string{"more than one document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCatalogFile(writeFile(t, tt.file, tt.content))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantInError {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := LoadCatalogFile(filepath.Join(t.TempDir(), "missing.yaml")); !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v, want a not-exist error in the chain", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

// FuzzDecodeCatalog decodes arbitrary bytes as YAML and as JSON: never a
// panic, and whatever decodes is a valid catalog.
func FuzzDecodeCatalog(f *testing.F) {
	for _, s := range []string{
		"- name: ocr\n  description: Read\n", "capabilities:\n  - {name: a, description: b, inputs: [image]}\n",
		`[{"name": "a", "description": "b"}]`, `{"capabilities": [{"name": "a", "description": "b", "titles": {"en": "A"}}]}`,
		"", "[", "{", "- [", "capabilities: 3", "--- \n---\n", `{"capabilities": null}`, "- name: a\n  description: b\n  nope: 1\n",
		`{"name": "a", "description": "b"}`, "name: a\ndescription: b\n",
		strings.Repeat("[", 200), strings.Repeat("- ", 200) + "x\n", `[{"name": "a", "description": "b", "examples": ` + strings.Repeat("[", 130) + strings.Repeat("]", 130) + `}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []string{"yaml", "json"} {
			caps, err := DecodeCatalog(data, format)
			if err != nil {
				continue
			}
			if _, err := task.NewCatalog(caps...); err != nil {
				t.Fatalf("%s decoded to an invalid catalog: %v", format, err)
			}
			for _, c := range caps {
				if len(c.Inputs) == 0 || len(c.Outputs) == 0 {
					t.Fatalf("%s: capability %q lacks default types", format, c.Name)
				}
			}
		}
	})
}

// Catalog files nested deeper than task.MaxJSONDepth are refused with the
// line, in JSON before encoding/json reads 10,000 levels, and in YAML
// where yaml.v3 allows as many.
func TestDeepCatalogIsRefusedWithItsLine(t *testing.T) {
	var block strings.Builder
	block.WriteString("- name: a\n  description: b\n  examples:\n")
	for i := range 200 {
		block.WriteString(strings.Repeat(" ", 4+2*i) + "-\n")
	}
	for _, c := range []struct {
		format, doc, line string
	}{
		{"json", strings.Repeat("[", 8_000_000), "line 1:"},
		{"json", "[\n" + strings.Repeat(`{"a":`, 1_600_000), "line 2:"},
		{"json", "[{\"name\": \"a\", \"description\": \"b\",\n\"examples\": " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "}]", "line 2:"},
		{"yaml", strings.Repeat("[", 9_000) + strings.Repeat("]", 9_000), "line 1:"},
		{"yaml", block.String(), "line 130:"},
	} {
		_, err := DecodeCatalog([]byte(c.doc), c.format)
		if err == nil || !strings.Contains(err.Error(), "nested more than 128 levels deep") || !strings.Contains(err.Error(), c.line) {
			t.Errorf("%s %.20q...: %v; want an error at %s saying how deep", c.format, c.doc, err, c.line)
		}
	}
}
