package transit

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// key is a decoded named key: its stored policy and every available
// version, decoded once. A key is immutable; a write builds a new one.
type key struct {
	p        *policy
	versions map[int]*version
}

// decodeKey decodes every version of p.
func decodeKey(p *policy) (*key, error) {
	k := &key{p: p, versions: make(map[int]*version, len(p.Keys))}
	for s, e := range p.Keys {
		n, err := strconv.Atoi(s)
		if err != nil || e == nil {
			return nil, fmt.Errorf("%w: key %q version %q", ErrCorrupt, p.Name, s)
		}
		v, err := decodeVersion(p.Type, p.Derived, e)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q version %d", ErrCorrupt, p.Name, n)
		}
		k.versions[n] = v
	}
	return k, nil
}

// keyCache holds the decoded keys by name.
type keyCache struct {
	mu   sync.RWMutex
	keys map[string]*key
}

func (c *keyCache) init() { c.keys = make(map[string]*key) }

func (c *keyCache) get(name string) *key {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.keys[name]
}

// set caches k under name (nil forgets name).
func (c *keyCache) set(name string, k *key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k == nil {
		delete(c.keys, name)
		return
	}
	c.keys[name] = k
}

func (c *keyCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.keys)
}

// key returns the decoded key name, or nil when it does not exist. A
// cache miss is filled under the name's lock, so that it cannot race a
// write of the same key.
func (b *Backend) key(ctx context.Context, s logical.Storage, name string) (*key, error) {
	if k := b.cache.get(name); k != nil {
		return k, nil
	}
	l := b.locks.Of(name)
	l.Lock()
	defer l.Unlock()
	return b.keyLocked(ctx, s, name)
}

// keyLocked is key with the name's lock held.
func (b *Backend) keyLocked(ctx context.Context, s logical.Storage, name string) (*key, error) {
	if k := b.cache.get(name); k != nil {
		return k, nil
	}
	p, err := loadPolicy(ctx, s, name)
	if err != nil || p == nil {
		return nil, err
	}
	k, err := decodeKey(p)
	if err != nil {
		return nil, err
	}
	b.cache.set(name, k)
	b.sched.note(p)
	return k, nil
}

// mustKey is key, with a missing key a 400 naming "name" (Vault
// answers 400 for operations on an unknown key).
func (b *Backend) mustKey(ctx context.Context, s logical.Storage, name, what string) (*key, error) {
	k, err := b.key(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, logical.InvalidRequest("name", "%s key not found", what)
	}
	return k, nil
}

// update applies fn to the stored key name (nil when absent) under the
// name's lock, stores the policy fn returns and caches it decoded. fn
// gets a clone it may change; returning nil stores nothing. Nothing is
// written when fn fails.
func (b *Backend) update(ctx context.Context, s logical.Storage, name string, fn func(cur *policy) (*policy, error)) (*key, error) {
	l := b.locks.Of(name)
	l.Lock()
	defer l.Unlock()
	cur, err := b.keyLocked(ctx, s, name)
	if err != nil {
		return nil, err
	}
	var p *policy
	if cur != nil {
		p = cur.p.clone()
	}
	np, err := fn(p)
	if err != nil || np == nil {
		return cur, err
	}
	k, err := decodeKey(np)
	if err != nil {
		return nil, err
	}
	if err := putPolicy(ctx, s, np); err != nil {
		// The stored state is unknown: read it again next time.
		b.cache.set(name, nil)
		return nil, err
	}
	b.cache.set(name, k)
	b.sched.note(np)
	return k, nil
}

// rotate adds a version to p (a clone) and makes it the latest.
func (b *Backend) rotate(p *policy) error {
	e, err := p.Type.newEntry(b.rand, p.Derived)
	if err != nil {
		return err
	}
	e.CreationTime = b.now().UTC()
	p.LatestVersion++
	p.Keys[strconv.Itoa(p.LatestVersion)] = e
	return nil
}
