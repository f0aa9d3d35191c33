package core

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	vaultroottoken "github.com/hashicorp/vault/sdk/helper/roottoken"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// ceremonyCore is an initialised, unsealed core (3 shares, threshold 2)
// with kv-v2 at secret/ holding one secret.
type ceremonyCore struct {
	*Core
	t    *testing.T
	keys []string
	root string
}

func newCeremonyCore(t *testing.T, cfg Config) *ceremonyCore {
	t.Helper()
	cfg.Physical = inmem.New()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Initialize(context.Background(), &InitParams{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	cc := &ceremonyCore{Core: c, t: t, keys: res.Keys, root: res.RootToken}
	if err := cc.unsealWith(res.Keys[:2]); err != nil {
		t.Fatal(err)
	}
	cc.must(logical.UpdateOperation, "sys/mounts/secret", cc.root, map[string]any{"type": "kv-v2"})
	cc.must(logical.UpdateOperation, "secret/data/app", cc.root, map[string]any{"data": map[string]any{"password": "hunter2"}})
	return cc
}

func (cc *ceremonyCore) call(op logical.Operation, path, tok string, data map[string]any) (*logical.Response, error) {
	return cc.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, ClientToken: tok, Data: data})
}

func (cc *ceremonyCore) must(op logical.Operation, path, tok string, data map[string]any) *logical.Response {
	cc.t.Helper()
	resp, err := cc.call(op, path, tok, data)
	if err != nil {
		cc.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// unsealWith seals nothing: it submits keys to a sealed core.
func (cc *ceremonyCore) unsealWith(keys []string) error {
	for _, k := range keys {
		raw, err := hex.DecodeString(k)
		if err != nil {
			return err
		}
		if _, err := cc.Unseal(context.Background(), raw); err != nil {
			return err
		}
	}
	if cc.Sealed() {
		return errors.New("still sealed")
	}
	return nil
}

// reseal seals the core and checks that old keys no longer unseal it
// (when given) and that the new ones do, with the data intact.
func (cc *ceremonyCore) reseal(oldKeys, newKeys []string) {
	cc.t.Helper()
	if err := cc.Seal(context.Background(), cc.root); err != nil {
		cc.t.Fatal(err)
	}
	if oldKeys != nil {
		if err := cc.unsealWith(oldKeys); err == nil || !errors.Is(err, logical.ErrInvalidRequest) {
			cc.t.Fatalf("old keys after rekey: %v, want a 400", err)
		}
		if _, err := cc.UnsealReset(context.Background()); err != nil {
			cc.t.Fatal(err)
		}
	}
	if err := cc.unsealWith(newKeys); err != nil {
		cc.t.Fatalf("unseal with the new keys: %v", err)
	}
	resp := cc.must(logical.ReadOperation, "secret/data/app", cc.root, nil)
	if got := resp.Data["data"].(map[string]any)["password"]; got != "hunter2" {
		cc.t.Fatalf("data after the ceremony: %v", got)
	}
}

// body is a ceremony's answer, bare (Vault's names) or in the envelope
// (OpenBao's), and checks it is the right one for the path.
func body(r *logical.Response) map[string]any {
	if r.Raw != nil {
		return r.Raw
	}
	return r.Data
}

func strs(v any) []string {
	x, _ := v.([]string)
	return x
}

func TestRekey(t *testing.T) {
	for _, base := range []string{"sys/rekey", "sys/rotate/root"} {
		t.Run(base, func(t *testing.T) {
			cc := newCeremonyCore(t, Config{})
			tok := ""
			if base == "sys/rotate/root" {
				if _, err := cc.call(logical.UpdateOperation, base+"/init", "", map[string]any{"secret_shares": 5, "secret_threshold": 3}); !errors.Is(err, logical.ErrPermissionDenied) {
					t.Fatalf("OpenBao's rotate-keys without a token: %v, want 403", err)
				}
				tok = cc.root
			}
			if _, err := cc.call(logical.UpdateOperation, base+"/init", tok, map[string]any{"secret_shares": 5, "secret_threshold": 9}); !errors.Is(err, logical.ErrInvalidRequest) {
				t.Fatalf("threshold above shares: %v", err)
			}
			st := body(cc.must(logical.UpdateOperation, base+"/init", tok, map[string]any{"secret_shares": 5, "secret_threshold": 3}))
			nonce, _ := st["nonce"].(string)
			if st["started"] != true || nonce == "" || st["required"] != 2 || st["n"] != 5 || st["t"] != 3 {
				t.Fatalf("init status %v", st)
			}
			if _, err := cc.call(logical.UpdateOperation, base+"/update", tok, map[string]any{"key": cc.keys[0], "nonce": "wrong"}); !errors.Is(err, logical.ErrInvalidRequest) {
				t.Fatalf("wrong nonce: %v", err)
			}
			r1 := body(cc.must(logical.UpdateOperation, base+"/update", tok, map[string]any{"key": cc.keys[0], "nonce": nonce}))
			if r1["progress"] != 1 || r1["complete"] != nil {
				t.Fatalf("first share: %v", r1)
			}
			r2 := body(cc.must(logical.UpdateOperation, base+"/update", tok, map[string]any{"key": cc.keys[1], "nonce": nonce}))
			newKeys := strs(r2["keys"])
			if r2["complete"] != true || len(newKeys) != 5 || len(strs(r2["keys_base64"])) != 5 {
				t.Fatalf("second share: %v", r2)
			}
			cc.reseal(cc.keys, newKeys[2:5])
		})
	}
}

func TestRekeyWithVerification(t *testing.T) {
	cc := newCeremonyCore(t, Config{})
	st := body(cc.must(logical.UpdateOperation, "sys/rekey/init", "", map[string]any{"secret_shares": 3, "secret_threshold": 2, "require_verification": true}))
	nonce := st["nonce"].(string)
	cc.must(logical.UpdateOperation, "sys/rekey/update", "", map[string]any{"key": cc.keys[0], "nonce": nonce})
	done := body(cc.must(logical.UpdateOperation, "sys/rekey/update", "", map[string]any{"key": cc.keys[2], "nonce": nonce}))
	vnonce, _ := done["verification_nonce"].(string)
	newKeys := strs(done["keys"])
	if done["verification_required"] != true || vnonce == "" || len(newKeys) != 3 {
		t.Fatalf("update with verification: %v", done)
	}
	vs := body(cc.must(logical.ReadOperation, "sys/rekey/verify", "", nil))
	if vs["nonce"] != vnonce || vs["progress"] != 0 {
		t.Fatalf("verify status %v", vs)
	}
	// Old keys do not verify the new ones (found once the threshold of
	// submitted shares is reached; the verification then restarts).
	cc.must(logical.UpdateOperation, "sys/rekey/verify", "", map[string]any{"key": cc.keys[1], "nonce": vnonce})
	if _, err := cc.call(logical.UpdateOperation, "sys/rekey/verify", "", map[string]any{"key": cc.keys[2], "nonce": vnonce}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("old keys accepted as the new ones: %v", err)
	}
	vs = body(cc.must(logical.ReadOperation, "sys/rekey/verify", "", nil))
	vnonce = vs["nonce"].(string)
	cc.must(logical.UpdateOperation, "sys/rekey/verify", "", map[string]any{"key": newKeys[0], "nonce": vnonce})
	fin := body(cc.must(logical.UpdateOperation, "sys/rekey/verify", "", map[string]any{"key": newKeys[1], "nonce": vnonce}))
	if fin["complete"] != true {
		t.Fatalf("verification: %v", fin)
	}
	cc.reseal(cc.keys[:2], newKeys[1:3])
}

func TestRekeyCancelledOnSeal(t *testing.T) {
	cc := newCeremonyCore(t, Config{})
	cc.must(logical.UpdateOperation, "sys/rekey/init", "", map[string]any{"secret_shares": 3, "secret_threshold": 2})
	cc.reseal(nil, cc.keys[1:3])
	if st := body(cc.must(logical.ReadOperation, "sys/rekey/init", "", nil)); st["started"] != false {
		t.Fatalf("rekey survived a seal: %v", st)
	}
}

func TestGenerateRoot(t *testing.T) {
	for _, base := range []string{"sys/generate-root", "sys/generate-root-token"} {
		t.Run(base, func(t *testing.T) {
			cc := newCeremonyCore(t, Config{})
			resp := cc.must(logical.ReadOperation, base+"/attempt", "", nil)
			if wantEnvelope := base == "sys/generate-root-token"; (resp.Data != nil) != wantEnvelope || (resp.Raw != nil) == wantEnvelope {
				t.Fatalf("%s answers data=%v raw=%v; OpenBao's name answers in the envelope, Vault's bare", base, resp.Data != nil, resp.Raw != nil)
			}
			st := body(resp)
			if st["started"] != false || st["otp_length"] != token.OTPLength || st["required"] != 2 {
				t.Fatalf("idle status %v", st)
			}
			if _, err := cc.call(logical.UpdateOperation, base+"/attempt", "", map[string]any{"otp": "short"}); !errors.Is(err, logical.ErrInvalidRequest) {
				t.Fatalf("short otp: %v", err)
			}
			st = body(cc.must(logical.UpdateOperation, base+"/attempt", "", nil))
			otp, nonce := st["otp"].(string), st["nonce"].(string)
			if len(otp) != token.OTPLength || nonce == "" || st["started"] != true {
				t.Fatalf("attempt %v", st)
			}
			if _, err := cc.call(logical.UpdateOperation, base+"/attempt", "", nil); !errors.Is(err, logical.ErrInvalidRequest) {
				t.Fatalf("second attempt: %v", err)
			}
			if _, err := cc.call(logical.UpdateOperation, base+"/update", "", map[string]any{"key": hex.EncodeToString(make([]byte, 10)), "nonce": nonce}); !errors.Is(err, logical.ErrInvalidRequest) {
				t.Fatalf("a share of the wrong length: %v", err)
			}
			cc.must(logical.UpdateOperation, base+"/update", "", map[string]any{"key": cc.keys[0], "nonce": nonce})
			fin := body(cc.must(logical.UpdateOperation, base+"/update", "", map[string]any{"key": cc.keys[2], "nonce": nonce}))
			enc, _ := fin["encoded_token"].(string)
			if fin["complete"] != true || enc == "" || fin["encoded_root_token"] != enc {
				t.Fatalf("final update %v", fin)
			}
			// Vault's own decoder (what `vault operator generate-root
			// -decode` runs) yields a working root token.
			raw, err := vaultroottoken.DecodeToken(enc, otp, token.OTPLength)
			if err != nil {
				t.Fatal(err)
			}
			if ours, err := token.DecodeWithOTP(enc, otp); err != nil || ours != raw {
				t.Fatalf("our decoder: %q, %v", ours, err)
			}
			cc.must(logical.UpdateOperation, "sys/mounts/other", raw, map[string]any{"type": "kv-v2"})
			if st := body(cc.must(logical.ReadOperation, base+"/attempt", "", nil)); st["started"] != false {
				t.Fatalf("attempt still open after completion: %v", st)
			}
		})
	}
}

func TestRotateRootKeyKeepsUnsealKeys(t *testing.T) {
	cc := newCeremonyCore(t, Config{})
	before, err := cc.physical.Get(context.Background(), "core/keyring")
	if err != nil || before == nil {
		t.Fatal(err)
	}
	if _, err := cc.call(logical.UpdateOperation, "sys/rotate/root", "", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("rotate root without a token: %v", err)
	}
	cc.must(logical.UpdateOperation, "sys/rotate/root", cc.root, nil)
	after, err := cc.physical.Get(context.Background(), "core/keyring")
	if err != nil || string(after.Value) == string(before.Value) {
		t.Fatalf("keyring not re-wrapped: %v", err)
	}
	cc.reseal(nil, cc.keys[:2])
}

func TestRotateConfigAndAutomaticRotation(t *testing.T) {
	clock := &stepClock{now: time.Now()}
	cc := newCeremonyCore(t, Config{Now: clock.Now, KeyRotationCheck: 5 * time.Millisecond})
	cfg := cc.must(logical.ReadOperation, "sys/rotate/config", cc.root, nil).Data
	if cfg["max_operations"] != uint64(3865470566) || cfg["enabled"] != true || cfg["interval"] != int64(0) {
		t.Fatalf("default rotation config %v", cfg)
	}
	if _, err := cc.call(logical.UpdateOperation, "sys/rotate/keyring/config", cc.root, map[string]any{"interval": "1h"}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("an interval under 24h: %v", err)
	}
	cc.must(logical.UpdateOperation, "sys/rotate/keyring/config", cc.root, map[string]any{"interval": "24h"})
	if got := cc.must(logical.ReadOperation, "sys/rotate/config", cc.root, nil).Data["interval"]; got != int64(86400) {
		t.Fatalf("interval = %v", got)
	}
	term := func() any { return cc.must(logical.ReadOperation, "sys/key-status", cc.root, nil).Data["term"] }
	if term() != uint32(1) {
		t.Fatalf("term before = %v", term())
	}
	clock.add(25 * time.Hour)
	deadline := time.Now().Add(10 * time.Second)
	for term() == uint32(1) {
		if time.Now().After(deadline) {
			t.Fatal("the barrier key did not rotate once its interval passed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cc.reseal(nil, cc.keys[:2])
}
