package task

import "fmt"

// Catalog is an ordered set of capabilities. It is immutable: With returns
// a new catalog, so one can be shared between goroutines.
type Catalog struct {
	list  []Capability
	index map[string]int
}

// NewCatalog builds a catalog; a later entry with the same name replaces an
// earlier one in place. Every entry needs a name and a description.
func NewCatalog(caps ...Capability) (*Catalog, error) {
	return (&Catalog{}).With(caps...)
}

// With returns a catalog holding c's entries plus caps.
func (c *Catalog) With(caps ...Capability) (*Catalog, error) {
	out := &Catalog{index: map[string]int{}}
	if c != nil {
		out.list = append(out.list, c.list...)
		for k, v := range c.index {
			out.index[k] = v
		}
	}
	for i, cp := range caps {
		if !validID(cp.Name) {
			return nil, fmt.Errorf("capability %d: name %q must be 1-64 letters, digits, '_' or '-'", i+1, cp.Name)
		}
		if cp.Description == "" {
			return nil, fmt.Errorf("capability %q: a description is required; the planner matches requests against it", cp.Name)
		}
		if j, ok := out.index[cp.Name]; ok {
			out.list[j] = cp
			continue
		}
		out.index[cp.Name] = len(out.list)
		out.list = append(out.list, cp)
	}
	return out, nil
}

// Get returns the capability with the given name.
func (c *Catalog) Get(name string) (Capability, bool) {
	if c == nil {
		return Capability{}, false
	}
	i, ok := c.index[name]
	if !ok {
		return Capability{}, false
	}
	return c.list[i], true
}

// Has reports whether the catalog has a capability; it fits Plan.Validate.
func (c *Catalog) Has(name string) bool {
	_, ok := c.Get(name)
	return ok
}

// Plannable returns the capabilities a planner may plan, in catalog
// order: all but the Direct ones.
func (c *Catalog) Plannable() []Capability {
	var out []Capability
	for _, cp := range c.All() {
		if !cp.Direct {
			out = append(out, cp)
		}
	}
	return out
}

// All returns the capabilities in catalog order. The slice is a copy.
func (c *Catalog) All() []Capability {
	if c == nil {
		return nil
	}
	return append([]Capability(nil), c.list...)
}
