package seal

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"sync"
)

// Rekey replaces the unseal key and its shares, keeping the root key and
// therefore the keyring and all data: Vault's sys/rekey/* and OpenBao's
// sys/rotate/root/*. It is a state machine with at most one operation at a
// time:
//
//  1. Init(new config, requireVerification) starts it with a nonce.
//  2. Update(share, nonce) collects shares of the CURRENT unseal key. At the
//     current threshold they are verified (as a Verifier does); a new
//     unseal key is made and split per the new config. Without
//     verification it is committed at once and the new shares returned.
//  3. With verification, the new shares are returned but the new key is
//     only held; Verify(share, verificationNonce) collects the new
//     threshold of NEW shares, and when they combine to the new key it is
//     committed.
//
// The commit writes the root key wrapped under the new unseal key, the
// unseal key wrapped under the root key and the new config in one
// transaction, after checking the root key still opens the barrier. From
// then on only the new shares unseal. Cancel discards the operation (and
// any pending key) at any point before the commit.
//
// Rekey lives in memory on the node that runs it (the active node); the
// core should Cancel it when that node seals or steps down. It is safe for
// concurrent use.
type Rekey struct {
	seal *Shamir

	mu sync.Mutex
	op *rekeyOp // nil when no rekey is in progress
}

// RekeyStatus is the state of the rekey in progress (Vault's GET
// sys/rekey/init and sys/rekey/verify). PGP-encrypted shares and backups
// are not supported, so there are no PGP fingerprints.
type RekeyStatus struct {
	// Started is false when no rekey is in progress; only Required is set.
	Started bool
	// Nonce identifies the rekey; Update needs it.
	Nonce string
	// T and N are the new config's threshold and share count.
	T, N int
	// Progress is how many current shares Update holds.
	Progress int
	// Required is the current config's threshold.
	Required int
	// VerificationRequired says the new shares must be verified before
	// the commit.
	VerificationRequired bool
	// VerificationNonce is set once new shares wait for verification;
	// Verify needs it.
	VerificationNonce string
	// VerificationProgress is how many new shares Verify holds.
	VerificationProgress int
}

// RekeyResult is the answer of Update (Vault's PUT sys/rekey/update).
type RekeyResult struct {
	// Nonce is the rekey's nonce.
	Nonce string
	// Progress and Required count current shares, as in RekeyStatus.
	Progress, Required int
	// Complete is true once the current shares were verified and the new
	// shares made; without verification the new key is then committed.
	Complete bool
	// Keys are the new shares, set only when Complete. The caller owns
	// them and should zero them once handed out.
	Keys [][]byte
	// VerificationRequired and VerificationNonce are set when the new
	// shares must be given to Verify before the new key is committed.
	VerificationRequired bool
	VerificationNonce    string
}

type rekeyOp struct {
	config              Config
	requireVerification bool
	current             *Verifier     // collects the current shares; its nonce is the rekey's
	pending             *pendingRekey // set while new shares await verification
}

// pendingRekey is a verified rekey awaiting the new shares.
type pendingRekey struct {
	nonce     string
	rootKey   []byte // the root key the current shares opened
	unsealKey []byte // the new unseal key
	shares    shareSet
}

func (p *pendingRekey) zero() {
	clear(p.rootKey)
	clear(p.unsealKey)
	p.shares.reset()
}

// NewRekey returns a Rekey with no operation in progress.
func (s *Shamir) NewRekey() *Rekey {
	return &Rekey{seal: s}
}

// Init starts a rekey to cfg (an empty Type means TypeShamir). It returns
// ErrInvalidConfig for a bad cfg, ErrNotInitialized before Init, and
// ErrRekeyInProgress while another rekey runs.
func (r *Rekey) Init(ctx context.Context, cfg Config, requireVerification bool) (RekeyStatus, error) {
	if cfg.Type == "" {
		cfg.Type = TypeShamir
	}
	if err := cfg.Validate(); err != nil {
		return RekeyStatus{}, err
	}
	current, err := r.seal.initializedConfig(ctx)
	if err != nil {
		return RekeyStatus{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.op != nil {
		return r.statusLocked(current), ErrRekeyInProgress
	}
	v, err := r.seal.NewVerifier()
	if err != nil {
		return RekeyStatus{}, err
	}
	r.op = &rekeyOp{config: cfg, requireVerification: requireVerification, current: v}
	return r.statusLocked(current), nil
}

// Status returns the state of the rekey in progress, if any.
func (r *Rekey) Status(ctx context.Context) (RekeyStatus, error) {
	current, err := r.seal.initializedConfig(ctx)
	if err != nil {
		return RekeyStatus{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.statusLocked(current), nil
}

// Update adds one share of the current unseal key, given with the rekey's
// nonce. See Rekey for the flow. Errors: ErrNoRekey, ErrVerificationPending
// (the new shares exist; use Verify), ErrNonce, ErrDuplicateShare and
// ErrShareLength (progress kept), ErrCombine and ErrBadUnsealKey (progress
// reset, the rekey stays), and commit failures (ErrSealChanged,
// ErrNotTransactional, storage errors: progress reset, no new key, the
// rekey stays). share is copied.
func (r *Rekey) Update(ctx context.Context, share []byte, nonce string) (RekeyResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	op := r.op
	switch {
	case op == nil:
		return RekeyResult{}, ErrNoRekey
	case op.pending != nil:
		return RekeyResult{}, fmt.Errorf("%w: its verification nonce is %q", ErrVerificationPending, op.pending.nonce)
	}
	rootKey, st, err := op.current.add(ctx, share, nonce)
	res := RekeyResult{Nonce: st.Nonce, Progress: st.Progress, Required: st.Required}
	if err != nil || !st.Complete {
		return res, err
	}
	defer clear(rootKey)
	unsealKey, shares, err := newSplitKey(op.config)
	if err != nil {
		op.current = restarted(op.current)
		return res, err
	}
	if op.requireVerification {
		vnonce, err := newNonce()
		if err != nil {
			clear(unsealKey)
			zeroAll(shares)
			op.current = restarted(op.current)
			return res, err
		}
		op.pending = &pendingRekey{nonce: vnonce, rootKey: slices.Clone(rootKey), unsealKey: unsealKey}
		res.Complete, res.Keys, res.VerificationRequired, res.VerificationNonce = true, shares, true, vnonce
		return res, nil
	}
	defer clear(unsealKey)
	if err := r.seal.commitRekey(ctx, rootKey, unsealKey, op.config); err != nil {
		zeroAll(shares)
		op.current = restarted(op.current)
		res.Progress = 0
		return res, err
	}
	r.op = nil
	res.Complete, res.Keys = true, shares
	return res, nil
}

// Verify adds one NEW share, given with the verification nonce, while a
// rekey that requires verification holds its new key. At the new threshold
// the shares must combine to the new key (ErrVerificationMismatch
// otherwise, progress reset); then the key is committed and the rekey ends
// (Complete). Errors: ErrNoRekey, ErrNoVerification, ErrNonce,
// ErrDuplicateShare and ErrShareLength (progress kept), ErrCombine and
// commit failures (progress reset, the pending key kept). share is copied.
func (r *Rekey) Verify(ctx context.Context, share []byte, nonce string) (VerifyStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.op == nil {
		return VerifyStatus{}, ErrNoRekey
	}
	op, p := r.op, r.op.pending
	if p == nil {
		return VerifyStatus{}, ErrNoVerification
	}
	st := VerifyStatus{Nonce: p.nonce, Required: op.config.SecretThreshold}
	if !sameNonce(nonce, p.nonce) {
		st.Progress = p.shares.len()
		return st, fmt.Errorf("%w: the verification nonce is %q", ErrNonce, p.nonce)
	}
	err := p.shares.add(&op.config, share)
	st.Progress = p.shares.len()
	if err != nil || st.Progress < st.Required {
		return st, err
	}
	st.Progress = 0
	key, err := p.shares.combine()
	if err != nil {
		return st, err
	}
	match := subtle.ConstantTimeCompare(key, p.unsealKey) == 1
	clear(key)
	if !match {
		return st, ErrVerificationMismatch
	}
	if err := r.seal.commitRekey(ctx, p.rootKey, p.unsealKey, op.config); err != nil {
		return st, err
	}
	p.zero()
	r.op = nil
	st.Progress, st.Complete = st.Required, true
	return st, nil
}

// RestartVerification discards the new shares given to Verify so far and
// returns a new verification nonce; the new key stays pending (Vault's
// DELETE sys/rekey/verify). Errors: ErrNoRekey, ErrNoVerification.
func (r *Rekey) RestartVerification() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.op == nil {
		return "", ErrNoRekey
	}
	p := r.op.pending
	if p == nil {
		return "", ErrNoVerification
	}
	nonce, err := newNonce()
	if err != nil {
		return "", err
	}
	p.shares.reset()
	p.nonce = nonce
	return nonce, nil
}

// Cancel discards the rekey in progress, if any, zeroing the shares and
// any pending key it holds (Vault's DELETE sys/rekey/init). Nothing stored
// changes: the current shares keep working.
func (r *Rekey) Cancel() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.op == nil {
		return
	}
	r.op.current.Reset()
	if r.op.pending != nil {
		r.op.pending.zero()
	}
	r.op = nil
}

func (r *Rekey) statusLocked(current *Config) RekeyStatus {
	st := RekeyStatus{Required: current.SecretThreshold}
	op := r.op
	if op == nil {
		return st
	}
	st.Started, st.Nonce, st.T, st.N = true, op.current.Nonce(), op.config.SecretThreshold, op.config.SecretShares
	st.Progress = op.current.progress()
	st.VerificationRequired = op.requireVerification
	if op.pending != nil {
		st.Progress = 0
		st.VerificationNonce, st.VerificationProgress = op.pending.nonce, op.pending.shares.len()
	}
	return st
}

// newSplitKey makes a new unseal key and its shares per cfg.
func newSplitKey(cfg Config) ([]byte, [][]byte, error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	shares, err := cfg.split(key)
	if err != nil {
		clear(key)
		return nil, nil, err
	}
	return key, shares, nil
}

// restarted returns a Verifier for a new round of v's attempt: same nonce,
// no shares, not complete.
func restarted(v *Verifier) *Verifier {
	v.Reset()
	return &Verifier{seal: v.seal, nonce: v.nonce}
}

// commitRekey stores rootKey wrapped under unsealKey, unsealKey wrapped
// under rootKey, and cfg, in one transaction, once rootKey is checked to
// still open the barrier keyring (ErrSealChanged if a root key rotation
// came in between).
func (s *Shamir) commitRekey(ctx context.Context, rootKey, unsealKey []byte, cfg Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkRootKey(ctx, rootKey); err != nil {
		return err
	}
	ops, err := keyOps(rootKey, unsealKey)
	if err != nil {
		return err
	}
	cfgOp, err := configOp(cfg)
	if err != nil {
		return err
	}
	if err := s.write(ctx, append(ops, cfgOp), true); err != nil {
		return fmt.Errorf("seal: commit rekey: %w", err)
	}
	return nil
}
