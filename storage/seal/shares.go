package seal

import (
	"crypto/subtle"
	"fmt"
	"slices"

	"github.com/secretumvault/secretumvault/storage/seal/shamir"
)

// shareSet holds the shares of one collection attempt as private copies,
// zeroed by reset. It is not safe for concurrent use; its owner locks.
type shareSet struct {
	shares [][]byte
}

// add keeps a copy of share after checking its size against cfg
// (ErrShareLength) and that it was not given before (ErrDuplicateShare,
// compared in constant time).
func (s *shareSet) add(cfg *Config, share []byte) error {
	if want := cfg.shareSize(); len(share) != want {
		return fmt.Errorf("%w: got %d bytes, want %d", ErrShareLength, len(share), want)
	}
	for _, have := range s.shares {
		if subtle.ConstantTimeCompare(have, share) == 1 {
			return ErrDuplicateShare
		}
	}
	s.shares = append(s.shares, slices.Clone(share))
	return nil
}

// len returns how many shares are held.
func (s *shareSet) len() int { return len(s.shares) }

// combine rebuilds the key from the shares (with one share, the share is
// the key) and resets the set either way. The caller must clear the key.
func (s *shareSet) combine() ([]byte, error) {
	defer s.reset()
	if len(s.shares) == 1 {
		return slices.Clone(s.shares[0]), nil
	}
	key, err := shamir.Combine(s.shares)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCombine, err)
	}
	return key, nil
}

// reset zeroes and drops the shares.
func (s *shareSet) reset() {
	zeroAll(s.shares)
	s.shares = nil
}
