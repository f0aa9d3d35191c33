package framework

import (
	"maps"
	"slices"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// PathDoc describes one route for generated documentation (the API
// reference): its pattern, operations, synopsis, fields and route data.
type PathDoc struct {
	Pattern    string
	Operations []logical.Operation
	Synopsis   string
	// Fields are the documented fields, sorted by name.
	Fields          []FieldDoc
	Unauthenticated bool
	Sudo            bool
	// Actions names the Cedar action of operations whose action is not
	// the operation itself.
	Actions map[logical.Operation]string
}

// FieldDoc is one field of a PathDoc.
type FieldDoc struct {
	Name, Type, Description string
	Required                bool
}

// RouteDocs is the optional power of a backend that can describe its
// routes (the API reference generator finds it by type assertion).
type RouteDocs interface {
	RouteDocs() []PathDoc
}

// Docs describes every Path, in priority order.
func (b *Backend) Docs() []PathDoc {
	out := make([]PathDoc, 0, len(b.Paths))
	for _, p := range b.Paths {
		d := PathDoc{Pattern: p.Pattern, Synopsis: p.HelpSynopsis, Unauthenticated: p.Unauthenticated, Sudo: p.Sudo,
			Actions: maps.Clone(p.Actions)}
		d.Operations = slices.Sorted(maps.Keys(p.Operations))
		for _, name := range slices.Sorted(maps.Keys(p.Fields)) {
			f := p.Fields[name]
			if f == nil {
				continue
			}
			d.Fields = append(d.Fields, FieldDoc{Name: name, Type: f.Type.String(), Description: f.Description, Required: f.Required})
		}
		out = append(out, d)
	}
	return out
}
