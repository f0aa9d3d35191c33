// Package audit is the audit stage of the request pipeline. server/core
// hands the Broker every request once it is authenticated and authorized,
// before it is routed, and every response before it is returned; a
// request the Broker cannot record is not served (fail closed).
//
// Until audit devices are wired in, the pipeline runs with Nop, which
// records nothing.
//
// # Devices
//
// A Device (NewWriterDevice, or OpenFile for a FileDevice) writes one JSON
// line per entry through a single writer goroutine that batches the
// entries it finds waiting into one write. A caller encodes its entry
// itself (it keeps nothing of it); the writer appends the chain fields and
// writes. A call returns once its entry is written (FsyncMode says when it is also on disk) and never waits
// longer than Options.Wait (ErrTimeout).
//
// # Line format
//
// Request and response lines have Vault's shape: type, time, auth
// (client_token and accessor as "hmac-sha256:<hex>", display_name,
// policies, metadata, entity_id), request (id, operation, mount_type,
// path, data, remote_address), response (data, secret.lease_id), error;
// plus cedar (decision "allow"/"deny", policy_ids), hmac_key_gen, seq and
// prev_hash. Every leaf of request and response data is HMAC'd (maps and
// lists keep their keys and shape; a non-string leaf is HMAC'd as its JSON
// encoding; null stays null).
//
// # HMAC keys
//
// Generation g of a device's 32-byte root key is
// key_g = HMAC-SHA256(root, "secretum-audit-hmac" || uint64-big-endian(g)).
// A device starts a new generation every Options.RatchetEvery entries and
// at every open; each line names its generation, and Hash recomputes a
// value's HMAC from the root key.
//
// # Chain rule
//
// Every line has seq (1 for the first line of a device, then +1 per line,
// checkpoints included, continuing across restarts and rotations) and
// prev_hash, the hex SHA-256 of the previous line's bytes exactly as
// written, without its newline (64 zeros for seq 1). After every
// Options.CheckpointEvery entries, and on Reopen and Close, the device
// writes a checkpoint line:
//
//	{"time":..,"type":"checkpoint","hmac_key_gen":g,"seq":n,"prev_hash":..,"count":c,"key_id":..,"signature":"<base64>"}
//
// whose signature is Ed25519 over the line's bytes without the
// `,"signature":"..."` field (the field is always last); key_id is KeyID
// of the signing key and count the entries since the previous checkpoint
// written since the device opened (informational).
//
// # Verification
//
// Verify reads the files of a log oldest first and reports the first bad
// line (see Reason). A log is truncated when a file ends mid-line, or
// when its last line is not a checkpoint: a device ends every file with
// a checkpoint on Reopen and Close, so only a live device's log, one cut
// by a crash or power loss, or one whose tail was removed ends otherwise
// (VerifyOptions.AllowOpenTail accepts a live log).
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
