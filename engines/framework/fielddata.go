package framework

import (
	"maps"
	"slices"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// FieldData is a request's raw data paired with the schema of its Path.
// A raw value of JSON null counts as absent. Fields absent from the
// schema are ignored.
//
// Getters return the parsed value, else the schema default, else the
// type's zero value; a value that does not parse yields the zero value, so
// call Validate first (Backend does before every handler). Getters of a
// name not in the schema return the zero value.
type FieldData struct {
	// Raw is the request data: decoded JSON body or query parameters,
	// plus the path's named captures.
	Raw map[string]any
	// Schema declares the accepted fields.
	Schema map[string]*FieldSchema
}

// Validate checks every schema field present in Raw parses to its type
// and every Required field is present. The error is a
// *logical.InvalidRequestError naming the first offending field (in name
// order, so the message is stable).
func (d *FieldData) Validate() error {
	for _, name := range slices.Sorted(maps.Keys(d.Schema)) {
		s := d.Schema[name]
		v, ok := d.Raw[name]
		if !ok || v == nil {
			if s.Required {
				return logical.InvalidRequest(name, "missing required field")
			}
			continue
		}
		if _, err := parse(s.Type, v); err != nil {
			return logical.InvalidRequest(name, "%s", err.Error())
		}
	}
	return nil
}

// Has reports whether the request carried a non-null value for name.
func (d *FieldData) Has(name string) bool {
	v, ok := d.Raw[name]
	return ok && v != nil
}

// GetOk returns the parsed value of name and true when the request
// carried it (and it parses); otherwise nil and false. Defaults are not
// applied.
func (d *FieldData) GetOk(name string) (any, bool) {
	s, ok := d.Schema[name]
	if !ok || !d.Has(name) {
		return nil, false
	}
	v, err := parse(s.Type, d.Raw[name])
	if err != nil {
		return nil, false
	}
	return v, true
}

// Get returns the parsed value of name, else its parsed default, else
// nil.
func (d *FieldData) Get(name string) any {
	if v, ok := d.GetOk(name); ok {
		return v
	}
	s, ok := d.Schema[name]
	if !ok || s.Default == nil {
		return nil
	}
	v, err := parse(s.Type, s.Default)
	if err != nil {
		return nil
	}
	return v
}

// String returns a TypeString field.
func (d *FieldData) String(name string) string { return getAs[string](d, name) }

// Int returns a TypeInt field.
func (d *FieldData) Int(name string) int { return getAs[int](d, name) }

// Bool returns a TypeBool field.
func (d *FieldData) Bool(name string) bool { return getAs[bool](d, name) }

// Duration returns a TypeDuration field.
func (d *FieldData) Duration(name string) time.Duration { return getAs[time.Duration](d, name) }

// Map returns a TypeMap field.
func (d *FieldData) Map(name string) map[string]any { return getAs[map[string]any](d, name) }

// StringSlice returns a TypeStringSlice field.
func (d *FieldData) StringSlice(name string) []string { return getAs[[]string](d, name) }

// IntSlice returns a TypeIntSlice field.
func (d *FieldData) IntSlice(name string) []int { return getAs[[]int](d, name) }

// StringMap returns a TypeStringMap field.
func (d *FieldData) StringMap(name string) map[string]string {
	return getAs[map[string]string](d, name)
}

func getAs[T any](d *FieldData, name string) T {
	v, _ := d.Get(name).(T)
	return v
}
