package keypair

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Bounds of the nonce store.
const (
	// MaxNoncesPerName is how many nonces may be outstanding for one
	// name; the next is refused until one is used or expires.
	MaxNoncesPerName = 16
	// MaxNonces bounds the nonces a mount remembers (issued and not yet
	// expired, used or not), whatever the names: about 15 MB at most.
	MaxNonces = 100_000
	// nonceBytes is the nonce's entropy: 256 bits.
	nonceBytes = 32
)

// errTooManyNonces is the 429 of the nonce path.
var errTooManyNonces = fmt.Errorf("%w: too many outstanding nonces, try again later", logical.ErrRateLimited)

// nonceEntry is one outstanding nonce.
type nonceEntry struct {
	issued, expires time.Time
}

// queued is a nonce in issue order, for expiry.
type queued struct {
	name, nonce string
	expires     time.Time
}

// nonceStore holds the outstanding nonces of a mount. Safe for
// concurrent use. Memory is bounded by MaxNonces: the queue holds every
// nonce issued and not yet expired (used ones too, until they expire),
// and issuing refuses when it is full.
type nonceStore struct {
	mu     sync.Mutex
	byName map[string]map[string]nonceEntry
	queue  []queued // issue order; expiries are monotonic while nonce_ttl is unchanged
	head   int
}

func newNonceStore() *nonceStore {
	return &nonceStore{byName: map[string]map[string]nonceEntry{}}
}

// newNonce returns 256 random bits in unpadded base64url.
func newNonce() (string, error) {
	var b [nonceBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("keypair: nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// validNonce reports whether s has the shape of an issued nonce.
func validNonce(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(nonceBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// issue records a new nonce for name, valid from now for ttl.
func (s *nonceStore) issue(name string, now time.Time, ttl time.Duration) (string, time.Time, error) {
	nonce, err := newNonce()
	if err != nil {
		return "", time.Time{}, err
	}
	expires := now.Add(ttl)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	pending := s.byName[name]
	for n, e := range pending {
		if !now.Before(e.expires) {
			delete(pending, n)
		}
	}
	if len(pending) >= MaxNoncesPerName || len(s.queue)-s.head >= MaxNonces {
		if len(pending) == 0 {
			delete(s.byName, name)
		}
		return "", time.Time{}, errTooManyNonces
	}
	if pending == nil {
		pending = make(map[string]nonceEntry, 1)
		s.byName[name] = pending
	}
	pending[nonce] = nonceEntry{issued: now, expires: expires}
	s.queue = append(s.queue, queued{name: name, nonce: nonce, expires: expires})
	return nonce, expires, nil
}

// consume removes nonce of name and returns when it was issued; ok is
// false when it was never issued for name, was used already or has
// expired. Of concurrent calls for one nonce, at most one succeeds.
func (s *nonceStore) consume(name, nonce string, now time.Time) (issued time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pending := s.byName[name]
	e, found := pending[nonce]
	if !found {
		return time.Time{}, false
	}
	delete(pending, nonce)
	if len(pending) == 0 {
		delete(s.byName, name)
	}
	if !now.Before(e.expires) {
		return time.Time{}, false
	}
	return e.issued, true
}

// expireLocked drops the expired nonces at the front of the queue.
func (s *nonceStore) expireLocked(now time.Time) {
	for s.head < len(s.queue) && !now.Before(s.queue[s.head].expires) {
		q := s.queue[s.head]
		s.queue[s.head] = queued{}
		s.head++
		if pending := s.byName[q.name]; pending != nil {
			if e, ok := pending[q.nonce]; ok && e.expires.Equal(q.expires) {
				delete(pending, q.nonce)
				if len(pending) == 0 {
					delete(s.byName, q.name)
				}
			}
		}
	}
	if s.head > 1024 && s.head*2 > len(s.queue) {
		s.queue = append([]queued(nil), s.queue[s.head:]...)
		s.head = 0
	}
}

// outstanding is the number of nonces not used and not expired at now
// (for tests).
func (s *nonceStore) outstanding(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, pending := range s.byName {
		for _, e := range pending {
			if now.Before(e.expires) {
				n++
			}
		}
	}
	return n
}
