package seal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
	"github.com/secretumvault/secretumvault/storage/seal"
)

func cfg(n, k int) seal.Config {
	return seal.Config{Type: seal.TypeShamir, SecretShares: n, SecretThreshold: k}
}

// updateAll gives shares to r.Update and returns the last result.
func updateAll(t *testing.T, r *seal.Rekey, nonce string, shares [][]byte) seal.RekeyResult {
	t.Helper()
	var res seal.RekeyResult
	for i, sh := range shares {
		var err error
		if res, err = r.Update(context.Background(), sh, nonce); err != nil {
			t.Fatalf("Update(share %d): %v", i, err)
		}
		if last := i == len(shares)-1; res.Complete != last {
			t.Fatalf("after %d of %d shares Complete = %v", i+1, len(shares), res.Complete)
		}
	}
	return res
}

// updateSome gives shares, fewer than the threshold, to r.Update.
func updateSome(t *testing.T, r *seal.Rekey, nonce string, shares [][]byte) {
	t.Helper()
	for i, sh := range shares {
		res, err := r.Update(context.Background(), sh, nonce)
		if err != nil || res.Complete || res.Progress != i+1 {
			t.Fatalf("Update(share %d) = %+v, %v", i, res, err)
		}
	}
}

// verifyAll gives shares to r.Verify and returns the last status.
func verifyAll(t *testing.T, r *seal.Rekey, nonce string, shares [][]byte) seal.VerifyStatus {
	t.Helper()
	var st seal.VerifyStatus
	for i, sh := range shares {
		var err error
		if st, err = r.Verify(context.Background(), sh, nonce); err != nil {
			t.Fatalf("Verify(share %d): %v", i, err)
		}
	}
	return st
}

// unsealFails checks shares no longer open the seal: the Unsealer refuses
// them or the barrier refuses the key they give.
func (f *fixture) unsealFails(t *testing.T, shares [][]byte) {
	t.Helper()
	key, err := f.addAll(t, shares)
	if err != nil {
		if !errors.Is(err, seal.ErrBadUnsealKey) && !errors.Is(err, seal.ErrShareLength) && !errors.Is(err, seal.ErrCombine) {
			t.Fatalf("shares refused with an unexpected error: %v", err)
		}
		return
	}
	if key == nil {
		return // fewer shares than the threshold
	}
	if err := barrier.New(f.phys).Unseal(context.Background(), key); !errors.Is(err, barrier.ErrBadRootKey) {
		t.Fatalf("barrier.Unseal with these shares = %v, want ErrBadRootKey", err)
	}
}

// TestRekeyFlow rekeys wrapped and legacy seals to other configs, with and
// without verification: the new shares unseal, the old ones stop working,
// and the root key and data stay the same.
func TestRekeyFlow(t *testing.T) {
	tests := []struct {
		from, to [2]int // shares, threshold
	}{
		{[2]int{5, 3}, [2]int{3, 2}},
		{[2]int{5, 3}, [2]int{7, 4}},
		{[2]int{5, 3}, [2]int{1, 1}},
		{[2]int{1, 1}, [2]int{4, 2}},
	}
	for _, mode := range []string{"wrapped", "legacy"} {
		for _, verify := range []bool{false, true} {
			for _, tc := range tests {
				name := fmt.Sprintf("%s/verify=%v/%d-of-%d to %d-of-%d", mode, verify, tc.from[1], tc.from[0], tc.to[1], tc.to[0])
				t.Run(name, func(t *testing.T) {
					f := fixtureFor(t, mode, tc.from[0], tc.from[1])
					newShares := rekey(t, f, cfg(tc.to[0], tc.to[1]), verify)
					if len(newShares) != tc.to[0] {
						t.Fatalf("got %d new shares, want %d", len(newShares), tc.to[0])
					}
					got, err := f.seal.Config(context.Background())
					if err != nil || *got != cfg(tc.to[0], tc.to[1]) {
						t.Fatalf("config after rekey = %+v, %v", got, err)
					}
					f.unsealWith(t, newShares[len(newShares)-tc.to[1]:])
					f.unsealWith(t, newShares[:tc.to[1]])
					f.unsealFails(t, f.shares[:tc.from[1]])
					if err := barrier.New(f.phys).VerifyRootKey(context.Background(), f.root); err != nil {
						t.Fatalf("root key changed by the rekey: %v", err)
					}
					if e, _ := f.phys.Get(context.Background(), seal.WrappedRootKeyPath); e == nil {
						t.Fatal("rekey left the seal without a wrapped root key")
					}
				})
			}
		}
	}
}

// rekey runs a whole rekey of f to to with f's current shares and returns
// the new shares, checking the status at each step.
func rekey(t *testing.T, f *fixture, to seal.Config, verify bool) [][]byte {
	t.Helper()
	ctx := context.Background()
	current, _ := f.seal.Config(ctx)
	r := f.seal.NewRekey()
	if st, err := r.Status(ctx); err != nil || st != (seal.RekeyStatus{Required: current.SecretThreshold}) {
		t.Fatalf("Status before Init = %+v, %v", st, err)
	}
	st, err := r.Init(ctx, to, verify)
	if err != nil {
		t.Fatal(err)
	}
	want := seal.RekeyStatus{Started: true, Nonce: st.Nonce, T: to.SecretThreshold, N: to.SecretShares,
		Required: current.SecretThreshold, VerificationRequired: verify}
	if st != want || !uuidRE.MatchString(st.Nonce) {
		t.Fatalf("Init = %+v, want %+v", st, want)
	}
	res := updateAll(t, r, st.Nonce, f.shares[:current.SecretThreshold])
	if res.Nonce != st.Nonce || res.VerificationRequired != verify || (verify != (res.VerificationNonce != "")) {
		t.Fatalf("Update result %+v", res)
	}
	if !verify {
		if st, _ := r.Status(ctx); st.Started {
			t.Fatalf("rekey still started after commit: %+v", st)
		}
		return res.Keys
	}
	// Nothing is committed before verification: the old shares still work.
	f.unsealWith(t, f.shares[:current.SecretThreshold])
	st, _ = r.Status(ctx)
	if !st.Started || st.VerificationNonce != res.VerificationNonce || st.VerificationProgress != 0 {
		t.Fatalf("Status while verification pending = %+v", st)
	}
	vst := verifyAll(t, r, res.VerificationNonce, res.Keys[:to.SecretThreshold])
	if !vst.Complete || vst.Nonce != res.VerificationNonce {
		t.Fatalf("final Verify status %+v", vst)
	}
	if st, _ := r.Status(ctx); st.Started {
		t.Fatalf("rekey still started after verification: %+v", st)
	}
	return res.Keys
}

func TestRekeyUpdateErrors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 3)
	other := newFixture(t, 5, 3)
	r := f.seal.NewRekey()
	if _, err := r.Update(ctx, f.shares[0], "x"); !errors.Is(err, seal.ErrNoRekey) {
		t.Fatalf("Update before Init = %v", err)
	}
	if _, err := r.Init(ctx, cfg(3, 4), false); !errors.Is(err, seal.ErrInvalidConfig) {
		t.Fatalf("Init(invalid) = %v", err)
	}
	st, err := r.Init(ctx, cfg(3, 2), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Init(ctx, cfg(3, 2), false); !errors.Is(err, seal.ErrRekeyInProgress) {
		t.Fatalf("second Init = %v", err)
	}
	nonce := st.Nonce
	if res, err := r.Update(ctx, f.shares[0], nonce); err != nil || res.Progress != 1 || res.Required != 3 {
		t.Fatalf("first Update = %+v, %v", res, err)
	}
	kept := map[string]struct {
		share []byte
		nonce string
		want  error
	}{
		"wrong nonce": {f.shares[1], "0000", seal.ErrNonce},
		"duplicate":   {f.shares[0], nonce, seal.ErrDuplicateShare},
		"wrong size":  {f.shares[1][:10], nonce, seal.ErrShareLength},
	}
	for name, tc := range kept {
		res, err := r.Update(ctx, tc.share, tc.nonce)
		if !errors.Is(err, tc.want) || res.Progress != 1 || res.Complete {
			t.Fatalf("%s: Update = %+v, %v; want %v, progress kept", name, res, err, tc.want)
		}
	}
	if _, err := r.Update(ctx, f.shares[1], nonce); err != nil {
		t.Fatal(err)
	}
	res, err := r.Update(ctx, foreignShare(f, other), nonce)
	if !errors.Is(err, seal.ErrBadUnsealKey) || res.Progress != 0 || res.Keys != nil {
		t.Fatalf("wrong share at the threshold: %+v, %v; want ErrBadUnsealKey, progress reset", res, err)
	}
	if st, _ := r.Status(ctx); !st.Started || st.Nonce != nonce || st.Progress != 0 {
		t.Fatalf("rekey after a bad combination: %+v; want still started, same nonce", st)
	}
	f.unsealWith(t, f.shares[:3])
	res = updateAll(t, r, nonce, f.shares[2:5])
	f.unsealWith(t, res.Keys[:2])
}

func TestRekeyVerifyErrors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 3)
	r := f.seal.NewRekey()
	if _, err := r.Verify(ctx, f.shares[0], "x"); !errors.Is(err, seal.ErrNoRekey) {
		t.Fatalf("Verify before Init = %v", err)
	}
	if _, err := r.RestartVerification(); !errors.Is(err, seal.ErrNoRekey) {
		t.Fatalf("RestartVerification before Init = %v", err)
	}
	st, _ := r.Init(ctx, cfg(4, 3), true)
	if _, err := r.Verify(ctx, f.shares[0], st.Nonce); !errors.Is(err, seal.ErrNoVerification) {
		t.Fatalf("Verify before the new keys exist = %v", err)
	}
	if _, err := r.RestartVerification(); !errors.Is(err, seal.ErrNoVerification) {
		t.Fatalf("RestartVerification before the new keys exist = %v", err)
	}
	res := updateAll(t, r, st.Nonce, f.shares[:3])
	newShares, vnonce := res.Keys, res.VerificationNonce
	if _, err := r.Update(ctx, f.shares[3], st.Nonce); !errors.Is(err, seal.ErrVerificationPending) {
		t.Fatalf("Update while verification is pending = %v", err)
	}
	if vs, err := r.Verify(ctx, newShares[0], st.Nonce); !errors.Is(err, seal.ErrNonce) || vs.Progress != 0 {
		t.Fatalf("Verify with the rekey nonce = %+v, %v; want ErrNonce", vs, err)
	}
	// Old shares (same size) are not the new key: mismatch, progress reset.
	verifyAll(t, r, vnonce, f.shares[:2])
	vs, err := r.Verify(ctx, f.shares[2], vnonce)
	if !errors.Is(err, seal.ErrVerificationMismatch) || vs.Progress != 0 || vs.Complete {
		t.Fatalf("old shares given to Verify = %+v, %v; want ErrVerificationMismatch", vs, err)
	}
	verifyAll(t, r, vnonce, newShares[:1])
	if vs, err := r.Verify(ctx, newShares[0], vnonce); !errors.Is(err, seal.ErrDuplicateShare) || vs.Progress != 1 {
		t.Fatalf("duplicate new share = %+v, %v", vs, err)
	}
	restarted, err := r.RestartVerification()
	if err != nil || restarted == vnonce || !uuidRE.MatchString(restarted) {
		t.Fatalf("RestartVerification = %q, %v", restarted, err)
	}
	if st, _ := r.Status(ctx); st.VerificationNonce != restarted || st.VerificationProgress != 0 {
		t.Fatalf("Status after restart = %+v", st)
	}
	if _, err := r.Verify(ctx, newShares[1], vnonce); !errors.Is(err, seal.ErrNonce) {
		t.Fatalf("Verify with the old verification nonce = %v", err)
	}
	f.unsealWith(t, f.shares[2:5]) // still the old shares until the commit
	if vs := verifyAll(t, r, restarted, newShares[1:4]); !vs.Complete {
		t.Fatalf("verification did not complete: %+v", vs)
	}
	f.unsealWith(t, newShares[:3])
	f.unsealFails(t, f.shares[:3])
}

func TestRekeyCancel(t *testing.T) {
	for _, phase := range []string{"collecting", "verifying"} {
		t.Run(phase, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, 5, 3)
			before := snapshot(t, f.phys)
			r := f.seal.NewRekey()
			st, _ := r.Init(ctx, cfg(3, 2), true)
			if phase == "collecting" {
				updateSome(t, r, st.Nonce, f.shares[:1])
			} else {
				updateAll(t, r, st.Nonce, f.shares[:3])
			}
			r.Cancel()
			if st, _ := r.Status(ctx); st.Started {
				t.Fatalf("Status after Cancel = %+v", st)
			}
			if _, err := r.Update(ctx, f.shares[1], st.Nonce); !errors.Is(err, seal.ErrNoRekey) {
				t.Fatalf("Update after Cancel = %v", err)
			}
			if !sameSnapshot(before, snapshot(t, f.phys)) {
				t.Fatal("a cancelled rekey changed storage")
			}
			f.unsealWith(t, f.shares[:3])
			r.Cancel() // idempotent
			if _, err := r.Init(ctx, cfg(3, 2), false); err != nil {
				t.Fatalf("Init after Cancel: %v", err)
			}
		})
	}
}

// TestRekeyCommitFailureKeepsOldShares fails the commit's transaction: the
// old shares keep working, no new shares are handed out, and the rekey can
// be retried.
func TestRekeyCommitFailureKeepsOldShares(t *testing.T) {
	for _, failKey := range []string{seal.WrappedRootKeyPath, seal.ConfigPath} {
		t.Run(failKey, func(t *testing.T) {
			ctx := context.Background()
			phys := &failingTx{Backend: inmem.New()}
			f := initFixture(t, phys, 5, 3)
			before := snapshot(t, phys)
			r := f.seal.NewRekey()
			st, _ := r.Init(ctx, cfg(3, 2), false)
			updateSome(t, r, st.Nonce, f.shares[:2])
			phys.fail(failKey)
			res, err := r.Update(ctx, f.shares[2], st.Nonce)
			if !errors.Is(err, errInjected) || res.Keys != nil || res.Complete || res.Progress != 0 {
				t.Fatalf("Update with a failing commit = %+v, %v", res, err)
			}
			if !sameSnapshot(before, snapshot(t, phys)) {
				t.Fatal("failed commit changed storage")
			}
			f.unsealWith(t, f.shares[:3])
			phys.fail("")
			res = updateAll(t, r, st.Nonce, f.shares[1:4])
			f.unsealWith(t, res.Keys[:2])
			f.unsealFails(t, f.shares[:3])
		})
	}
}

// TestRekeyAfterRootKeyRotation rotates the root key while a rekey waits
// for verification: committing would wrap a root key that no longer opens
// the barrier, so the commit is refused and the seal stays as it is.
func TestRekeyAfterRootKeyRotation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 3)
	r := f.seal.NewRekey()
	st, _ := r.Init(ctx, cfg(3, 2), true)
	res := updateAll(t, r, st.Nonce, f.shares[:3])
	b := f.unsealWith(t, f.shares[:3])
	if err := f.seal.RotateRootKey(ctx, b); err != nil {
		t.Fatal(err)
	}
	verifyAll(t, r, res.VerificationNonce, res.Keys[:1])
	if _, err := r.Verify(ctx, res.Keys[1], res.VerificationNonce); !errors.Is(err, seal.ErrSealChanged) {
		t.Fatalf("Verify after a root rotation = %v, want ErrSealChanged", err)
	}
	f.unsealWith(t, f.shares[2:5])
	f.unsealFails(t, res.Keys[:2])
	r.Cancel()
}

func TestRekeyNeedsTransactions(t *testing.T) {
	ctx := context.Background()
	f := initFixture(t, plainBackend{inmem.New()}, 3, 2)
	r := f.seal.NewRekey()
	st, _ := r.Init(ctx, cfg(3, 2), false)
	updateSome(t, r, st.Nonce, f.shares[:1])
	if _, err := r.Update(ctx, f.shares[1], st.Nonce); !errors.Is(err, seal.ErrNotTransactional) {
		t.Fatalf("Update over a plain backend = %v, want ErrNotTransactional", err)
	}
	f.unsealWith(t, f.shares[:2])
}

// TestRekeyOnRaft rekeys a seal on a real raft + bbolt store.
func TestRekeyOnRaft(t *testing.T) {
	f := initFixture(t, newRaftStore(t), 5, 3)
	newShares := rekey(t, f, cfg(4, 2), true)
	f.unsealWith(t, newShares[2:])
	f.unsealFails(t, f.shares[:3])
}

// TestConcurrentRekeyUpdates gives each of five goroutines one current
// share at once (run with -race): exactly one of them completes the rekey.
func TestConcurrentRekeyUpdates(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 3)
	r := f.seal.NewRekey()
	st, _ := r.Init(ctx, cfg(2, 2), false)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		complete [][][]byte
	)
	for _, sh := range f.shares {
		wg.Go(func() {
			res, err := r.Update(ctx, sh, st.Nonce)
			_, _ = r.Status(ctx)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case res.Complete:
				complete = append(complete, res.Keys)
			case err != nil && !errors.Is(err, seal.ErrNoRekey):
				t.Errorf("Update: %v", err)
			}
		})
	}
	wg.Wait()
	if len(complete) != 1 {
		t.Fatalf("%d Updates completed the rekey, want 1", len(complete))
	}
	f.unsealWith(t, complete[0])
	if bytes.Equal(complete[0][0], f.shares[0]) {
		t.Fatal("new share equals an old one")
	}
}
