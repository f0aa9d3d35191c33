package framework_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestFieldParsing(t *testing.T) {
	tests := []struct {
		name    string
		typ     framework.FieldType
		raw     any
		want    any
		wantErr bool
	}{
		{"string", framework.TypeString, "abc", "abc", false},
		{"string from number", framework.TypeString, float64(12), "12", false},
		{"string from json.Number", framework.TypeString, json.Number("7"), "7", false},
		{"string from bool", framework.TypeString, true, "true", false},
		{"string from map", framework.TypeString, map[string]any{}, nil, true},
		{"int", framework.TypeInt, 5, 5, false},
		{"int from float64", framework.TypeInt, float64(42), 42, false},
		{"int from fractional float", framework.TypeInt, 4.5, nil, true},
		{"int from string", framework.TypeInt, "17", 17, false},
		{"int from json.Number", framework.TypeInt, json.Number("-3"), -3, false},
		{"int from word", framework.TypeInt, "ten", nil, true},
		{"int from bool", framework.TypeInt, true, nil, true},
		{"int from list", framework.TypeInt, []any{1}, nil, true},
		{"bool", framework.TypeBool, true, true, false},
		{"bool from string", framework.TypeBool, "false", false, false},
		{"bool from 1", framework.TypeBool, float64(1), true, false},
		{"bool from 2", framework.TypeBool, float64(2), nil, true},
		{"bool from word", framework.TypeBool, "yes please", nil, true},
		{"duration string", framework.TypeDuration, "1h30m", 90 * time.Minute, false},
		{"duration seconds", framework.TypeDuration, float64(60), time.Minute, false},
		{"duration numeric string", framework.TypeDuration, "3600", time.Hour, false},
		{"duration days", framework.TypeDuration, "2d", 48 * time.Hour, false},
		{"duration json.Number", framework.TypeDuration, json.Number("30"), 30 * time.Second, false},
		{"duration empty", framework.TypeDuration, "", time.Duration(0), false},
		{"duration garbage", framework.TypeDuration, "soon", nil, true},
		{"duration bool", framework.TypeDuration, true, nil, true},
		{"map", framework.TypeMap, map[string]any{"a": 1}, map[string]any{"a": 1}, false},
		{"map from string", framework.TypeMap, "a=1", nil, true},
		{"string slice", framework.TypeStringSlice, []any{"a", "b"}, []string{"a", "b"}, false},
		{"string slice comma", framework.TypeStringSlice, "a, b,,c", []string{"a", "b", "c"}, false},
		{"string slice bad elem", framework.TypeStringSlice, []any{"a", map[string]any{}}, nil, true},
		{"int slice", framework.TypeIntSlice, []any{float64(1), "2"}, []int{1, 2}, false},
		{"int slice single", framework.TypeIntSlice, float64(3), []int{3}, false},
		{"int slice comma", framework.TypeIntSlice, "1,2,3", []int{1, 2, 3}, false},
		{"int slice bad elem", framework.TypeIntSlice, []any{"x"}, nil, true},
		{"int slice object", framework.TypeIntSlice, map[string]any{}, nil, true},
		{"string map", framework.TypeStringMap, map[string]any{"a": "x", "n": float64(2)}, map[string]string{"a": "x", "n": "2"}, false},
		{"string map nested", framework.TypeStringMap, map[string]any{"a": map[string]any{}}, nil, true},
		{"string map from list", framework.TypeStringMap, []any{"a"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &framework.FieldData{
				Raw:    map[string]any{"f": tc.raw},
				Schema: map[string]*framework.FieldSchema{"f": {Type: tc.typ}},
			}
			err := d.Validate()
			if tc.wantErr {
				var ire *logical.InvalidRequestError
				if !errors.As(err, &ire) || ire.Field != "f" {
					t.Fatalf("Validate() = %v, want InvalidRequestError on field f", err)
				}
				if !errors.Is(err, logical.ErrInvalidRequest) {
					t.Fatalf("error %v is not ErrInvalidRequest", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if got := d.Get("f"); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Get = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestFieldDataGetters(t *testing.T) {
	d := &framework.FieldData{
		Raw: map[string]any{
			"s": "x", "i": "4", "b": "true", "d": "1m", "m": map[string]any{"k": "v"},
			"ss": []any{"a"}, "is": "1,2", "sm": map[string]any{"k": "v"}, "null": nil,
			"unknown": "ignored",
		},
		Schema: map[string]*framework.FieldSchema{
			"s": {Type: framework.TypeString}, "i": {Type: framework.TypeInt},
			"b": {Type: framework.TypeBool}, "d": {Type: framework.TypeDuration},
			"m": {Type: framework.TypeMap}, "ss": {Type: framework.TypeStringSlice},
			"is": {Type: framework.TypeIntSlice}, "sm": {Type: framework.TypeStringMap},
			"null": {Type: framework.TypeInt, Default: 9},
			"def":  {Type: framework.TypeDuration, Default: "2h"},
		},
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"String", d.String("s"), "x"},
		{"Int", d.Int("i"), 4},
		{"Bool", d.Bool("b"), true},
		{"Duration", d.Duration("d"), time.Minute},
		{"Map", d.Map("m"), map[string]any{"k": "v"}},
		{"StringSlice", d.StringSlice("ss"), []string{"a"}},
		{"IntSlice", d.IntSlice("is"), []int{1, 2}},
		{"StringMap", d.StringMap("sm"), map[string]string{"k": "v"}},
		{"null uses default", d.Int("null"), 9},
		{"default duration", d.Duration("def"), 2 * time.Hour},
		{"unknown field", d.Get("unknown"), nil},
		{"wrong getter", d.Int("s"), 0},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Fatalf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
	if _, ok := d.GetOk("null"); ok {
		t.Fatal("GetOk on a null value reported present")
	}
	if _, ok := d.GetOk("def"); ok {
		t.Fatal("GetOk applied a default")
	}
}

func TestValidateRequired(t *testing.T) {
	d := &framework.FieldData{
		Raw:    map[string]any{"other": 1},
		Schema: map[string]*framework.FieldSchema{"need": {Type: framework.TypeString, Required: true}},
	}
	var ire *logical.InvalidRequestError
	if err := d.Validate(); !errors.As(err, &ire) || ire.Field != "need" {
		t.Fatalf("Validate() = %v, want missing field need", err)
	}
}
