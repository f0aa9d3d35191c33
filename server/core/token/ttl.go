package token

import (
	"fmt"
	"time"
)

// effectiveMax is the longest lifetime from creation a token may reach:
// the smaller of its explicit max TTL and the system max TTL; periodic
// tokens are bound by their explicit max TTL alone (0: unbounded).
func (s *Store) effectiveMax(e *Entry) time.Duration {
	if e.Period > 0 {
		return e.ExplicitMaxTTL
	}
	m := s.opts.MaxTTL
	if e.ExplicitMaxTTL > 0 && e.ExplicitMaxTTL < m {
		m = e.ExplicitMaxTTL
	}
	return m
}

// maxExpire is the latest expiry renewals may reach; zero means unbounded.
func (s *Store) maxExpire(e *Entry) time.Time {
	if e.ExpireTime.IsZero() {
		return time.Time{}
	}
	m := s.effectiveMax(e)
	if m == 0 {
		return time.Time{}
	}
	return e.CreationTime.Add(m)
}

// applyTTL sets e's creation time, TTL and expiry the way Vault does:
// periodic tokens live one period; other tokens get ttl (DefaultTTL when
// zero) capped by the effective max; root-policy tokens without ttl never
// expire unless explicitMax is set. A non-expiring token is not renewable
// and may not descend from an expiring parent.
func (s *Store) applyTTL(e *Entry, ttl, explicitMax time.Duration, parent *Entry) ([]string, error) {
	now := s.opts.Now()
	e.CreationTime = now
	e.ExplicitMaxTTL = explicitMax
	var warnings []string
	switch {
	case e.Period > 0:
		ttl = e.Period
		if explicitMax > 0 && ttl > explicitMax {
			ttl = explicitMax
		}
	case ttl > 0 || !e.IsRoot():
		if ttl == 0 {
			ttl = s.opts.DefaultTTL
		}
		if explicitMax > s.opts.MaxTTL {
			warnings = append(warnings, fmt.Sprintf("explicit max TTL of %q is greater than system/mount allowed value; value is being capped to %q",
				explicitMax.String(), s.opts.MaxTTL.String()))
		}
		if m := s.effectiveMax(e); ttl > m {
			warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the effective max_ttl of %q; TTL value is capped accordingly",
				ttl.String(), m.String()))
			ttl = m
		}
	case explicitMax > 0:
		ttl = explicitMax
	}
	e.TTL = ttl
	if ttl == 0 {
		if parent != nil && !parent.ExpireTime.IsZero() {
			return nil, badRequest("expiring root tokens cannot create non-expiring root tokens")
		}
		e.Renewable = false
		e.ExpireTime = time.Time{}
		return warnings, nil
	}
	e.ExpireTime = now.Add(ttl)
	return warnings, nil
}
