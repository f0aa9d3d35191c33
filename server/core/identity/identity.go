// Package identity is the identity store of the core pipeline: entities
// (the users and services tokens are bound to), their aliases (an entity
// as one auth mount knows it), groups (internal, whose members are set by
// hand, and external, whose members are set by logins) and group aliases.
// It serves the Vault-compatible identity/ endpoints and answers core's
// two hot questions: who is this entity in Cedar (Principal) and which
// entity does this login belong to (Login).
//
// The whole store lives in memory: Setup loads it from the storage view,
// every read is served from memory, and every write goes to storage first
// and to memory after, so a failed write changes nothing. Writes of one
// change are a single storage operation where possible, an atomic batch
// when the view supports transactions, and otherwise ordered so that a
// crash midway leaves only references that loading ignores (see
// schema.go).
//
// In Cedar an entity is User::"<name>" or Service::"<name>" (its
// cedar_type), a group is Group::"<name>", and an entity's parents are
// its groups, nested groups included; entity and group metadata are the
// Cedar tags. Principal hands core exactly that, precomputed per entity.
//
// A Store is safe for concurrent use once Setup has returned.
package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Sentinel errors of the identity store.
var (
	// ErrNotSetup: the store is used before Setup loaded it. It wraps
	// logical.ErrUnavailable (503).
	ErrNotSetup = fmt.Errorf("identity: store not set up: %w", logical.ErrUnavailable)
	// ErrEntityDisabled: a login resolved to a disabled entity. It wraps
	// logical.ErrPermissionDenied (403).
	ErrEntityDisabled = fmt.Errorf("identity: entity is disabled: %w", logical.ErrPermissionDenied)
	// ErrCorrupt: a stored record does not decode or names another key.
	ErrCorrupt = errors.New("identity: corrupt record")
)

// Cedar entity types of an entity (its cedar_type) and of a group.
const (
	TypeUser    = "User"
	TypeService = "Service"
	TypeGroup   = "Group"
)

// Group types, as Vault names them.
const (
	GroupInternal = "internal"
	GroupExternal = "external"
)

// MountInfo is what the store may know of an auth mount, for rendering an
// alias's mount_path and mount_type and validating mount accessors.
type MountInfo struct {
	// Path is the mount path, e.g. "auth/userpass/"; Type its type.
	Path string
	Type string
}

// Options configures a Store. The zero value of a field means its default.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives warnings about repaired records and skipped group
	// memberships; default discards.
	Logger *slog.Logger
	// Mounts, when set, resolves a mount accessor to its mount: API
	// writes then refuse unknown accessors (400) and reads render the
	// mount's current path and type. Nil accepts any accessor and renders
	// the path and type the last login recorded.
	Mounts func(accessor string) (MountInfo, bool)
}

// Principal is an entity as Cedar sees it, the shape authz.Principal
// takes. The maps and the Policies slice are shared with the store's
// cache and with every other caller: treat them as read-only (copy before
// changing anything).
type Principal struct {
	// EntityID is the entity's UUID; Name its Cedar id; Type "User" or
	// "Service".
	EntityID string
	Name     string
	Type     string
	// Disabled entities must not be served (their tokens stay, unusable).
	Disabled bool
	// Metadata is the entity's metadata, its Cedar tags (nil when none).
	Metadata map[string]string
	// Policies are the entity's policies plus those of every group it is
	// in, directly or through nested groups: sorted, without duplicates.
	Policies []string
	// Groups maps the name of every group the entity is in, directly or
	// through nested groups, to the names of its parent groups (sorted;
	// empty for a top-level group).
	Groups map[string][]string
	// GroupMetadata maps each of those group names to its metadata (only
	// groups that have some).
	GroupMetadata map[string]map[string]string
}

// LoginAlias is what an auth method vouched for, as core hands it to
// Login.
type LoginAlias struct {
	// MountAccessor, MountType and MountPath identify the auth mount.
	MountAccessor string
	MountType     string
	MountPath     string
	// Name is the alias name, unique within the mount (required).
	Name string
	// EntityName names the entity a first login creates ("" means Name).
	EntityName string
	// Metadata replaces the alias's metadata.
	Metadata map[string]string
	// EntityType is the cedar_type of an entity the login creates: "User"
	// (default) or "Service". An existing entity keeps its type.
	EntityType string
	// GroupNames are the external groups the login asserts; they replace
	// the entity's external memberships made through this mount.
	GroupNames []string
}

// Store is the identity store. Build it with New and load it with Setup.
type Store struct {
	view storage.Backend
	opts Options
	log  *slog.Logger

	// wmu serialises writers: a writer reads the state, writes storage
	// and then applies its change under mu, so the state a writer read
	// is still current when it applies.
	wmu sync.Mutex
	// mu guards st against the writer's apply; readers hold it shared.
	mu sync.RWMutex
	st *state
	// cache maps entity id → *Principal. Entries are stored under mu
	// held shared and dropped under mu held exclusively, so a cached
	// value is never older than the state.
	cache sync.Map

	txOK    atomic.Bool
	ready   atomic.Bool
	backend *framework.Backend
}

// New returns a Store over view (the store's own storage view). Call
// Setup before anything else.
func New(view storage.Backend, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{view: view, opts: opts, log: opts.Logger, st: newState()}
	s.backend = &framework.Backend{Paths: s.paths(), Help: "The identity store: entities, aliases, groups and group aliases."}
	return s
}

// Setup loads every entity and group from storage into memory, repairing
// what an interrupted write may have left (see schema.go), and makes the
// store ready. It may be called again to reload.
func (s *Store) Setup(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.txOK.Store(s.probeTransactions(ctx))
	st, err := s.load(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.st = st
	s.cache.Clear()
	s.mu.Unlock()
	s.ready.Store(true)
	return nil
}

// Principal returns the entity entityID as Cedar sees it; ok is false for
// an unknown entity. It is served from a per-entity cache, invalidated by
// every change that affects the entity, and is safe for concurrent use.
// See Principal (the type) for who owns the returned maps.
func (s *Store) Principal(entityID string) (Principal, bool) {
	if v, ok := s.cache.Load(entityID); ok {
		return *v.(*Principal), true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.st.principal(entityID)
	if !ok {
		return Principal{}, false
	}
	s.cache.Store(entityID, p)
	return *p, true
}

// Lookup returns the name of entity entityID.
func (s *Store) Lookup(entityID string) (name string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.st.entities[entityID]
	if e == nil {
		return "", false
	}
	return e.Name, true
}

// EntityByAlias returns the id of the entity owning alias (mountAccessor,
// name).
func (s *Store) EntityByAlias(mountAccessor, name string) (entityID string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.aliasByKey[aliasKey{mountAccessor, name}]
	if a == nil {
		return "", false
	}
	return a.CanonicalID, true
}

// Backend returns the identity/ backend: the Vault-compatible entity,
// entity-alias, group and group-alias endpoints, relative to the mount.
// Every path is an ordinary authenticated route (no sudo), as in Vault.
func (s *Store) Backend() logical.Backend { return &backend{s: s} }

// EntityID returns the id of the entity named name.
func (s *Store) EntityID(name string) (entityID string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.st.entityByName[name]
	if e == nil {
		return "", false
	}
	return e.ID, true
}
