// Package audit is the audit stage of the request pipeline. server/core
// hands the Broker every request once it is authenticated and authorized,
// before it is routed, and every response before it is returned; a
// request the Broker cannot record is not served (fail closed).
//
// Until audit devices exist the pipeline runs with Nop, which records
// nothing.
package audit

import (
	"context"
	"time"
)

// Auth describes the caller of an audited request.
type Auth struct {
	// Accessor, EntityID, DisplayName and Policies are the token's; all
	// empty for an unauthenticated route.
	Accessor    string
	EntityID    string
	DisplayName string
	Policies    []string
	// ClientToken is the caller's token, when the pipeline passes it (a
	// device writes only its HMAC).
	ClientToken string
	// Metadata is the token's metadata, written as is (not HMAC'd, as in
	// Vault).
	Metadata map[string]string
}

// Decision is the authorization outcome recorded with a request.
type Decision struct {
	Allowed   bool
	PolicyIDs []string
}

// Entry is one audited request or response. The pipeline owns it and
// every map and slice it references: a Broker must copy (or HMAC) what it
// keeps and must never modify them.
type Entry struct {
	// Time is when the request arrived; RequestID its id.
	Time      time.Time
	RequestID string
	// Operation, Path, MountType and RemoteAddr describe the request; Path
	// is the full path as the client sent it.
	Operation  string
	Path       string
	MountType  string
	RemoteAddr string
	// Unauthenticated marks a route that runs without a token.
	Unauthenticated bool
	Auth            Auth
	Decision        Decision
	// RequestData is the request's decoded data (secret values included:
	// a device must HMAC them).
	RequestData map[string]any
	// ResponseData is the response's data (responses only).
	ResponseData map[string]any
	// Error is the client-visible failure of a response ("" on success).
	Error string
	// LeaseID is the lease of a response's secret, if any, written as
	// response.secret.lease_id in the clear, as Vault does.
	LeaseID string
}

// Broker records audit entries. Both methods must be safe for concurrent
// use. An error means the entry was not recorded by any device; the
// pipeline then refuses the request (or, for a response, withholds it).
type Broker interface {
	LogRequest(ctx context.Context, e *Entry) error
	LogResponse(ctx context.Context, e *Entry) error
}

// Nop is a Broker that records nothing.
type Nop struct{}

var _ Broker = Nop{}

// LogRequest implements Broker.
func (Nop) LogRequest(context.Context, *Entry) error { return nil }

// LogResponse implements Broker.
func (Nop) LogResponse(context.Context, *Entry) error { return nil }
