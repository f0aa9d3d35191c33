package core

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/seal"
)

// ceremonies holds the key ceremonies in progress on the active node:
// rekey (new unseal keys) and generate-root (a root token from key
// shares). Like Vault's, their progress lives in memory: it is discarded
// when the node seals or stops being active, and operators start over.
type ceremonies struct {
	mu      sync.Mutex
	rekey   *seal.Rekey
	genRoot *rootAttempt
}

// rootAttempt is a generate-root attempt: the shares collected so far and
// the OTP the new token will be encoded with.
type rootAttempt struct {
	verifier *seal.Verifier
	otp      string
}

// reset discards every ceremony in progress.
func (cs *ceremonies) reset() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.rekey != nil {
		cs.rekey.Cancel()
	}
	cs.rekey, cs.genRoot = nil, nil
}

// rekeyOf returns the node's rekey ceremony, created on first use.
func (cs *ceremonies) rekeyOf(s *seal.Shamir) *seal.Rekey {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.rekey == nil {
		cs.rekey = s.NewRekey()
	}
	return cs.rekey
}

// clientSealErrors are the seal errors that describe the operator's input
// or the ceremony's state, answered 400 with their text.
var clientSealErrors = []error{
	seal.ErrInvalidConfig, seal.ErrNotInitialized, seal.ErrDuplicateShare, seal.ErrShareLength,
	seal.ErrCombine, seal.ErrBadUnsealKey, seal.ErrNonce, seal.ErrAttemptComplete,
	seal.ErrRekeyInProgress, seal.ErrNoRekey, seal.ErrVerificationPending, seal.ErrNoVerification,
	seal.ErrVerificationMismatch, seal.ErrSealChanged,
}

// ceremonyError maps a seal error to what the client sees: a 400 for the
// operator's mistakes, the error itself (a 500) otherwise.
func ceremonyError(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range clientSealErrors {
		if errors.Is(err, e) {
			return fmt.Errorf("%w: %v", logical.ErrInvalidRequest, err)
		}
	}
	return err
}

// inEnvelope makes the handlers of paths answer in the response envelope
// (under data) instead of with the bare object. Ceremony handlers answer
// bare, as Vault's names do (sys/rekey/*, sys/generate-root/*); OpenBao's
// logical names (sys/rotate/root/*, sys/generate-root-token/*) are wrapped
// with this, as OpenBao's client expects.
func inEnvelope(paths []*framework.Path) {
	for _, p := range paths {
		for op, h := range p.Operations {
			p.Operations[op] = func(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
				resp, err := h(ctx, req, d)
				if resp != nil && resp.Raw != nil {
					resp = &logical.Response{Data: resp.Raw}
				}
				return resp, err
			}
		}
	}
}

// decodeShare accepts a key share in hex or base64, as Vault does.
func decodeShare(k string) ([]byte, error) {
	if k == "" {
		return nil, logical.InvalidRequest("key", "'key' must be specified in request body as JSON")
	}
	return decodeUnsealKey(k)
}

// encodeShares renders new key shares as Vault does (keys, keys_base64)
// and zeroes them.
func encodeShares(shares [][]byte) (hexKeys, b64Keys []string) {
	for _, s := range shares {
		hexKeys = append(hexKeys, hex.EncodeToString(s))
		b64Keys = append(b64Keys, base64.StdEncoding.EncodeToString(s))
		clear(s)
	}
	return hexKeys, b64Keys
}
