// Package framework lets an engine declare its routes as data: each Path
// has an anchored regexp pattern, a schema for its fields and a handler per
// operation. Backend routes a logical.Request to the first matching Path,
// validates the request data against the schema and hands the handler a
// FieldData that decodes into typed structs.
//
// It is a deliberately smaller cousin of OpenBao's sdk/framework: no help
// or OpenAPI generation, no secrets/renewal machinery, no invalidation hooks.
package framework

import (
	"context"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// FieldType is the type a field's raw value is parsed into.
type FieldType int

// Field types and the Go values they parse to. Parsing is lenient in the
// way Vault's is: JSON numbers, numeric strings and json.Number all become
// ints; "true"/"false" strings become bools; and so on. See parse.go.
const (
	// TypeString parses to string; numbers and bools are formatted.
	TypeString FieldType = iota + 1
	// TypeInt parses to int from a number or a decimal string.
	TypeInt
	// TypeBool parses to bool from a bool, "true"/"false"/"1"/"0", or 0/1.
	TypeBool
	// TypeDuration parses to time.Duration as ParseDuration does (Vault's
	// parseutil.ParseDurationSecond): integer seconds as a number or a
	// string, a Go duration string such as "1h30m", or days ("7d").
	TypeDuration
	// TypeMap parses to map[string]any (a JSON object).
	TypeMap
	// TypeStringSlice parses to []string from a JSON array of scalars or a
	// comma-separated string.
	TypeStringSlice
	// TypeIntSlice parses to []int from a JSON array, a single number or a
	// comma-separated string ("1,2,3"), as Vault's TypeCommaIntSlice.
	TypeIntSlice
	// TypeStringMap parses to map[string]string from a JSON object whose
	// values are scalars (Vault's TypeKVPairs).
	TypeStringMap
)

// String returns the type's name as used in error messages.
func (t FieldType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeBool:
		return "bool"
	case TypeDuration:
		return "duration"
	case TypeMap:
		return "map"
	case TypeStringSlice:
		return "string slice"
	case TypeIntSlice:
		return "int slice"
	case TypeStringMap:
		return "string map"
	default:
		return "unknown"
	}
}

// FieldSchema describes one field a Path accepts.
type FieldSchema struct {
	// Type is what the raw value must parse to.
	Type FieldType
	// Default is used when the request does not carry the field. It is
	// parsed like a raw value, so "1h" is a valid duration default.
	Default any
	// Description documents the field.
	Description string
	// Required makes a request without the field a logical.InvalidRequest.
	Required bool
}

// OperationHandler serves one operation on a Path. d holds the request data
// (body or query) merged with the pattern's named captures, validated
// against the Path's Fields. Handlers follow logical.Backend's contract:
// (nil, nil) for "done, no content", sentinel errors for failures.
type OperationHandler func(ctx context.Context, req *logical.Request, d *FieldData) (*logical.Response, error)

// ExistenceFunc reports whether the target of a write exists, so core can
// tell a create from an update.
type ExistenceFunc func(ctx context.Context, req *logical.Request, d *FieldData) (bool, error)

// Path is one route.
type Path struct {
	// Pattern is a regular expression matched against the whole request
	// path (it is anchored with ^ and $ if it is not already). Named
	// capture groups, e.g. (?P<name>.+), become string fields; declare them
	// in Fields to give them another type, a description or a default.
	Pattern string
	// Fields is the schema of the data the path accepts. Raw fields not in
	// the schema are ignored, as Vault does.
	Fields map[string]*FieldSchema
	// Operations maps each supported operation to its handler. A missing
	// CreateOperation falls back to UpdateOperation and vice versa.
	Operations map[logical.Operation]OperationHandler
	// ExistenceCheck, when set, lets core distinguish create from update.
	ExistenceCheck ExistenceFunc
	// HelpSynopsis is a one-line description of the path.
	HelpSynopsis string

	// Unauthenticated, Sudo and Local are the path's logical.RouteInfo:
	// whether it runs without a token, needs sudo, and is answered by the
	// receiving node whatever its state.
	Unauthenticated bool
	Sudo            bool
	Local           bool
	// RawBody hands the handler the request body as a stream
	// (logical.Request.Body) instead of decoding it into the fields.
	RawBody bool
	// Actions names the authorization action of an operation when it is
	// not the operation itself.
	Actions map[logical.Operation]string
}

// routeInfo is the path's declared RouteInfo for op.
func (p *Path) routeInfo(op logical.Operation) logical.RouteInfo {
	return logical.RouteInfo{Unauthenticated: p.Unauthenticated, Sudo: p.Sudo, Local: p.Local, RawBody: p.RawBody, Action: p.Actions[op]}
}

// handler returns the handler for op, applying the create/update fallback.
func (p *Path) handler(op logical.Operation) OperationHandler {
	if h, ok := p.Operations[op]; ok && h != nil {
		return h
	}
	switch op {
	case logical.CreateOperation:
		return p.Operations[logical.UpdateOperation]
	case logical.UpdateOperation:
		return p.Operations[logical.CreateOperation]
	}
	return nil
}
