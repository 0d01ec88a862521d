package planner

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// catalogShapes says, per format, what a catalog file may look like.
var catalogShapes = map[string]string{
	"JSON": `a list of capabilities, [{"name": "ocr", "description": "..."}], or an object {"capabilities": [...]}`,
	"YAML": "a list of capabilities (- name: ocr, description: ...), or a mapping whose key capabilities holds that list",
}

// checkObjectShape explains a catalog file that is an object without the
// key capabilities, which strict decoding would report as an unknown
// field of the wrapper: most often one capability written on its own.
func checkObjectShape(format string, keys []string) error {
	if len(keys) == 0 || slices.Contains(keys, "capabilities") {
		return nil
	}
	hint := ""
	if slices.Contains(keys, "name") {
		hint = "; this looks like one capability: put it in a list"
	}
	slices.Sort(keys)
	return fmt.Errorf("decoding catalog %s: the file is one object with the keys %s and no capabilities; a catalog file is %s%s",
		format, strings.Join(keys, ", "), catalogShapes[format], hint)
}

// jsonObjectKeys lists the keys of a JSON object; nil when data is not one
// (the decoder then says what is wrong).
func jsonObjectKeys(data []byte) []string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	return keys
}

// yamlMappingKeys lists the keys of a YAML mapping node.
func yamlMappingKeys(n *yaml.Node) []string {
	var keys []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i].Value)
	}
	return keys
}
