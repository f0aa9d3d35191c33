package ssh

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// caTarget is the one rotation target of a mount: its CA key.
const caTarget = caKey

// RotationTargets implements logical.Rotator: config/ca once a CA key is
// configured, aged from when it was generated or imported, guarding
// every role's sign/ and issue/ (all of them sign with it).
func (b *Backend) RotationTargets(ctx context.Context, s logical.Storage) ([]logical.RotationTarget, error) {
	ca, err := loadCA(ctx, s)
	if err != nil || ca == nil {
		return nil, err
	}
	roles, err := s.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("ssh: list roles: %w", err)
	}
	guards := make([]string, 0, 2*len(roles))
	for _, r := range roles {
		if !strings.HasSuffix(r, "/") {
			guards = append(guards, "sign/"+r, "issue/"+r)
		}
	}
	return []logical.RotationTarget{{Path: caTarget, LastRotated: ca.CreatedAt, Guards: guards}}, nil
}

// Rotate implements logical.Rotator: config/ca gets a new key of the
// same type and size, which signs every certificate from now on. The
// replaced public key stays published (public_key, config/ca) until
// every certificate it can have signed has expired: now plus the
// longest TTL a role allows (its max_ttl, else the mount's maximum,
// capped by the mount's maximum; the mount's maximum when there are no
// roles). Version is the new key's SHA256 fingerprint.
func (b *Backend) Rotate(ctx context.Context, s logical.Storage, path string) (logical.RotationResult, error) {
	if path != caTarget {
		return logical.RotationResult{}, fmt.Errorf("ssh: rotation target %q: %w", path, logical.ErrNotFound)
	}
	b.caMu.Lock()
	defer b.caMu.Unlock()
	cur, err := loadCA(ctx, s)
	if err != nil {
		return logical.RotationResult{}, err
	}
	if cur == nil {
		return logical.RotationResult{}, fmt.Errorf("ssh: rotation target %q: no CA key configured: %w", path, logical.ErrNotFound)
	}
	curPub, err := parsePublicKey("public_key", cur.PublicKey)
	if err != nil {
		return logical.RotationResult{}, fmt.Errorf("%w: %s: the CA public key does not parse", ErrCorrupt, caKey)
	}
	family, bits := keyFamily(curPub)
	spec, err := parseKeySpec(family, bits, "key_type", "key_bits")
	if err != nil {
		return logical.RotationResult{}, fmt.Errorf("ssh: rotate the CA key: %w", err)
	}
	longest, err := b.longestCertTTL(ctx, s)
	if err != nil {
		return logical.RotationResult{}, err
	}
	priv, pubLine, err := generateKey(spec)
	if err != nil {
		return logical.RotationResult{}, err
	}
	pub, err := parsePublicKey("public_key", pubLine)
	if err != nil {
		return logical.RotationResult{}, err
	}
	now := b.now().UTC()
	next := &caEntry{
		PublicKey: strings.TrimSpace(pubLine), PrivateKey: priv, CreatedAt: now,
		Previous: append([]retiredKey{{PublicKey: cur.PublicKey, ExpiresAt: now.Add(longest)}}, cur.live(now)...),
	}
	if err := putJSON(ctx, s, caKey, next); err != nil {
		return logical.RotationResult{}, err
	}
	b.retire.note(next)
	return logical.RotationResult{Version: ssh.FingerprintSHA256(pub), RotatedAt: now}, nil
}

// longestCertTTL bounds the lifetime of a certificate signed now (see
// certTTL): the longest role max_ttl, a role without one counting as
// the mount's maximum, capped by the mount's maximum.
func (b *Backend) longestCertTTL(ctx context.Context, s logical.Storage) (time.Duration, error) {
	_, mountMax := b.mountTTLs()
	names, err := s.List(ctx, rolePrefix)
	if err != nil {
		return 0, fmt.Errorf("ssh: list roles: %w", err)
	}
	if len(names) == 0 {
		return mountMax, nil
	}
	var longest time.Duration
	for _, name := range names {
		r, err := loadRole(ctx, s, name)
		if err != nil {
			return 0, err
		}
		if r == nil {
			continue
		}
		ttl := mountMax
		if r.MaxTTL > 0 && r.MaxTTL < mountMax {
			ttl = r.MaxTTL
		}
		longest = max(longest, ttl)
	}
	return longest, nil
}

// Verify implements logical.Rotator: the hosts trusting the CA are not
// known to the mount, so there is nothing to check.
func (b *Backend) Verify(context.Context, logical.Storage, string) error {
	return fmt.Errorf("ssh: verify: %w", logical.ErrUnsupportedOperation)
}

// Periodic implements logical.Periodic: once the earliest replaced CA
// key has expired, it drops the expired ones from storage (reads
// already leave them out). It reads storage only when one is due (and
// once after start or Cleanup, to learn when).
func (b *Backend) Periodic(ctx context.Context) error {
	if b.storage == nil || !b.retire.due(b.now()) {
		return nil
	}
	b.caMu.Lock()
	defer b.caMu.Unlock()
	ca, err := loadCA(ctx, b.storage)
	if err != nil {
		return err
	}
	if ca != nil {
		if live := ca.live(b.now()); len(live) != len(ca.Previous) {
			ca.Previous = live
			if err := putJSON(ctx, b.storage, caKey, ca); err != nil {
				return err
			}
		}
	}
	b.retire.note(ca)
	return nil
}

// Cleanup implements logical.Cleaner: it forgets when the next replaced
// key expires (another node may have rotated meanwhile); the next
// Periodic reads it again.
func (b *Backend) Cleanup(context.Context) { b.retire.reset() }

// retireSchedule is when the earliest replaced CA key expires, as last
// seen in storage by this node.
type retireSchedule struct {
	mu    sync.Mutex
	known bool
	// next is the earliest expiry (zero: none to drop).
	next time.Time
}

// note records the stored state ca (nil: no CA).
func (r *retireSchedule) note(ca *caEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.known, r.next = true, time.Time{}
	if ca != nil {
		r.next = ca.nextExpiry()
	}
}

// due reports whether storage should be read at now.
func (r *retireSchedule) due(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.known || (!r.next.IsZero() && !now.Before(r.next))
}

func (r *retireSchedule) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.known = false
}
