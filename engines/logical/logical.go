// Package logical defines the contract between the core request pipeline
// and the secret engines: Request, Response, Backend and the errors engines
// return. It knows nothing of HTTP, gRPC or raft; server/api alone maps
// these errors to status codes.
package logical

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/secretumvault/secretumvault/storage"
)

// Operation is what a request does to a path.
type Operation string

// The operations a request can carry. HTTP GET maps to ReadOperation (or
// ListOperation with ?list=true or the LIST method), PUT/POST to
// UpdateOperation (core turns it into CreateOperation when the target does
// not exist and the path has an existence check), DELETE to DeleteOperation.
const (
	ReadOperation   Operation = "read"
	ListOperation   Operation = "list"
	CreateOperation Operation = "create"
	UpdateOperation Operation = "update"
	PatchOperation  Operation = "patch"
	DeleteOperation Operation = "delete"
	// RenewOperation and RevokeOperation are sent by the expiration
	// manager, never by clients: renew or revoke the leased secret in
	// Request.Secret (see Secret).
	RenewOperation  Operation = "renew"
	RevokeOperation Operation = "revoke"
)

// Storage is the chrooted storage view a mount sees.
type Storage = storage.Backend

// Connection describes the client connection a request came from.
type Connection struct {
	// RemoteAddr is the client's IP address (for a request a standby
	// forwarded, the original client's, never the standby's).
	RemoteAddr string
	// PeerCertificates is the client's TLS certificate chain as presented
	// on the API listener (leaf first), unverified: the cert auth method
	// verifies it against its own trusted CAs. Empty without client TLS.
	PeerCertificates []*x509.Certificate
}

// Request is one operation against a mounted engine.
type Request struct {
	// ID is the request id, echoed as request_id in the response envelope.
	ID string
	// Operation is what to do.
	Operation Operation
	// Path is relative to the mount (no mount prefix, no leading slash).
	Path string
	// MountPoint is the mount path with a trailing slash, e.g. "secret/".
	MountPoint string
	// MountType is the engine type, e.g. "kv".
	MountType string
	// Data is the decoded JSON body (writes) or query parameters (reads).
	Data map[string]any
	// Secret is the leased secret of a RenewOperation or RevokeOperation
	// request (nil otherwise).
	Secret *Secret
	// Storage is the mount's storage view; set by the router.
	Storage Storage
	// ClientToken is the raw token; engines other than auth/token never see it.
	ClientToken string
	// Connection is the client connection; may be nil.
	Connection *Connection
	// Body, when set, is the request body not yet read. The transport
	// passes it unread so that the pipeline reads it only after the token
	// is authenticated (an unauthenticated route reads at most a small
	// limit): the pipeline decodes it as a JSON object into Data, except
	// for a RawBody route (a snapshot upload), whose handler gets it as a
	// stream. The transport has already applied its size limit.
	Body io.Reader
	// ResponseWriter, when set, receives the raw response of a binary
	// endpoint (a snapshot download); the handler writes to it and
	// returns (nil, nil). A handler that has written must not fail
	// silently: an error after the first byte aborts the transport.
	ResponseWriter io.Writer
}

// RouteInfo is what the pipeline must know about a request before the
// backend runs it, declared by the backend's route table as data.
type RouteInfo struct {
	// Unauthenticated routes run without a client token (sys/init,
	// sys/unseal, sys/seal-status, sys/health, the join handshake).
	Unauthenticated bool
	// Sudo routes need the root token (a sudo capability once policies
	// exist): sys/ writes, acting on other tokens, raft operations.
	Sudo bool
	// Local routes describe or change the node that received them: they
	// are answered on that node whatever its state (sealed, standby),
	// and their handlers take the seal-state locks they need themselves.
	Local bool
	// Action is the authorization action when it is not the operation
	// itself (e.g. "generate" for a credential read); "" means Operation.
	Action string
	// RawBody routes take the request body as a stream (Request.Body)
	// instead of JSON data.
	RawBody bool
}

// RouteDescriber is the optional power of a Backend that declares its
// routes' RouteInfo. The pipeline asks it before authenticating; a backend
// without it gets the zero RouteInfo (authenticated, no sudo, not local).
// ok=false means no route matches the path.
type RouteDescriber interface {
	RouteInfo(path string, op Operation) (info RouteInfo, ok bool)
}

// TTLGranter is the optional power of a backend that can tell, before it
// runs a request, the TTL it would grant (a role's default TTL for a
// credential read). The pipeline asks it for a request that sends no ttl
// parameter, so that policies can bound context.ttl. ok=false means no
// TTL applies.
type TTLGranter interface {
	GrantTTL(ctx context.Context, req *Request) (ttl time.Duration, ok bool, err error)
}

// Secret describes a leased secret returned by an engine. An engine
// returns it with a response (Response.Secret) and its revocation data;
// the pipeline's lease stage gives it a lease id, bounds its TTL by the
// role's and the mount's maximum, and persists it. At expiry, on
// sys/leases/revoke and when the token that created it is revoked, the
// expiration manager sends the engine a RevokeOperation request with
// the Secret; on sys/leases/renew a RenewOperation request, whose answer
// carries the Secret with its new TTL.
type Secret struct {
	// LeaseID is set by core (<mount><path>/<random>).
	LeaseID string
	// TTL is the lease duration the engine grants (0: the mount's
	// default); MaxTTL the engine's cap from issue time (a role's
	// max_ttl; 0: the mount's).
	TTL    time.Duration
	MaxTTL time.Duration
	// Renewable says whether sys/leases/renew may extend it.
	Renewable bool
	// Type names the engine's kind of secret ("creds"), which routes
	// renew and revoke requests to the engine's handlers.
	Type string
	// InternalData is what the engine needs to renew or revoke (a
	// username, a role name); stored with the lease behind the barrier,
	// never returned to clients.
	InternalData map[string]any
	// IssueTime is when the lease was created (set by core on renew and
	// revoke requests).
	IssueTime time.Time
}

// Auth is the auth block of a response that created or looked up a token.
//
// An auth method's login answers an Auth with no ClientToken: it vouches
// for an identity (Alias) and says what token it is owed (policies, TTLs,
// bound CIDRs); core resolves the alias to an identity entity, mints the
// token bound to that entity, and fills ClientToken, Accessor, EntityID,
// LeaseDuration and the rest before the client sees the block. Auth
// methods never mint tokens themselves. The fields tagged "-" are that
// request to core and are never rendered.
type Auth struct {
	ClientToken   string            `json:"client_token"`
	Accessor      string            `json:"accessor"`
	Policies      []string          `json:"policies"`
	TokenPolicies []string          `json:"token_policies"`
	Metadata      map[string]string `json:"metadata"`
	LeaseDuration int               `json:"lease_duration"`
	Renewable     bool              `json:"renewable"`
	EntityID      string            `json:"entity_id"`
	TokenType     string            `json:"token_type"`
	Orphan        bool              `json:"orphan"`
	NumUses       int               `json:"num_uses"`

	// Alias is the identity the auth method authenticated, unique within
	// its mount (a username, a role id, a certificate's role, a JWT's
	// user_claim). Required on a login.
	Alias *Alias `json:"-"`
	// EntityType is the Cedar type ("User" or "Service") of the entity
	// created for a first login: "Service" for machine logins (approle,
	// cert, jwt), "User" for human ones (userpass, keypair). An existing
	// entity keeps its type.
	EntityType string `json:"-"`
	// GroupNames are external groups the login asserts (a JWT's
	// groups_claim); core makes the entity a member of those groups for
	// this mount, replacing the previous login's set.
	GroupNames []string `json:"-"`
	// DisplayName of the token ("<mount>-<alias>" when empty).
	DisplayName string `json:"-"`
	// TTL, MaxTTL and Period of the token (0: the mount's defaults); the
	// mount's max_lease_ttl caps them.
	TTL    time.Duration `json:"-"`
	MaxTTL time.Duration `json:"-"`
	Period time.Duration `json:"-"`
	// BoundCIDRs restrict where the token may be used from (the role's
	// token_bound_cidrs); an empty list means anywhere.
	BoundCIDRs []string `json:"-"`
	// NoDefaultPolicy leaves "default" off the token's policies.
	NoDefaultPolicy bool `json:"-"`
}

// Alias is an identity as one auth mount knows it.
type Alias struct {
	// Name is unique within the mount (a username, a role_id, a JWT's
	// user_claim value).
	Name string
	// EntityName names the entity created at the alias's first login
	// (its Cedar id, e.g. Service::"ci"); "" means Name. Core picks
	// another name when it is taken by an unrelated entity.
	EntityName string
	// Metadata is stored on the entity alias (e.g. the role name).
	Metadata map[string]string
}

// Response is an engine's answer. A nil Response with a nil error means
// "done, nothing to return" (HTTP 204).
type Response struct {
	// Data is the response payload, rendered as "data" in the envelope.
	Data map[string]any
	// Secret, when set, is a lease on the returned data.
	Secret *Secret
	// Auth, when set, is rendered as "auth" in the envelope.
	Auth *Auth
	// Warnings are rendered as "warnings".
	Warnings []string
	// Raw, when set, replaces the envelope entirely: it is marshalled as
	// the whole JSON body (used by sys endpoints Vault answers without an
	// envelope, e.g. sys/seal-status).
	Raw map[string]any
	// Binary, when set, is the whole HTTP response instead of JSON: a
	// DER certificate or CRL, a PEM bundle, an OCSP response (Vault's
	// http_raw_body / http_content_type response data).
	Binary *Binary
	// Status is the HTTP status of a JSON answer that is neither a plain
	// success nor an error (0: 200): transit's batch with failed items is
	// a 400 that still carries batch_results, as Vault answers it.
	Status int
	// AuditClear names top-level Data keys whose values are not secret
	// and are written to the audit log in clear (a certificate's
	// serial_number, a key's version), as Vault's
	// audit_non_hmac_response_keys; every other value is HMAC'd.
	AuditClear []string
	// Redirect, Headers and friends are deliberately absent until needed.
}

// Binary is a non-JSON response body.
type Binary struct {
	// ContentType is the Content-Type header (e.g. "application/pkix-cert").
	ContentType string
	// Data is the body.
	Data []byte
	// Status is the HTTP status (0: 200).
	Status int
}

// Backend is one mounted engine instance.
//
// HandleRequest must be safe for concurrent use. It returns (nil, nil) for
// success without content, an error from this package's sentinel set (wrapped
// freely) for failures, and never a Response that carries an error.
type Backend interface {
	HandleRequest(ctx context.Context, req *Request) (*Response, error)
	// ExistenceCheck reports whether the target of a write exists, so core
	// can tell create from update. ok=false means the path has no check.
	ExistenceCheck(ctx context.Context, req *Request) (exists, ok bool, err error)
}

// BackendConfig is what a Factory gets when a mount is set up.
type BackendConfig struct {
	// MountPoint is the mount path with a trailing slash.
	MountPoint string
	// Config holds the mount's options (e.g. "version": "2" for kv).
	Config map[string]string
	// Storage is the mount's storage view, for initialisation.
	Storage Storage
	// System is what core offers engines beyond their storage (nil in
	// tests that need none).
	System SystemView
	// Logger is the server's logger for the mount (nil: discard). Never
	// log a secret.
	Logger *slog.Logger
}

// SystemView is what core offers an engine: password generation from the
// server's password policies (sys/policies/password) and the mount's TTL
// bounds.
type SystemView interface {
	// GeneratePassword generates a password from the named password
	// policy ("" means Vault's default policy: 20 characters with a
	// lowercase letter, an uppercase letter, a digit and "-").
	GeneratePassword(ctx context.Context, policy string) (string, error)
	// MountTTLs are the mount's default and maximum lease TTLs (tune).
	MountTTLs() (def, max time.Duration)
}

// WebhookPolicy is the optional power of a SystemView that decides which
// URLs an engine may call on its own (a KV secret's rotate_webhook, set
// by whoever may write the secret's metadata): AllowWebhook returns an
// error naming the rule when u is not allowed. The server allows only
// the hosts its configuration lists (rotation_webhook_hosts).
type WebhookPolicy interface {
	AllowWebhook(u *url.URL) error
}

// EventRecorder is the optional power of a SystemView that audits what an
// engine does on its own, outside any request (a scheduled password
// rotation): an entry pair with operation op on path (the full path,
// mount included) and the outcome err (nil: success; never a secret).
type EventRecorder interface {
	RecordEvent(ctx context.Context, op Operation, path string, err error)
}

// Cleaner is the optional power of a backend holding resources (database
// pools): core calls Cleanup when the mount is disabled and when the node
// stops being active, before the backend is dropped.
type Cleaner interface {
	Cleanup(ctx context.Context)
}

// Periodic is the optional power of a backend with scheduled work (static
// role rotation): core calls Periodic on the active node about once a
// second (never concurrently for one backend); an error is logged.
type Periodic interface {
	Periodic(ctx context.Context) error
}

// Factory builds an engine instance for one mount.
type Factory func(ctx context.Context, conf *BackendConfig) (Backend, error)
