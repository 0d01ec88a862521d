package main

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// checkYAML walks a decoded YAML document against the Go type it will be
// decoded into and reports, by their YAML path (http.addr,
// models[2].capabilities) and line, every key that names no field, with
// the nearest one, and every value of the wrong kind. yaml's own errors
// name Go types (main.HTTPConfig), which mean nothing to a config author.
func checkYAML(doc *yaml.Node, t reflect.Type) error {
	var errs []error
	w := yamlWalker{report: func(n *yaml.Node, path, format string, args ...any) {
		switch {
		case len(errs) < maxConfigErrors:
			errs = append(errs, fmt.Errorf("%s (line %d): %s", displayPath(path), n.Line, fmt.Sprintf(format, args...)))
		case len(errs) == maxConfigErrors:
			errs = append(errs, errors.New("... and more; fix these first"))
		}
	}}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		w.walk(doc.Content[0], t, "")
	}
	return errors.Join(errs...)
}

// maxConfigErrors bounds the errors reported for one file.
const maxConfigErrors = 20

func displayPath(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}

type yamlWalker struct {
	report func(n *yaml.Node, path, format string, args ...any)
}

var yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

func (w yamlWalker) walk(n *yaml.Node, t reflect.Type, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value keeps the default
	}
	switch {
	case t == reflect.TypeFor[time.Duration](), reflect.PointerTo(t).Implements(yamlUnmarshaler):
		w.leaf(n, t, path)
	case t.Kind() == reflect.Struct:
		w.mapping(n, t, path)
	case t.Kind() == reflect.Map:
		w.dict(n, t, path)
	case t.Kind() == reflect.Slice:
		w.list(n, t, path)
	case t.Kind() == reflect.Interface:
	default:
		w.leaf(n, t, path)
	}
}

// mapping checks a struct's keys against its yaml tags.
func (w yamlWalker) mapping(n *yaml.Node, t reflect.Type, path string) {
	fields := yamlFields(t)
	if n.Kind != yaml.MappingNode {
		w.report(n, path, "expected a mapping with the keys %s, got %s", strings.Join(sortedKeys(fields), ", "), kindName(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" {
			continue // a merge key: its mapping is checked where it is defined
		}
		sub := joinPath(path, k.Value)
		ft, ok := fields[k.Value]
		if !ok {
			w.unknownKey(k, path, sub, fields)
			continue
		}
		w.walk(v, ft, sub)
	}
}

func (w yamlWalker) unknownKey(k *yaml.Node, parent, path string, fields map[string]reflect.Type) {
	keys := sortedKeys(fields)
	if near, ok := nearest(k.Value, keys); ok {
		w.report(k, path, "unknown key; did you mean %s?", joinPath(parent, near))
		return
	}
	where := "the top-level keys"
	if parent != "" {
		where = "the keys of " + parent
	}
	w.report(k, path, "unknown key; %s are %s", where, strings.Join(keys, ", "))
}

func (w yamlWalker) dict(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		w.report(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		w.leaf(n.Content[i], t.Key(), path)
		w.walk(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value))
	}
}

func (w yamlWalker) list(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.SequenceNode {
		w.report(n, path, "expected a list, got %s", kindName(n))
		return
	}
	for i, item := range n.Content {
		w.walk(item, t.Elem(), path+"["+strconv.Itoa(i)+"]")
	}
}

// leaf decodes a value on its own to see that it fits its type.
func (w yamlWalker) leaf(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.ScalarNode && !reflect.PointerTo(t).Implements(yamlUnmarshaler) {
		w.report(n, path, "expected %s, got %s", typeName(t), kindName(n))
		return
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		w.report(n, path, "%q is not %s", n.Value, typeName(t))
	}
}

// yamlFields maps a struct's YAML keys to their types, as yaml.v3 names
// them: the tag's name, else the field's name in lower case; inline
// structs contribute their keys.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// typeName says in a config author's words what a Go type holds.
func typeName(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "a duration such as 30s or 1m30s"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a value of the documented form"
}
