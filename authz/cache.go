package authz

import (
	"hash/maphash"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cedar-policy/cedar-go/types"
)

// The caches of a policy set keep what Authorize builds for a request and
// would build the same way again: the principal's entity subgraph, the
// Secret entities of a path and the context record. Each is direct mapped:
// a fixed table of slots, a key's hash picks its slot, a miss builds the
// value and replaces whatever the slot held. An entry is immutable once
// published, so lookups are lock-free; an entry keeps its own copy of its
// key and a hit compares the whole key, never only the hash, so a caller
// that changes a Principal's maps between requests gets the new data
// decided and a hash collision costs a rebuild, not a wrong answer. The
// caches live and die with their policy set: Load starts empty ones, so
// nothing built for the old policies (whose needs differ) survives.
const (
	principalSlots = 1024
	leafSlots      = 2048
	prefixSlots    = 4096
	contextSlots   = 256
)

// slots is a direct-mapped table of immutable entries (its length a power
// of two).
type slots[E any] []atomic.Pointer[E]

func (s slots[E]) at(h uint64) *atomic.Pointer[E] { return &s[h&uint64(len(s)-1)] }

// caches are a policy set's.
type caches struct {
	seed      maphash.Seed
	principal slots[principalEntry]
	leaf      slots[secretEntry]
	prefix    slots[secretEntry]
	context   slots[contextEntry]
}

func newCaches() *caches {
	return &caches{seed: maphash.MakeSeed(), principal: make(slots[principalEntry], principalSlots),
		leaf: make(slots[secretEntry], leafSlots), prefix: make(slots[secretEntry], prefixSlots),
		context: make(slots[contextEntry], contextSlots)}
}

// mix folds x into the running hash h (order matters).
func mix(h, x uint64) uint64 { return (h ^ x) * 0x100000001b3 }

// principalEntry is a principal's entities, built for key.
type principalEntry struct {
	hash uint64
	key  Principal // a deep copy: nobody else holds its maps
	part *principalPart
}

// principalPart returns build(p), from the cache when it was built for
// an equal Principal.
func (c *caches) principalPart(p *Principal, build func(*Principal) *principalPart) *principalPart {
	h := c.principalHash(p)
	slot := c.principal.at(h)
	if e := slot.Load(); e != nil && e.hash == h && samePrincipal(&e.key, p) {
		return e.part
	}
	part := build(p)
	slot.Store(&principalEntry{hash: h, key: clonePrincipal(p), part: part})
	return part
}

// principalHash hashes p's scalar fields, its policies and the sizes of
// its maps: it only picks a slot (samePrincipal decides a hit), and
// walking the maps would cost as much as comparing them.
func (c *caches) principalHash(p *Principal) uint64 {
	var h uint64
	if p.Root {
		h = 1
	}
	for _, s := range [...]string{p.Accessor, p.EntityID, p.DisplayName, p.EntityName, p.EntityType} {
		h = mix(h, maphash.String(c.seed, s))
	}
	h = mix(h, uint64(len(p.Policies)))
	for _, s := range p.Policies {
		h = mix(h, maphash.String(c.seed, s))
	}
	return mix(mix(mix(h, uint64(len(p.Groups))), uint64(len(p.Metadata))), uint64(len(p.GroupMetadata)))
}

// samePrincipal reports whether a and b have equal fields (a nil and an
// empty slice or map are equal: the entities built from them are).
func samePrincipal(a, b *Principal) bool {
	if a.Root != b.Root || a.Accessor != b.Accessor || a.EntityID != b.EntityID || a.DisplayName != b.DisplayName ||
		a.EntityName != b.EntityName || a.EntityType != b.EntityType || !slices.Equal(a.Policies, b.Policies) ||
		!maps.Equal(a.Metadata, b.Metadata) || len(a.Groups) != len(b.Groups) || len(a.GroupMetadata) != len(b.GroupMetadata) {
		return false
	}
	for g, up := range b.Groups {
		if aup, ok := a.Groups[g]; !ok || !slices.Equal(aup, up) {
			return false
		}
	}
	for g, m := range b.GroupMetadata {
		if am, ok := a.GroupMetadata[g]; !ok || !maps.Equal(am, m) {
			return false
		}
	}
	return true
}

// clonePrincipal is a deep copy of p.
func clonePrincipal(p *Principal) Principal {
	c := *p
	c.Policies = slices.Clone(p.Policies)
	c.Metadata = maps.Clone(p.Metadata)
	if p.Groups != nil {
		c.Groups = make(map[string][]string, len(p.Groups))
		for g, up := range p.Groups {
			c.Groups[g] = slices.Clone(up)
		}
	}
	if p.GroupMetadata != nil {
		c.GroupMetadata = make(map[string]map[string]string, len(p.GroupMetadata))
		for g, m := range p.GroupMetadata {
			c.GroupMetadata[g] = maps.Clone(m)
		}
	}
	return c
}

// secretEntry is a Secret entity, built for key (a path for a request's
// resource, whose attributes it carries; an id for a prefix).
type secretEntry struct {
	key    string
	entity types.Entity
	// bits are a resource's candidate policies (resourceBits).
	bits bitset
}

// secret returns the entry build(key) makes, from table when it was
// built for key.
func (c *caches) secret(table slots[secretEntry], key string, build func(string) secretEntry) *secretEntry {
	slot := table.at(maphash.String(c.seed, key))
	if e := slot.Load(); e != nil && e.key == key {
		return e
	}
	e := build(key)
	slot.Store(&e)
	return &e
}

// contextKey is what a context record is built from, the fields no
// policy reads left zero.
type contextKey struct {
	operation, mountType, remoteAddr, kvPath string
	sudo, hasTTL                             bool
	ttl                                      time.Duration
}

func (c *caches) contextHash(k *contextKey) uint64 {
	h := uint64(len(k.operation))
	for _, s := range [...]string{k.operation, k.mountType, k.remoteAddr, k.kvPath} {
		h = mix(h, maphash.String(c.seed, s))
	}
	var flags uint64
	if k.sudo {
		flags |= 1
	}
	if k.hasTTL {
		flags |= 2
	}
	return mix(mix(h, flags), uint64(k.ttl))
}

// contextEntry is a context record, built for key.
type contextEntry struct {
	key    contextKey
	record types.Record
}

// contextRecord returns the record of key, from the cache when built for it.
func (c *caches) contextRecord(k *contextKey, build func() types.Record) types.Record {
	slot := c.context.at(c.contextHash(k))
	if e := slot.Load(); e != nil && e.key == *k {
		return e.record
	}
	r := build()
	slot.Store(&contextEntry{key: *k, record: r})
	return r
}
