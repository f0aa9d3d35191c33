package framework_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

var decodeSchema = map[string]*framework.FieldSchema{
	"name":    {Type: framework.TypeString},
	"max":     {Type: framework.TypeInt, Default: 10},
	"small":   {Type: framework.TypeInt},
	"enabled": {Type: framework.TypeBool},
	"ttl":     {Type: framework.TypeDuration},
	"tags":    {Type: framework.TypeStringMap},
	"ids":     {Type: framework.TypeIntSlice},
	"blob":    {Type: framework.TypeMap},
}

type embedded struct {
	Blob map[string]any `json:"blob"`
}

type decoded struct {
	embedded
	Name    string            `json:"name"`
	Max     uint32            `json:"max"`
	Small   int8              `json:"small,omitempty"`
	Enabled *bool             `json:"enabled"`
	TTL     *time.Duration    `json:"ttl"`
	Tags    map[string]string `json:"tags"`
	IDs     []int             `json:"ids"`
	Skipped string            `json:"-"`
	Untag   string
}

func TestDecode(t *testing.T) {
	yes := true
	hour := time.Hour
	tests := []struct {
		name      string
		raw       map[string]any
		want      decoded
		wantField string // non-empty: expect InvalidRequestError on this field
	}{
		{
			name: "all fields",
			raw: map[string]any{
				"name": "n", "max": "3", "small": float64(-2), "enabled": "true", "ttl": "1h",
				"tags": map[string]any{"a": "b"}, "ids": []any{float64(1)}, "blob": map[string]any{"x": nil},
				"extra": "ignored",
			},
			want: decoded{
				Name: "n", Max: 3, Small: -2, Enabled: &yes, TTL: &hour,
				Tags: map[string]string{"a": "b"}, IDs: []int{1}, embedded: embedded{Blob: map[string]any{"x": nil}},
			},
		},
		{name: "absent leaves pointers nil and applies defaults", raw: map[string]any{}, want: decoded{Max: 10}},
		{name: "negative into unsigned", raw: map[string]any{"max": -1}, wantField: "max"},
		{name: "overflow int8", raw: map[string]any{"small": 300}, wantField: "small"},
		{name: "wrong type", raw: map[string]any{"enabled": "maybe"}, wantField: "enabled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &framework.FieldData{Raw: tc.raw, Schema: decodeSchema}
			var got decoded
			err := d.Decode(&got)
			if tc.wantField != "" {
				var ire *logical.InvalidRequestError
				if !errors.As(err, &ire) || ire.Field != tc.wantField {
					t.Fatalf("Decode() = %v, want InvalidRequestError on %q", err, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Decode = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeProgrammerErrors(t *testing.T) {
	d := &framework.FieldData{Raw: map[string]any{"name": "x"}, Schema: decodeSchema}
	var notStruct int
	var badTag struct {
		X string `json:"nope"`
	}
	var badType struct {
		Name int `json:"name"`
	}
	tests := []struct {
		name string
		out  any
	}{
		{"nil", nil},
		{"non-pointer", decoded{}},
		{"pointer to non-struct", &notStruct},
		{"tag without schema", &badTag},
		{"incompatible type", &badType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := d.Decode(tc.out); !errors.Is(err, framework.ErrDecode) {
				t.Fatalf("Decode() = %v, want ErrDecode", err)
			}
		})
	}
}

func TestDecodeData(t *testing.T) {
	ninety := framework.Duration(90 * time.Second)
	schema := map[string]*framework.FieldSchema{
		"name":    {Type: framework.TypeString, Required: true},
		"ttl":     {Type: framework.TypeDuration, Default: "1h"},
		"other":   {Type: framework.TypeInt},
		"ttl_too": {Type: framework.TypeDuration},
	}
	type target struct {
		Name string              `json:"name"`
		TTL  time.Duration       `json:"ttl"`
		Also *framework.Duration `json:"ttl_too"`
	}
	tests := []struct {
		name      string
		raw       map[string]any
		want      target
		wantField string // non-empty: expect InvalidRequestError on this field
	}{
		{name: "decodes and applies defaults", raw: map[string]any{"name": "n", "unknown": true}, want: target{Name: "n", TTL: time.Hour}},
		{name: "parses durations", raw: map[string]any{"name": "n", "ttl": "7d"}, want: target{Name: "n", TTL: 7 * 24 * time.Hour}},
		{name: "into a Duration", raw: map[string]any{"name": "n", "ttl_too": "90"}, want: target{Name: "n", TTL: time.Hour, Also: &ninety}},
		{name: "required field", raw: map[string]any{"ttl": "1h"}, wantField: "name"},
		{name: "null required field", raw: map[string]any{"name": nil}, wantField: "name"},
		{name: "bad duration", raw: map[string]any{"name": "n", "ttl": "soon"}, wantField: "ttl"},
		{name: "schema field the struct lacks is validated too", raw: map[string]any{"name": "n", "other": "x"}, wantField: "other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got target
			err := framework.DecodeData(tc.raw, schema, &got)
			if tc.wantField != "" {
				var ire *logical.InvalidRequestError
				if !errors.As(err, &ire) || ire.Field != tc.wantField || !errors.Is(err, logical.ErrInvalidRequest) {
					t.Fatalf("DecodeData() = %v, want InvalidRequestError on %q", err, tc.wantField)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("DecodeData() = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestDecodeDataErrorText(t *testing.T) {
	schema := map[string]*framework.FieldSchema{"ttl": {Type: framework.TypeDuration}}
	var out struct {
		TTL time.Duration `json:"ttl"`
	}
	err := framework.DecodeData(map[string]any{"ttl": "soon"}, schema, &out)
	if want := `ttl: invalid duration: not a number of seconds or a duration such as "1h30m" or "7d"`; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestDecodeDataProgrammerErrors(t *testing.T) {
	var out struct {
		X string `json:"x"`
	}
	tests := []struct {
		name   string
		schema map[string]*framework.FieldSchema
		out    any
	}{
		{"nil schema entry", map[string]*framework.FieldSchema{"x": nil}, &out},
		{"untyped schema entry", map[string]*framework.FieldSchema{"x": {}}, &out},
		{"not a pointer", map[string]*framework.FieldSchema{"x": {Type: framework.TypeString}}, out},
		{"tag without schema", map[string]*framework.FieldSchema{}, &out},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := framework.DecodeData(map[string]any{"x": "v"}, tc.schema, tc.out); !errors.Is(err, framework.ErrDecode) {
				t.Fatalf("DecodeData() = %v, want ErrDecode", err)
			}
		})
	}
}
