package framework

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// DecodeData validates data against schema and decodes it into the struct
// out points to: what a Backend and FieldData.Decode do for a Path's
// handler, for code that holds a raw map and a schema but no Path (sys/
// handlers, the token store). Validation covers every schema field, not
// only those out has: a present field that does not parse, or a Required
// one that is absent, is a *logical.InvalidRequestError naming it (the
// first in name order); then out is filled as FieldData.Decode describes.
// A nil or untyped schema entry, or a target Decode refuses, is ErrDecode.
// Keys of data that the schema does not declare are ignored, as Vault
// ignores them.
func DecodeData(data map[string]any, schema map[string]*FieldSchema, out any) error {
	if name, bad := invalidField(schema); bad {
		return fmt.Errorf("%w: schema field %q has no valid type", ErrDecode, name)
	}
	d := &FieldData{Raw: data, Schema: schema}
	if err := d.Validate(); err != nil {
		return err
	}
	return d.Decode(out)
}

// Decode fills the struct out points to from the request data. Each
// struct field with a `json:"name"` tag takes the parsed value of that
// schema field, or its default; a field the request does not carry and
// that has no default is left untouched, so a pointer field stays nil
// (use pointers to tell "absent" from "zero"). Untagged fields and
// `json:"-"` are skipped; untagged embedded structs are decoded in place.
//
// Go types per FieldType: string; any integer kind (range-checked);
// bool; time.Duration or Duration; map[string]any; []string; []int;
// map[string]string — or a pointer to one of those.
//
// A raw value that does not parse is a *logical.InvalidRequestError
// naming the field; a tag naming no schema field or a Go type that cannot
// hold the value is ErrDecode (a bug in the engine).
func (d *FieldData) Decode(out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%w: target must be a non-nil pointer to a struct, got %T", ErrDecode, out)
	}
	return d.decodeStruct(rv.Elem())
}

func (d *FieldData) decodeStruct(sv reflect.Value) error {
	st := sv.Type()
	for i := 0; i < st.NumField(); i++ {
		sf := st.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" && sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			if err := d.decodeStruct(sv.Field(i)); err != nil {
				return err
			}
			continue
		}
		if name == "" || name == "-" || !sf.IsExported() {
			continue
		}
		schema, ok := d.Schema[name]
		if !ok {
			return fmt.Errorf("%w: %s.%s: no schema field %q", ErrDecode, st.Name(), sf.Name, name)
		}
		v, present, err := d.value(name, schema)
		if err != nil {
			return err
		}
		if !present {
			continue
		}
		if err := assign(sv.Field(i), v, name); err != nil {
			return err
		}
	}
	return nil
}

// value returns the parsed raw value or default of name.
func (d *FieldData) value(name string, s *FieldSchema) (any, bool, error) {
	if d.Has(name) {
		v, err := parse(s.Type, d.Raw[name])
		if err != nil {
			return nil, false, logical.InvalidRequest(name, "%s", err.Error())
		}
		return v, true, nil
	}
	if s.Default == nil {
		return nil, false, nil
	}
	v, err := parse(s.Type, s.Default)
	if err != nil {
		return nil, false, fmt.Errorf("%w: default of %q: %w", ErrDecode, name, err)
	}
	return v, true, nil
}

var durationType = reflect.TypeFor[Duration]()

// assign stores the canonical parsed value v into dst.
func assign(dst reflect.Value, v any, name string) error {
	if dst.Kind() == reflect.Pointer {
		elem := reflect.New(dst.Type().Elem())
		if err := assign(elem.Elem(), v, name); err != nil {
			return err
		}
		dst.Set(elem)
		return nil
	}
	src := reflect.ValueOf(v)
	if !src.IsValid() {
		dst.Set(reflect.Zero(dst.Type()))
		return nil
	}
	if src.Type().AssignableTo(dst.Type()) {
		dst.Set(src)
		return nil
	}
	if n, ok := v.(int); ok {
		return assignInt(dst, n, name)
	}
	if d, ok := v.(time.Duration); ok && dst.Type() == durationType {
		dst.Set(reflect.ValueOf(Duration(d)))
		return nil
	}
	return fmt.Errorf("%w: field %q: cannot store %T in %s", ErrDecode, name, v, dst.Type())
}

func assignInt(dst reflect.Value, n int, name string) error {
	switch dst.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if dst.OverflowInt(int64(n)) {
			return logical.InvalidRequest(name, "value out of range")
		}
		dst.SetInt(int64(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n < 0 {
			return logical.InvalidRequest(name, "must not be negative")
		}
		if dst.OverflowUint(uint64(n)) {
			return logical.InvalidRequest(name, "value out of range")
		}
		dst.SetUint(uint64(n))
	default:
		return fmt.Errorf("%w: field %q: cannot store int in %s", ErrDecode, name, dst.Type())
	}
	return nil
}
