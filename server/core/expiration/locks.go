package expiration

import "sync"

// keyLocks serialises the operations on one lease id. Unlike a striped
// array, two ids never share a lock: a revocation holding one lease's
// lock may mark another lease (a token's lease revoking the secrets the
// token created) without deadlocking on a shared stripe.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	refs int
}

// lock locks id and returns its unlock function.
func (k *keyLocks) lock(id string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*keyLock)
	}
	l := k.m[id]
	if l == nil {
		l = &keyLock{}
		k.m[id] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, id)
		}
		k.mu.Unlock()
	}
}
