package token

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// maxDepth bounds the ancestor walk; deeper chains are treated as broken.
const maxDepth = 1024

// stripe returns the lock guarding read-modify-write of token h.
// Any string is accepted (keys listed from storage are not trusted).
func (s *Store) stripe(h string) *sync.RWMutex {
	return &s.stripes[fnv1a(h)%uint32(len(s.stripes))]
}

// fnv1a is the FNV-1a hash of h, which spreads tokens over lock stripes.
func fnv1a(h string) uint32 {
	x := uint32(2166136261)
	for i := 0; i < len(h); i++ {
		x = (x ^ uint32(h[i])) * 16777619
	}
	return x
}

// alive reports whether e itself may be used at now.
func alive(e *Entry, now time.Time) bool {
	if e.expired(now) {
		return false
	}
	return !e.limited || e.NumUses > 0
}

// loadLive returns the entry under h if it and every ancestor are alive;
// (nil, nil) otherwise.
func (s *Store) loadLive(ctx context.Context, h string) (*Entry, error) {
	e, err := s.load(ctx, h)
	if err != nil || e == nil {
		return nil, err
	}
	now := s.opts.Now()
	if !alive(e, now) {
		return nil, nil
	}
	p := e.parent
	for depth := 0; p != ""; depth++ {
		if depth >= maxDepth {
			return nil, nil
		}
		pe, err := s.load(ctx, p)
		if err != nil {
			return nil, err
		}
		if pe == nil || !alive(pe, now) {
			return nil, nil
		}
		p = pe.parent
	}
	return e, nil
}

// useOnce consumes one use of token h under its stripe lock. The last use
// marks the token dead before the lock is released, then revokes it.
func (s *Store) useOnce(ctx context.Context, h string) (*Entry, error) {
	mu := s.stripe(h)
	mu.Lock()
	e, err := s.loadLive(ctx, h)
	if err != nil || e == nil || e.NumUses == 0 {
		mu.Unlock()
		if e == nil && err == nil {
			err = ErrInvalidToken
		}
		return e, err
	}
	e.NumUses--
	err = s.save(ctx, e)
	mu.Unlock()
	if err != nil {
		return nil, err
	}
	if e.NumUses == 0 {
		if _, err := s.revokeTree(ctx, h); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// mint gives e an id (from customRaw, or a fresh raw token) and accessor
// and stores it with its indexes. It returns the raw token.
func (s *Store) mint(ctx context.Context, e *Entry, customRaw string) (string, error) {
	raw := customRaw
	if raw == "" {
		var err error
		if raw, err = newRawToken(); err != nil {
			return "", err
		}
	}
	h, err := s.hash(raw)
	if err != nil {
		return "", err
	}
	if customRaw != "" {
		if old, err := s.load(ctx, h); err != nil || old != nil {
			if err == nil {
				err = badRequest("token ID already in use")
			}
			return "", err
		}
	}
	if e.Accessor, err = newAccessor(); err != nil {
		return "", err
	}
	ah, err := s.hash(e.Accessor)
	if err != nil {
		return "", err
	}
	e.id = h
	e.Orphan = e.parent == ""
	if err := s.writeNew(ctx, e, ah); err != nil {
		return "", err
	}
	if err := s.leaseNew(ctx, e); err != nil {
		return "", err
	}
	s.log.Debug("token created", "accessor", e.Accessor, "path", e.Path)
	return raw, nil
}

// leaseNew registers the lease of new token e, revoking e when that
// fails.
func (s *Store) leaseNew(ctx context.Context, e *Entry) error {
	if s.opts.Leases == nil || e.ExpireTime.IsZero() {
		return nil
	}
	err := s.opts.Leases.TokenCreated(ctx, e.clone())
	if err == nil {
		return nil
	}
	if _, rerr := s.revokeOne(ctx, e.id, ""); rerr != nil {
		s.log.Error("token: could not undo a token whose lease was refused", "accessor", e.Accessor, "error", rerr)
	}
	return fmt.Errorf("token: lease of new token: %w", err)
}

// writeNew stores a new entry after its indexes (entry last: the entry's
// presence is what makes a token valid).
func (s *Store) writeNew(ctx context.Context, e *Entry, ah string) error {
	idx, err := json.Marshal(accessorRecord{Token: e.id})
	if err != nil {
		return fmt.Errorf("token: encode accessor index: %w", err)
	}
	var ops []*storage.Op
	if e.parent != "" {
		ops = append(ops, putOp(parentKey(e.parent, e.id), []byte{}))
	}
	ops = append(ops, putOp(accessorKey(ah), idx))
	eop, err := entryOp(e)
	if err != nil {
		return err
	}
	if err := s.apply(ctx, append(ops, eop)); err != nil {
		return fmt.Errorf("token: store new token: %w", err)
	}
	return nil
}

// revokeTree revokes h and every descendant. The root of the subtree goes
// first, which invalidates the whole subtree at once (lookups walk the
// ancestor chain); descendants are then deleted breadth-first. It returns
// the number of token entries deleted.
func (s *Store) revokeTree(ctx context.Context, h string) (int, error) {
	type item struct{ h, parent string }
	queue := []item{{h: h}}
	n := 0
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		found, err := s.revokeOne(ctx, it.h, it.parent)
		if err != nil {
			return n, err
		}
		if found {
			n++
		}
		children, err := s.view.List(ctx, childrenPrefix(it.h))
		if err != nil {
			return n, fmt.Errorf("token: list children: %w", err)
		}
		for _, c := range children {
			if !strings.HasSuffix(c, "/") {
				queue = append(queue, item{h: c, parent: it.h})
			}
		}
	}
	return n, nil
}

// revokeOne deletes token h, its accessor index and its link under its
// parent (parentHint when the entry is already gone), then tells the
// Leaser, outside the token's lock. It reports whether the entry existed.
func (s *Store) revokeOne(ctx context.Context, h, parentHint string) (bool, error) {
	e, err := s.deleteOne(ctx, h, parentHint)
	if err != nil || e == nil {
		return false, err
	}
	s.log.Debug("token revoked", "accessor", e.Accessor)
	if s.opts.Leases != nil {
		if err := s.opts.Leases.TokenRevoked(ctx, e); err != nil {
			s.log.Error("token: revoking the leases of a revoked token failed", "accessor", e.Accessor, "error", err)
		}
	}
	return true, nil
}

// deleteOne is revokeOne's storage part, under h's lock: it returns the
// deleted entry (nil when it was already gone).
func (s *Store) deleteOne(ctx context.Context, h, parentHint string) (*Entry, error) {
	mu := s.stripe(h)
	mu.Lock()
	defer mu.Unlock()
	e, err := s.load(ctx, h)
	if err != nil {
		return nil, err
	}
	ops := []*storage.Op{deleteOp(idKey(h))}
	parent := parentHint
	if e != nil {
		parent = e.parent
		ah, err := s.hash(e.Accessor)
		if err != nil {
			return nil, err
		}
		ops = append(ops, deleteOp(accessorKey(ah)))
	}
	if parent != "" {
		ops = append(ops, deleteOp(parentKey(parent, h)))
	}
	if err := s.apply(ctx, ops); err != nil {
		return nil, fmt.Errorf("token: revoke: %w", err)
	}
	return e, nil
}

// revokeOrphan revokes h alone; its children become orphans.
func (s *Store) revokeOrphan(ctx context.Context, h string) error {
	children, err := s.view.List(ctx, childrenPrefix(h))
	if err != nil {
		return fmt.Errorf("token: list children: %w", err)
	}
	for _, c := range children {
		if strings.HasSuffix(c, "/") {
			continue
		}
		if err := s.orphan(ctx, c, h); err != nil {
			return err
		}
	}
	_, err = s.revokeOne(ctx, h, "")
	return err
}

// orphan detaches child c from parent p.
func (s *Store) orphan(ctx context.Context, c, p string) error {
	mu := s.stripe(c)
	mu.Lock()
	defer mu.Unlock()
	e, err := s.load(ctx, c)
	if err != nil {
		return err
	}
	ops := []*storage.Op{deleteOp(parentKey(p, c))}
	if e != nil && e.parent == p {
		e.parent, e.Orphan = "", true
		eop, err := entryOp(e)
		if err != nil {
			return err
		}
		ops = append([]*storage.Op{eop}, ops...)
	}
	if err := s.apply(ctx, ops); err != nil {
		return fmt.Errorf("token: orphan child: %w", err)
	}
	return nil
}

// renew extends the expiry of token h by increment (0: its creation TTL),
// capped by its explicit max TTL and the system max TTL from creation,
// and moves its lease. Renewals of one token are serialised, so its
// lease follows the last one.
func (s *Store) renew(ctx context.Context, h string, increment time.Duration) (*Entry, []string, error) {
	mu := s.renewLock(h)
	mu.Lock()
	defer mu.Unlock()
	e, warnings, err := s.renewEntry(ctx, h, increment)
	if err != nil || s.opts.Leases == nil {
		return e, warnings, err
	}
	if err := s.opts.Leases.TokenRenewed(ctx, e.clone()); err != nil {
		return nil, nil, fmt.Errorf("token: renew lease: %w", err)
	}
	return e, warnings, nil
}

// renewLock returns the lock serialising the renewals of token h.
func (s *Store) renewLock(h string) *sync.Mutex {
	return &s.renewing[fnv1a(h)%uint32(len(s.renewing))]
}

// renewEntry is renew's storage part, under h's lock.
func (s *Store) renewEntry(ctx context.Context, h string, increment time.Duration) (*Entry, []string, error) {
	mu := s.stripe(h)
	mu.Lock()
	defer mu.Unlock()
	e, err := s.loadLive(ctx, h)
	if err != nil {
		return nil, nil, err
	}
	if e == nil {
		return nil, nil, badRequest("token not found")
	}
	if !e.Renewable || e.ExpireTime.IsZero() {
		return nil, nil, badRequest("lease is not renewable")
	}
	ttl := increment
	switch {
	case e.Period > 0:
		ttl = e.Period
	case ttl <= 0:
		ttl = e.TTL
	}
	now := s.opts.Now()
	exp := now.Add(ttl)
	var warnings []string
	if limit := s.maxExpire(e); !limit.IsZero() && exp.After(limit) {
		exp = limit
		warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the effective max_ttl of %q; TTL value is capped accordingly",
			ttl.String(), limit.Sub(now).Round(time.Second).String()))
	}
	if !exp.After(now) {
		return nil, nil, badRequest("past the max TTL, cannot renew")
	}
	e.ExpireTime, e.LastRenewalTime = exp, now
	if err := s.save(ctx, e); err != nil {
		return nil, nil, err
	}
	return e, warnings, nil
}

// errorMessage is an error whose text is exactly what a Vault client sees,
// classified by the logical sentinel it wraps.
type errorMessage struct {
	msg  string
	kind error
}

func (e *errorMessage) Error() string { return e.msg }
func (e *errorMessage) Unwrap() error { return e.kind }

// badRequest is a 400 with Vault's wording.
func badRequest(format string, args ...any) error {
	return &errorMessage{msg: fmt.Sprintf(format, args...), kind: logical.ErrInvalidRequest}
}
