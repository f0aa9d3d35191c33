// Package authz decides whether an authenticated request may proceed. The
// request pipeline (server/core) asks its Authorizer once per request,
// after authentication and before anything is audited or routed; nothing
// else in the server makes authorization decisions.
//
// The server's Authorizer is Cedar (cedar.go), fed with the stored Cedar
// documents and the Vault HCL policies compiled by authz/hcl. Interim
// keeps the rules of the server before policies (root may do anything,
// sudo routes need root, everything else is open to any valid token); it
// remains for tests that exercise the pipeline without policies.
package authz

import (
	"context"
	"time"
)

// Principal is who makes a request, as the token store authenticated it.
type Principal struct {
	// Root is true for a token carrying the root policy, which bypasses
	// every policy.
	Root bool
	// Accessor is the token's public handle; EntityID its identity, if any.
	Accessor string
	EntityID string
	// DisplayName and Policies are the token's.
	DisplayName string
	Policies    []string
	// EntityName and EntityType name the token's entity in Cedar
	// ("alice", "User" | "Service"); empty for a token without an
	// entity, which is Token::"<accessor>".
	EntityName string
	EntityType string
	// Groups maps each group the entity belongs to, directly or not, to
	// its parent groups (empty for a top-level group).
	Groups map[string][]string
	// Metadata is the entity's metadata (a token's metadata for a token
	// without an entity), exposed as the principal's Cedar tags:
	// principal.hasTag("team") && principal.getTag("team") == "payments".
	Metadata map[string]string
	// GroupMetadata is each group's metadata, exposed as its tags.
	GroupMetadata map[string]map[string]string
}

// Request is one authorization question. Every field is a copy the
// Authorizer may keep.
type Request struct {
	Principal Principal
	// Operation is the logical operation ("read", "update", ...); Action
	// the action the route declares for it ("" means Operation).
	Operation string
	Action    string
	// Path is the full request path as the client sent it (after /v1/).
	Path string
	// MountType is the type of the mount owning Path ("system", "token",
	// "kv", ...).
	MountType string
	// Sudo reports that the route is privileged (sys/ writes, acting on
	// other tokens, raft operations).
	Sudo bool
	// RemoteAddr is the client's address ("" when unknown).
	RemoteAddr string
	// Time is when the request arrived.
	Time time.Time
	// TTL is the requested ttl parameter or, when none is sent, the TTL
	// the backend will grant; HasTTL says whether there is one.
	TTL    time.Duration
	HasTTL bool
	// KVPath is a KV v2 path without its data/ or metadata/ segment.
	KVPath string
}

// Decision is an Authorizer's answer.
type Decision struct {
	// Allowed is the verdict.
	Allowed bool
	// PolicyIDs names the policies that decided (empty under Interim).
	PolicyIDs []string
	// Reason says, in a sentence a client may read, why a request was
	// denied ("" when allowed).
	Reason string
	// Errors are policy evaluation errors (a policy that could not be
	// evaluated for this request is skipped, as Cedar specifies).
	Errors []string
}

// Authorizer decides requests. Authorize must be safe for concurrent use
// and must not block on I/O for long: it runs on every request. An error
// means the decision could not be made (the pipeline fails closed); a
// denial is a Decision with Allowed false, not an error.
type Authorizer interface {
	Authorize(ctx context.Context, req *Request) (Decision, error)
}

// Interim is the Authorizer of a server without policies. See the package
// documentation for its rules.
type Interim struct{}

var _ Authorizer = Interim{}

// Authorize implements Authorizer.
func (Interim) Authorize(_ context.Context, req *Request) (Decision, error) {
	switch {
	case req.Principal.Root:
		return Decision{Allowed: true}, nil
	case req.Sudo || req.Action == "sudo":
		return Decision{Reason: "this path needs the root token"}, nil
	}
	return Decision{Allowed: true}, nil
}
