package task

import "fmt"

// WithDefined returns a catalog holding c's entries plus the capabilities
// that models define (ModelSpec.Defines: an MCP server's tools), and the
// reasons any of them was left out. A definition never replaces an entry
// of c, so a tool cannot change what a built-in or configured capability
// means; of two models defining one name, the first in specs keeps it;
// a definition the catalog would refuse (a bad name, no description) is
// left out. The capability must also be among the model's Capabilities,
// so that a spec cannot define what it does not serve. c is unchanged.
func (c *Catalog) WithDefined(specs []ModelSpec) (*Catalog, []error) {
	var add []Capability
	var skipped []error
	owner := map[string]string{}
	for _, spec := range specs {
		for _, def := range spec.Defines {
			switch {
			case c.Has(def.Name):
				skipped = append(skipped, fmt.Errorf("model %s defines capability %q, which the catalog already has; the catalog's is kept", spec.Name, def.Name))
			case owner[def.Name] != "":
				if owner[def.Name] != spec.Name {
					skipped = append(skipped, fmt.Errorf("model %s defines capability %q, which model %s defines too; %[3]s's is kept", spec.Name, def.Name, owner[def.Name]))
				}
			case !spec.Has(def.Name):
				skipped = append(skipped, fmt.Errorf("model %s defines capability %q but does not list it among its capabilities", spec.Name, def.Name))
			default:
				if _, err := NewCatalog(def); err != nil {
					skipped = append(skipped, fmt.Errorf("model %s: %w", spec.Name, err))
					continue
				}
				owner[def.Name] = spec.Name
				add = append(add, def)
			}
		}
	}
	if len(add) == 0 {
		return c, skipped
	}
	out, err := c.With(add...)
	if err != nil { // each entry passed NewCatalog above
		return c, append(skipped, err)
	}
	return out, skipped
}
