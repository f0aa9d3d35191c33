// Package token is the token store of the core pipeline: it mints, looks
// up, renews and revokes the service tokens clients present in
// X-Vault-Token, and serves the Vault-compatible auth/token/* endpoints.
//
// Raw tokens ("svs." + 32 base62 characters) never reach storage or logs:
// every token is stored under the hex HMAC-SHA256 of the raw value keyed by
// a per-cluster salt, and so is every accessor index. Tokens form a tree
// through their parents; revoking a token revokes its whole subtree, and a
// token whose ancestor expired or vanished is treated as nonexistent.
//
// The layout of the store's storage view is described in schema.go.
//
// A Store is safe for concurrent use once Setup has returned. Its methods
// return errors wrapping the sentinels below or those of engines/logical;
// only server/api turns them into status codes.
package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Sentinel errors of the token store.
var (
	// ErrInvalidToken: the token is unknown, expired, revoked or used up.
	// It wraps logical.ErrPermissionDenied (403).
	ErrInvalidToken = fmt.Errorf("token: invalid token: %w", logical.ErrPermissionDenied)
	// ErrNotSetup: the store is used before Setup loaded its salt.
	ErrNotSetup = errors.New("token: store not set up")
	// ErrInvalidOptions: Options.Validate rejected the configuration.
	ErrInvalidOptions = errors.New("token: invalid options")
	// ErrCorrupt: a stored token entry does not match its key.
	ErrCorrupt = errors.New("token: corrupt entry")
)

// Token type and policy names Vault clients expect.
const (
	// TypeService is the only token type this store issues.
	TypeService = "service"
	// RootPolicy is the policy that bypasses authorization.
	RootPolicy = "root"
	// DefaultPolicy is added to child tokens unless no_default_policy.
	DefaultPolicy = "default"
	// Prefix starts every raw token this store mints.
	Prefix = "svs."
)

// Options configures a Store. The zero value of a field means its default.
type Options struct {
	// Now is the clock; default time.Now. Tests inject a fake one.
	Now func() time.Time
	// Logger receives debug events (accessors only, never tokens).
	Logger *slog.Logger
	// MaxTTL caps every token's lifetime from its creation (default 768h).
	MaxTTL time.Duration
	// DefaultTTL is the TTL of a token created without one (default 768h).
	DefaultTTL time.Duration
	// Leases, when set, gives every token that expires a lease (see
	// Leaser); core sets it to the expiration manager.
	Leases Leaser
}

// DefaultOptions returns the defaults: 768h for both TTLs, the wall clock
// and a logger that discards.
func DefaultOptions() Options {
	return Options{
		Now:        time.Now,
		Logger:     slog.New(slog.DiscardHandler),
		MaxTTL:     768 * time.Hour,
		DefaultTTL: 768 * time.Hour,
	}
}

// withDefaults fills zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	if o.MaxTTL == 0 {
		o.MaxTTL = d.MaxTTL
	}
	if o.DefaultTTL == 0 {
		o.DefaultTTL = d.DefaultTTL
	}
	return o
}

// Validate reports an error naming the field for impossible settings
// (zero fields are taken as their defaults).
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case o.MaxTTL < 0:
		return fmt.Errorf("%w: MaxTTL must not be negative", ErrInvalidOptions)
	case o.DefaultTTL < 0:
		return fmt.Errorf("%w: DefaultTTL must not be negative", ErrInvalidOptions)
	case o.DefaultTTL > o.MaxTTL:
		return fmt.Errorf("%w: DefaultTTL %s exceeds MaxTTL %s", ErrInvalidOptions, o.DefaultTTL, o.MaxTTL)
	}
	return nil
}

// Entry is a token as the store knows it. It never holds the raw token.
// Entries returned by the Store are copies the caller owns.
type Entry struct {
	// Accessor is the token's public handle (lookup-accessor, revoke-accessor).
	Accessor string
	// Policies are the sanitized policy names, sorted; ["root"] for root tokens.
	Policies []string
	// DisplayName is "token", "token-<name>" or "root".
	DisplayName string
	// Meta is free-form metadata given at creation; may be nil.
	Meta map[string]string
	// EntityID names the identity behind the token, if any.
	EntityID string
	// TTL is the TTL the token was created with (0: never expires).
	TTL time.Duration
	// ExplicitMaxTTL caps the lifetime from creation, renewals included.
	ExplicitMaxTTL time.Duration
	// Period makes the token periodic: every renewal resets TTL to Period.
	Period time.Duration
	// CreationTime is when the token was minted.
	CreationTime time.Time
	// ExpireTime is when the token stops working; zero means never.
	ExpireTime time.Time
	// LastRenewalTime is the last successful renewal; zero if never renewed.
	LastRenewalTime time.Time
	// Renewable says whether renew may extend ExpireTime.
	Renewable bool
	// NumUses is the number of uses left; 0 means unlimited.
	NumUses int
	// Orphan is true for tokens without a parent.
	Orphan bool
	// Path is the creation path, e.g. "auth/token/create".
	Path string
	// BoundCIDRs restrict the client addresses the token may be used
	// from (CIDR blocks or addresses); empty means anywhere. The pipeline
	// enforces them (BoundTo).
	BoundCIDRs []string

	id      string // salted hash of the raw token: the storage key
	parent  string // salted hash of the parent token; "" for orphans
	limited bool   // created with num_uses > 0 (even once it reaches 0)
}

// IsRoot reports whether the token carries the root policy.
func (e *Entry) IsRoot() bool {
	return e != nil && slices.Contains(e.Policies, RootPolicy)
}

// expired reports whether the token is past its expiry at now.
func (e *Entry) expired(now time.Time) bool {
	return !e.ExpireTime.IsZero() && !now.Before(e.ExpireTime)
}

// clone returns a deep copy of e.
func (e *Entry) clone() *Entry {
	c := *e
	c.Policies = slices.Clone(e.Policies)
	c.Meta = maps.Clone(e.Meta)
	c.BoundCIDRs = slices.Clone(e.BoundCIDRs)
	return &c
}

// CreateParams describes a token minted through the Go API (auth methods,
// root generation). Policies are used as given (sanitized); no subset check
// is made: the caller vouches for them.
type CreateParams struct {
	// Policies of the new token; sanitized, "default" is not added.
	Policies []string
	// Parent is the parent token's entry; nil makes an orphan.
	Parent *Entry
	// DisplayName, Meta, EntityID and Path are stored as given.
	DisplayName string
	Meta        map[string]string
	EntityID    string
	Path        string
	// TTL (0: DefaultTTL, or never for root-policy tokens), ExplicitMaxTTL
	// and Period follow the same rules as auth/token/create.
	TTL            time.Duration
	ExplicitMaxTTL time.Duration
	Period         time.Duration
	// Renewable, NumUses as in auth/token/create.
	Renewable bool
	NumUses   int
	// BoundCIDRs as Entry.BoundCIDRs (validated by the caller).
	BoundCIDRs []string
}

// Store is the token store. See the package comment for its contract.
type Store struct {
	view    storage.Backend
	opts    Options
	log     *slog.Logger
	salt    atomic.Pointer[[]byte]
	txOK    atomic.Bool
	stripes [256]sync.RWMutex
	// renewing serialises the renewals of one token with the update of
	// its lease (held outside stripes; see renewResponse).
	renewing [64]sync.Mutex
}

// NewStore returns a Store over view, a barrier-encrypted storage view
// reserved for tokens (e.g. "sys/token/"). Call Setup before use.
func NewStore(view storage.Backend, opts Options) *Store {
	opts = opts.withDefaults()
	return &Store{view: view, opts: opts, log: opts.Logger}
}

// Setup loads the per-cluster salt from the view, creating it (32 random
// bytes) on first use. It is called after every unseal and is idempotent.
func (s *Store) Setup(ctx context.Context) error {
	if err := s.opts.Validate(); err != nil {
		return err
	}
	salt, err := s.loadOrCreateSalt(ctx)
	if err != nil {
		return fmt.Errorf("token: setup: %w", err)
	}
	s.salt.Store(&salt)
	s.txOK.Store(s.probeTransactions(ctx))
	return nil
}

// CreateRoot mints a root token: policies ["root"], no TTL, orphan.
func (s *Store) CreateRoot(ctx context.Context) (string, *Entry, error) {
	return s.Create(ctx, CreateParams{
		Policies:    []string{RootPolicy},
		DisplayName: "root",
		Path:        "auth/token/root",
	})
}

// Create mints a token from p and returns the raw token (shown once) and
// its entry.
func (s *Store) Create(ctx context.Context, p CreateParams) (string, *Entry, error) {
	e := &Entry{
		Policies:    sanitizePolicies(p.Policies, false),
		DisplayName: p.DisplayName,
		Meta:        maps.Clone(p.Meta),
		EntityID:    p.EntityID,
		Path:        p.Path,
		NumUses:     p.NumUses,
		limited:     p.NumUses > 0,
		Renewable:   p.Renewable,
		Period:      p.Period,
		BoundCIDRs:  slices.Clone(p.BoundCIDRs),
	}
	if p.Parent != nil {
		e.parent = p.Parent.id
	}
	if _, err := s.applyTTL(e, p.TTL, p.ExplicitMaxTTL, p.Parent); err != nil {
		return "", nil, err
	}
	raw, err := s.mint(ctx, e, "")
	if err != nil {
		return "", nil, err
	}
	return raw, e.clone(), nil
}

// Authenticate returns the entry of a valid, unexpired token whose
// ancestors are all valid too. It consumes one use of a token created with
// num_uses, revoking the token when that was the last use (the returned
// entry still authorizes the current request). Any invalid, expired or
// unknown token yields an error wrapping ErrInvalidToken.
func (s *Store) Authenticate(ctx context.Context, raw string) (*Entry, error) {
	h, err := s.hash(raw)
	if err != nil {
		return nil, err
	}
	mu := s.stripe(h)
	mu.RLock()
	e, err := s.loadLive(ctx, h)
	mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, ErrInvalidToken
	}
	if e.NumUses == 0 {
		return e, nil
	}
	return s.useOnce(ctx, h)
}

// Lookup returns the entry of a valid token without consuming a use.
func (s *Store) Lookup(ctx context.Context, raw string) (*Entry, error) {
	h, err := s.hash(raw)
	if err != nil {
		return nil, err
	}
	e, err := s.loadLive(ctx, h)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, ErrInvalidToken
	}
	return e, nil
}

// Revoke revokes the token and all its descendants. Revoking an unknown
// token is not an error.
func (s *Store) Revoke(ctx context.Context, raw string) error {
	h, err := s.hash(raw)
	if err != nil {
		return err
	}
	_, err = s.revokeTree(ctx, h)
	return err
}

// RevokeAccessor revokes the token behind accessor and its descendants.
// It reports whether a token was found.
func (s *Store) RevokeAccessor(ctx context.Context, accessor string) (bool, error) {
	h, err := s.byAccessor(ctx, accessor)
	if err != nil || h == "" {
		return false, err
	}
	n, err := s.revokeTree(ctx, h)
	return n > 0, err
}

// Tidy deletes expired tokens with their descendants, tokens whose parent
// is gone, and index entries pointing at nothing. It returns the number of
// tokens removed.
func (s *Store) Tidy(ctx context.Context) (int, error) {
	if _, err := s.hmacKey(); err != nil {
		return 0, err
	}
	return s.tidy(ctx)
}

// UsableFrom reports whether the token may be used by a client at addr
// (an IP address or host:port): always for a token without bound CIDRs,
// never from an unknown or unparsable address for one with them.
func (e *Entry) UsableFrom(addr string) bool { return logical.AddrAllowed(addr, e.BoundCIDRs) }

// LookupAccessor returns the entry of the valid token behind accessor,
// without consuming a use; an unknown accessor is a 400 "invalid
// accessor".
func (s *Store) LookupAccessor(ctx context.Context, accessor string) (*Entry, error) {
	e, err := s.liveByAccessor(ctx, accessor)
	if err != nil {
		return nil, err
	}
	return e.clone(), nil
}
