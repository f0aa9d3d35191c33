package client

import (
	"context"
	"strings"
	"sync"
	"time"
)

// kvCache holds answers of KV.Get (status and body, parsed anew on each
// hit so callers never share a map) keyed by mount and secret path, then
// by version (0: latest). Safe for concurrent use.
//
// A write bumps the secret's generation and drops its entries; a read
// stores its answer only if the generation it started under is still
// current, so an answer fetched before a write completed is never cached
// after it.
type kvCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	secrets map[string]*cachedSecret // "mount\x00path"
	mounts  map[string]bool          // mounts with cached reads
}

type cachedSecret struct {
	gen      uint64
	versions map[int]cachedAnswer
}

type cachedAnswer struct {
	resp    response
	expires time.Time
}

func newKVCache(ttl time.Duration, now func() time.Time) *kvCache {
	return &kvCache{ttl: ttl, now: now, secrets: map[string]*cachedSecret{}, mounts: map[string]bool{}}
}

func cacheKey(mount, path string) string { return mount + "\x00" + strings.Trim(path, "/") }

// get returns a live cached answer, or the generation to store under.
func (kc *kvCache) get(mount, path string, version int) (*response, uint64) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	kc.mounts[mount] = true // from now on writes to the mount invalidate
	s := kc.secrets[cacheKey(mount, path)]
	if s == nil {
		return nil, 0
	}
	a, ok := s.versions[version]
	if !ok {
		return nil, s.gen
	}
	if !kc.now().Before(a.expires) {
		delete(s.versions, version)
		return nil, s.gen
	}
	r := a.resp
	return &r, s.gen
}

// put stores a successful answer unless a write happened since gen.
func (kc *kvCache) put(mount, path string, version int, gen uint64, resp *response) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	key := cacheKey(mount, path)
	s := kc.secrets[key]
	if s == nil {
		if gen != 0 {
			return
		}
		s = &cachedSecret{versions: map[int]cachedAnswer{}}
		kc.secrets[key] = s
	}
	if s.gen != gen {
		return
	}
	s.versions[version] = cachedAnswer{resp: response{status: resp.status, body: resp.body}, expires: kc.now().Add(kc.ttl)}
}

// invalidate drops the entries of a secret and bumps its generation.
func (kc *kvCache) invalidate(mount, path string) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	key := cacheKey(mount, path)
	s := kc.secrets[key]
	if s == nil {
		s = &cachedSecret{}
		kc.secrets[key] = s
	}
	s.gen++
	s.versions = map[int]cachedAnswer{}
}

// kvWriteKinds are the KV v2 path kinds whose writes change a secret.
var kvWriteKinds = []string{"data", "metadata", "delete", "undelete", "destroy"}

// invalidatePath drops the cache entries a write to the request path p
// may have changed: p is <mount>/<kind>/<secret> for a mount with cached
// reads.
func (kc *kvCache) invalidatePath(p string) {
	p = strings.Trim(p, "/")
	kc.mu.Lock()
	var hits []string
	for mount := range kc.mounts {
		rest, ok := strings.CutPrefix(p, mount+"/")
		if !ok {
			continue
		}
		for _, kind := range kvWriteKinds {
			if secret, ok := strings.CutPrefix(rest, kind+"/"); ok {
				hits = append(hits, mount, secret)
			}
		}
	}
	kc.mu.Unlock()
	for i := 0; i+1 < len(hits); i += 2 {
		kc.invalidate(hits[i], hits[i+1])
	}
}

// cachedSecret is Client.secret for a KV read: answered from the cache
// when it holds a live answer, else sent and, when successful, cached.
func (c *Client) cachedSecret(ctx context.Context, mount, path string, version int, req request) (*Secret, error) {
	if c.cache == nil {
		return c.secret(ctx, req)
	}
	resp, gen := c.cache.get(mount, path, version)
	if resp == nil {
		var err error
		if resp, err = c.do(ctx, req); err != nil {
			return nil, err
		}
		if err := c.check(req, resp); err != nil {
			return nil, err
		}
		c.cache.put(mount, path, version, gen, resp)
	}
	return parseSecret(req, resp.body)
}
