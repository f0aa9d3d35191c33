package token

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// handler serves one auth/token/ path for an authenticated caller. d pairs
// the request data with the route's fields; the handler decodes it
// (d.Decode into a typed struct) at the point Vault would, so permission
// checks that come first in Vault still come first here.
type handler func(s *Store, ctx context.Context, req *logical.Request, d *framework.FieldData, caller *Entry) (*logical.Response, error)

// route is one auth/token/ path: the operations it answers, the fields it
// reads and its handler.
type route struct {
	ops    []logical.Operation
	fields map[string]*framework.FieldSchema
	handle handler
}

var (
	writeOps = []logical.Operation{logical.UpdateOperation, logical.CreateOperation}
	readOps  = []logical.Operation{logical.ReadOperation, logical.UpdateOperation, logical.CreateOperation}
)

// commonFields are the fields several paths share; each route picks its
// own with fieldsOf. create's fields are createFields (path_create.go).
var commonFields = map[string]*framework.FieldSchema{
	"token":     {Type: framework.TypeString, Description: "The token to act on."},
	"accessor":  {Type: framework.TypeString, Description: "The accessor of the token to act on."},
	"increment": {Type: framework.TypeDuration, Description: "The requested new TTL of the token, counted from now."},
}

// fieldsOf returns the commonFields named. It runs while routes is
// initialised and panics on a name commonFields lacks, so a typo fails
// every test of the package instead of a request.
func fieldsOf(names ...string) map[string]*framework.FieldSchema {
	out := make(map[string]*framework.FieldSchema, len(names))
	for _, n := range names {
		s, ok := commonFields[n]
		if !ok {
			panic("token: no common field " + n)
		}
		out[n] = s
	}
	return out
}

// routes declares every path the store serves, relative to "auth/token/".
var routes = map[string]route{
	"create":          {writeOps, createFields, (*Store).handleCreate},
	"create-orphan":   {writeOps, createFields, (*Store).handleCreateOrphan},
	"lookup":          {readOps, fieldsOf("token"), (*Store).handleLookup},
	"lookup-self":     {readOps, nil, (*Store).handleLookupSelf},
	"lookup-accessor": {writeOps, fieldsOf("accessor"), (*Store).handleLookupAccessor},
	"renew":           {writeOps, fieldsOf("token", "increment"), (*Store).handleRenew},
	"renew-self":      {writeOps, fieldsOf("increment"), (*Store).handleRenewSelf},
	"renew-accessor":  {writeOps, fieldsOf("accessor", "increment"), (*Store).handleRenewAccessor},
	"revoke":          {writeOps, fieldsOf("token"), (*Store).handleRevoke},
	"revoke-self":     {writeOps, nil, (*Store).handleRevokeSelf},
	"revoke-accessor": {writeOps, fieldsOf("accessor"), (*Store).handleRevokeAccessor},
	"revoke-orphan":   {writeOps, fieldsOf("token"), (*Store).handleRevokeOrphan},
	"accessors":       {[]logical.Operation{logical.ListOperation}, nil, (*Store).handleAccessors},
	"tidy":            {writeOps, nil, (*Store).handleTidy},
}

// HandleRequest serves auth/token/<req.Path> for caller, the entry
// Authenticate returned for req.ClientToken. Authorization of the path
// itself is the pipeline's job; the store enforces only the token rules
// (root-only options, policy subsets, ownership of "-self" paths).
func (s *Store) HandleRequest(ctx context.Context, req *logical.Request, caller *Entry) (*logical.Response, error) {
	if _, err := s.hmacKey(); err != nil {
		return nil, err
	}
	r, ok := routes[strings.TrimSuffix(req.Path, "/")]
	if !ok {
		return nil, fmt.Errorf("token: auth/token/%s: %w", req.Path, logical.ErrUnsupportedPath)
	}
	if !slices.Contains(r.ops, req.Operation) {
		return nil, fmt.Errorf("token: %s auth/token/%s: %w", req.Operation, req.Path, logical.ErrUnsupportedOperation)
	}
	if caller == nil || caller.id == "" {
		return nil, ErrInvalidToken
	}
	return r.handle(s, ctx, req, &framework.FieldData{Raw: req.Data, Schema: r.fields}, caller)
}

// tokenField returns the "token" field, "" when absent.
func tokenField(d *framework.FieldData) (string, error) {
	var in struct {
		Token string `json:"token"`
	}
	err := d.Decode(&in)
	return in.Token, err
}

// requiredToken returns the "token" field or a 400 naming it.
func requiredToken(d *framework.FieldData) (string, error) {
	raw, err := tokenField(d)
	if err != nil {
		return "", err
	}
	if raw == "" {
		return "", logical.InvalidRequest("token", "missing token ID")
	}
	return raw, nil
}

// requiredAccessor returns the "accessor" field or a 400 naming it.
func requiredAccessor(d *framework.FieldData) (string, error) {
	var in struct {
		Accessor string `json:"accessor"`
	}
	if err := d.Decode(&in); err != nil {
		return "", err
	}
	if in.Accessor == "" {
		return "", logical.InvalidRequest("accessor", "missing accessor")
	}
	return in.Accessor, nil
}

// nonNegative refuses a negative duration in field name, in the words
// the store has always used.
func nonNegative(name string, d time.Duration) error {
	if d < 0 {
		return logical.InvalidRequest(name, "%s must be positive", name)
	}
	return nil
}
