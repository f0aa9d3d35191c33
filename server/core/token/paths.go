package token

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// handler serves one auth/token/ path for an authenticated caller.
type handler func(s *Store, ctx context.Context, req *logical.Request, caller *Entry) (*logical.Response, error)

// route is one auth/token/ path: the operations it answers and its handler.
type route struct {
	ops    []logical.Operation
	handle handler
}

var (
	writeOps = []logical.Operation{logical.UpdateOperation, logical.CreateOperation}
	readOps  = []logical.Operation{logical.ReadOperation, logical.UpdateOperation, logical.CreateOperation}
)

// routes declares every path the store serves, relative to "auth/token/".
var routes = map[string]route{
	"create":          {writeOps, (*Store).handleCreate},
	"create-orphan":   {writeOps, (*Store).handleCreateOrphan},
	"lookup":          {readOps, (*Store).handleLookup},
	"lookup-self":     {readOps, (*Store).handleLookupSelf},
	"lookup-accessor": {writeOps, (*Store).handleLookupAccessor},
	"renew":           {writeOps, (*Store).handleRenew},
	"renew-self":      {writeOps, (*Store).handleRenewSelf},
	"renew-accessor":  {writeOps, (*Store).handleRenewAccessor},
	"revoke":          {writeOps, (*Store).handleRevoke},
	"revoke-self":     {writeOps, (*Store).handleRevokeSelf},
	"revoke-accessor": {writeOps, (*Store).handleRevokeAccessor},
	"revoke-orphan":   {writeOps, (*Store).handleRevokeOrphan},
	"accessors":       {[]logical.Operation{logical.ListOperation}, (*Store).handleAccessors},
	"tidy":            {writeOps, (*Store).handleTidy},
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
	return r.handle(s, ctx, req, caller)
}

// requiredToken returns the "token" field or a 400 naming it.
func requiredToken(req *logical.Request) (string, error) {
	raw, err := fields(req.Data).str("token")
	if err != nil {
		return "", err
	}
	if raw == "" {
		return "", logical.InvalidRequest("token", "missing token ID")
	}
	return raw, nil
}

// requiredAccessor returns the "accessor" field or a 400 naming it.
func requiredAccessor(req *logical.Request) (string, error) {
	a, err := fields(req.Data).str("accessor")
	if err != nil {
		return "", err
	}
	if a == "" {
		return "", logical.InvalidRequest("accessor", "missing accessor")
	}
	return a, nil
}
