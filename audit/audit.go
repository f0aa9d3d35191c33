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
// line per entry by group commit: a caller that finds the device idle
// writes its line itself; callers that arrive during a write queue their
// lines, and the first of them writes them all in the next write. A
// caller encodes its entry itself (it keeps nothing of it); the writer
// appends the chain fields and writes. A call returns once its entry is
// written (FsyncMode says when it is also on disk). A queued call never
// waits longer than Options.Wait (ErrTimeout); a call that is writing is
// bounded by the writer itself (a socket's write deadline, a file write,
// and with FsyncAlways the sync). A FileDevice never leaves a partial
// line after a failed write: it truncates the file back and the batch
// fails.
//
// # Line format
//
// Request and response lines have Vault's shape: type, time, auth
// (client_token and accessor as "hmac-sha256:<hex>", display_name,
// policies, metadata, entity_id), request (id, operation, mount_type,
// path, data, remote_address), response (data, secret.lease_id,
// status_code when known), error; plus cedar (decision "allow"/"deny",
// policy_ids), hmac_key_gen, seq and prev_hash. Every leaf of request and
// response data is HMAC'd (maps and lists keep their keys and shape; a
// non-string leaf is HMAC'd as its JSON encoding; null stays null).
// Options.PlainAccessor writes the accessor in the clear (Vault's
// hmac_accessor=false) and Options.LogRaw HMACs nothing (Vault's
// log_raw). Options.Prefix is written before every line's JSON (Vault's
// file device prefix); a line is the prefix and the JSON, and its hash
// and signature cover both.
//
// # HMAC keys
//
// Generation g of a device's 32-byte root key is
// key_g = HMAC-SHA256(root, "secretum-audit-hmac" || uint64-big-endian(g)).
// Each line names its generation, and Hash recomputes a value's HMAC
// from the root key. At every start a device begins generation gen0 =
// seq0, the seq of its open checkpoint (below), then moves to the next
// generation every Options.RatchetEvery entries (Reopen does not change
// it). A line's generation is never above its seq (generations advance
// at most once per entry, seqs at least once), and a start's seq0 is
// above every seq written before it anywhere (see Seq reservation), so
// its generations are above every generation used before it: no two
// runs of a device, on any node, share a key generation.
//
// # Chain rule
//
// Every line has seq and prev_hash, the hex SHA-256 of the previous
// line's bytes exactly as written (prefix included), without its
// newline. The first line a device writes at every start, and in every
// new file after Reopen, is a signed open checkpoint. At a start its seq
// is seq0 = max(last seq + 1, Options.Floor, 1), where the last seq is
// that of the file's last line (or of Options.Resume for an empty file;
// 0 for a new chain), and its prev_hash is the hash of that line (64
// zeros for a new chain); this is the only place seq may jump forward.
// Every other line has the previous line's seq + 1, checkpoints included,
// across restarts and rotations. After every Options.CheckpointEvery
// entries the device writes an interval checkpoint, on Reopen a rotate
// checkpoint as the last line of the old file, and on Close a close
// checkpoint: every file a device writes begins with an open checkpoint
// and, when closed cleanly, ends with a rotate or close checkpoint.
//
//	{"time":..,"type":"checkpoint","hmac_key_gen":g,"seq":n,"prev_hash":..,"count":c,"key_id":..,"reason":"open|interval|rotate|close","signature":"<base64>"}
//
// The signature is Ed25519 over the line's bytes (prefix included)
// without the `,"signature":"..."` field (the field is always last);
// key_id is KeyID of the signing key and count the entries since the
// previous checkpoint written since the device opened (informational).
//
// # Seq reservation
//
// Each node of a cluster has its own log file per device and only the
// leader writes, so after a failover another node's device continues the
// device's seqs in its own file. Options.Reserve makes those seqs unique:
// a device reserves the seqs below seq0 + Options.ReserveBlock before it
// writes, extends the reservation in the background as it writes, and
// never writes a line at or above the reserved bound (ErrReservation);
// the server persists each reservation through raft and starts every
// device with Options.Floor at or above every reservation made, so a new
// leader's device starts with a jump past the old leader's seqs.
//
// # Verification
//
// Verify reads the files of a log oldest first and reports the first bad
// line (see Reason). seq rises by exactly one per line except at an open
// checkpoint whose signature verified (or, without a public key, was not
// checked), which may jump forward, never back; Report.Segments counts
// open checkpoints and Report.Gaps the jumps. A log starts at seq 1, or
// at an open checkpoint, with a zero prev_hash (AllowPartialHead accepts
// another start). A log is truncated when a file ends mid-line, when its
// last line is not a close or rotate checkpoint (a live device's log, or
// one cut by a crash or power loss; VerifyOptions.AllowOpenTail accepts
// it), or when an open checkpoint follows a line that is not a close or
// rotate checkpoint: the run before it stopped uncleanly and the entries
// it wrote last may be lost (VerifyOptions.AllowUncleanStop accepts it
// and counts it in Report.UncleanStops).
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
	// ResponseClear names top-level ResponseData keys written as they are
	// (a certificate's serial number, a key version): the engine vouches
	// they are not secret. Every other value is HMAC'd.
	ResponseClear []string
	// Error is the client-visible failure of a response ("" on success).
	Error string
	// LeaseID is the lease of a response's secret, if any, written as
	// response.secret.lease_id in the clear, as Vault does.
	LeaseID string
	// Status is the response's HTTP-equivalent status (0: unknown),
	// written as response.status_code when not 0 (responses only).
	Status int
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
