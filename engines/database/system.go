package database

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/passwordpolicy"
)

// defaultMountTTL is Vault's system default and maximum lease TTL, used
// when the backend has no SystemView (tests) or the mount reports none.
const defaultMountTTL = 768 * time.Hour

// generatePassword draws a password from the named password policy ("":
// Vault's default policy) through core's SystemView. Without one (a
// backend built without core) only the default policy is available.
func (b *Backend) generatePassword(ctx context.Context, policy string) (string, error) {
	if b.system != nil {
		pw, err := b.system.GeneratePassword(ctx, policy)
		if err != nil {
			return "", fmt.Errorf("database: generate a password from policy %q: %w", policy, err)
		}
		return pw, nil
	}
	if policy != "" {
		return "", fmt.Errorf("database: password policy %q: no system view to generate it", policy)
	}
	pw, err := passwordpolicy.Default().Generate(ctx, rand.Reader)
	if err != nil {
		return "", fmt.Errorf("database: generate a password: %w", err)
	}
	return pw, nil
}

// mountTTLs are the mount's default and maximum lease TTLs.
func (b *Backend) mountTTLs() (def, max time.Duration) {
	if b.system != nil {
		def, max = b.system.MountTTLs()
	}
	if max <= 0 {
		max = defaultMountTTL
	}
	if def <= 0 || def > max {
		def = min(defaultMountTTL, max)
	}
	return def, max
}

// leaseTTLs are a role's lease TTL and maximum TTL as Vault computes
// them: the role's default_ttl (else the mount's default) bounded by the
// role's max_ttl (else the mount's maximum), itself bounded by the
// mount's maximum.
func (b *Backend) leaseTTLs(r *role) (ttl, max time.Duration) {
	def, mountMax := b.mountTTLs()
	ttl, max = r.DefaultTTL, r.MaxTTL
	if ttl <= 0 {
		ttl = def
	}
	if max <= 0 || max > mountMax {
		max = mountMax
	}
	return min(ttl, max), max
}
