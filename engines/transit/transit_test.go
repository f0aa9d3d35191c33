package transit_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

var secret = []byte("the quick brown fox: attack at dawn")

func TestKeyTypesRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ           string
		encrypt, sign bool
		signOpts      []map[string]any
	}{
		{typ: "aes256-gcm96", encrypt: true},
		{typ: "chacha20-poly1305", encrypt: true},
		{typ: "ed25519", sign: true, signOpts: []map[string]any{{}}},
		{typ: "ecdsa-p256", sign: true, signOpts: []map[string]any{
			{}, {"marshaling_algorithm": "jws"}, {"hash_algorithm": "sha2-512"}, {"hash_algorithm": "sha3-256"},
		}},
		{typ: "rsa-2048", encrypt: true, sign: true, signOpts: []map[string]any{
			{}, {"signature_algorithm": "pss"}, {"signature_algorithm": "pkcs1v15"}, {"signature_algorithm": "pkcs1v15", "hash_algorithm": "sha2-384"},
		}},
		{typ: "rsa-4096", encrypt: true, sign: true, signOpts: []map[string]any{{"signature_algorithm": "pss"}, {"signature_algorithm": "pkcs1v15"}}},
	}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			info := h.write("keys/k", map[string]any{"type": tc.typ}).Data
			if info["type"] != tc.typ || info["latest_version"] != 1 || info["supports_encryption"] != tc.encrypt || info["supports_signing"] != tc.sign {
				t.Fatalf("key info = %v", info)
			}
			if tc.encrypt {
				ct := h.encrypt("k", secret, nil)
				if !strings.HasPrefix(ct, "vault:v1:") {
					t.Fatalf("ciphertext = %q", ct)
				}
				if got := h.decrypt("k", ct, nil); !bytes.Equal(got, secret) {
					t.Fatalf("decrypt = %q", got)
				}
			} else {
				_, err := h.do(logical.UpdateOperation, "encrypt/k", map[string]any{"plaintext": b64(secret)})
				wantField(t, err, "name")
			}
			for _, o := range tc.signOpts {
				sig := h.sign("k", secret, o)
				if !h.verify("k", secret, sig, o) {
					t.Fatalf("%v: signature does not verify", o)
				}
				if h.verify("k", []byte("tampered"), sig, o) {
					t.Fatalf("%v: signature verifies another input", o)
				}
			}
			if !tc.sign {
				_, err := h.do(logical.UpdateOperation, "sign/k", map[string]any{"input": b64(secret)})
				wantField(t, err, "name")
			}
		})
	}
}

// sign returns the signature of input under key name.
func (h *harness) sign(name string, input []byte, opts map[string]any) string {
	h.t.Helper()
	data := map[string]any{"input": b64(input)}
	for k, v := range opts {
		data[k] = v
	}
	resp := h.write("sign/"+name, data)
	return resp.Data["signature"].(string)
}

// verify reports whether sig verifies input under key name.
func (h *harness) verify(name string, input []byte, sig string, opts map[string]any) bool {
	h.t.Helper()
	data := map[string]any{"input": b64(input), "signature": sig}
	for k, v := range opts {
		data[k] = v
	}
	return h.write("verify/"+name, data).Data["valid"].(bool)
}

func TestRotateRewrapAndMinVersions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/k", nil)
	ct1 := h.encrypt("k", secret, nil)
	info := h.write("keys/k/rotate", nil).Data
	if info["latest_version"] != 2 {
		t.Fatalf("after rotate: %v", info)
	}
	ct2 := h.encrypt("k", secret, nil)
	if !strings.HasPrefix(ct2, "vault:v2:") {
		t.Fatalf("new ciphertext = %q", ct2)
	}
	if got := h.decrypt("k", ct1, nil); !bytes.Equal(got, secret) {
		t.Fatalf("old ciphertext decrypts to %q", got)
	}
	rw := h.write("rewrap/k", map[string]any{"ciphertext": ct1})
	if rw.Data["key_version"] != 2 || !strings.HasPrefix(rw.Data["ciphertext"].(string), "vault:v2:") {
		t.Fatalf("rewrap = %v", rw.Data)
	}
	if got := h.decrypt("k", rw.Data["ciphertext"].(string), nil); !bytes.Equal(got, secret) {
		t.Fatalf("rewrapped decrypts to %q", got)
	}
	// An explicit old version still encrypts until min_encryption_version.
	if v := h.write("encrypt/k", map[string]any{"plaintext": b64(secret), "key_version": 1}).Data["key_version"]; v != 1 {
		t.Fatalf("key_version 1 encrypt gave version %v", v)
	}

	h.write("keys/k/config", map[string]any{"min_decryption_version": 2, "min_encryption_version": 2})
	_, err := h.do(logical.UpdateOperation, "decrypt/k", map[string]any{"ciphertext": ct1})
	wantField(t, err, "ciphertext")
	wantErr(t, err, logical.ErrInvalidRequest, "disallowed by policy (too old)")
	_, err = h.do(logical.UpdateOperation, "rewrap/k", map[string]any{"ciphertext": ct1})
	wantField(t, err, "ciphertext")
	_, err = h.do(logical.UpdateOperation, "encrypt/k", map[string]any{"plaintext": b64(secret), "key_version": 1})
	wantField(t, err, "key_version")
	if got := h.decrypt("k", ct2, nil); !bytes.Equal(got, secret) {
		t.Fatalf("v2 decrypts to %q", got)
	}

	// Trim drops version 1 for good.
	h.write("keys/k/trim", map[string]any{"min_available_version": 2})
	keys := h.must(logical.ReadOperation, "keys/k", nil).Data["keys"].(map[string]int64)
	if _, ok := keys["1"]; ok || len(keys) != 1 {
		t.Fatalf("keys after trim = %v", keys)
	}
	_, err = h.do(logical.UpdateOperation, "keys/k/config", map[string]any{"min_decryption_version": 1})
	wantField(t, err, "min_decryption_version")
}

func TestDerivedKeysNeedTheirContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	info := h.write("keys/d", map[string]any{"derived": true}).Data
	if info["derived"] != true || info["kdf"] != "hkdf_sha256" {
		t.Fatalf("info = %v", info)
	}
	_, err := h.do(logical.UpdateOperation, "encrypt/d", map[string]any{"plaintext": b64(secret)})
	wantField(t, err, "context")
	ctxA, ctxB := map[string]any{"context": b64([]byte("tenant-a"))}, map[string]any{"context": b64([]byte("tenant-b"))}
	ct := h.encrypt("d", secret, ctxA)
	if got := h.decrypt("d", ct, ctxA); !bytes.Equal(got, secret) {
		t.Fatalf("decrypt = %q", got)
	}
	_, err = h.do(logical.UpdateOperation, "decrypt/d", map[string]any{"ciphertext": ct, "context": ctxB["context"]})
	wantField(t, err, "ciphertext")
	_, err = h.do(logical.UpdateOperation, "decrypt/d", map[string]any{"ciphertext": ct})
	wantField(t, err, "context")
	_, err = h.do(logical.UpdateOperation, "decrypt/d", map[string]any{"ciphertext": ct, "context": "%%%"})
	wantField(t, err, "context")

	// A derived ed25519 signs with the context's key and shows its public key.
	h.write("keys/e", map[string]any{"type": "ed25519", "derived": true})
	sa := h.write("sign/e", map[string]any{"input": b64(secret), "context": ctxA["context"]})
	if sa.Data["public_key"] == "" || sa.Data["public_key"] == nil {
		t.Fatalf("sign = %v", sa.Data)
	}
	sig := sa.Data["signature"].(string)
	if !h.verify("e", secret, sig, ctxA) || h.verify("e", secret, sig, ctxB) {
		t.Fatal("derived ed25519 verify does not depend on the context")
	}
	keys := h.must(logical.ReadOperation, "keys/e", ctxA).Data["keys"].(map[string]map[string]any)
	if keys["1"]["public_key"] != sa.Data["public_key"] {
		t.Fatalf("key info public key %v, sign gave %v", keys["1"]["public_key"], sa.Data["public_key"])
	}
	_, err = h.do(logical.UpdateOperation, "keys/x", map[string]any{"type": "ecdsa-p256", "derived": true})
	wantField(t, err, "derived")
}

func TestBatchReportsPerItemErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/k", nil)
	enc := h.write("encrypt/k", map[string]any{"batch_input": []any{
		map[string]any{"plaintext": b64([]byte("one")), "reference": "r1"},
		map[string]any{"plaintext": "not base64!", "reference": "r2"},
		map[string]any{"plaintext": b64([]byte("three")), "key_version": 7},
		map[string]any{"plaintext": b64([]byte("four")), "key_version": "x"},
	}}).Data["batch_results"].([]any)
	if len(enc) != 4 {
		t.Fatalf("results = %v", enc)
	}
	r := func(i int) map[string]any { return enc[i].(map[string]any) }
	if r(0)["ciphertext"] == nil || r(0)["reference"] != "r1" || r(0)["error"] != nil {
		t.Fatalf("item 0 = %v", r(0))
	}
	for i, want := range map[int]string{1: "failed to base64-decode plaintext", 2: "higher than the latest key version", 3: ""} {
		if e, _ := r(i)["error"].(string); e == "" || !strings.Contains(e, want) || r(i)["ciphertext"] != nil {
			t.Fatalf("item %d = %v, want error %q", i, r(i), want)
		}
	}
	if r(1)["reference"] != "r2" {
		t.Fatalf("reference not echoed: %v", r(1))
	}

	dec := h.write("decrypt/k", map[string]any{"batch_input": []any{
		map[string]any{"ciphertext": r(0)["ciphertext"]},
		map[string]any{"ciphertext": "vault:v1:AAAA"},
		map[string]any{"ciphertext": "garbage"},
	}}).Data["batch_results"].([]any)
	if got := unb64(t, dec[0].(map[string]any)["plaintext"].(string)); string(got) != "one" {
		t.Fatalf("decrypt item 0 = %v", dec[0])
	}
	for i := 1; i < 3; i++ {
		if dec[i].(map[string]any)["error"] == nil {
			t.Fatalf("decrypt item %d = %v", i, dec[i])
		}
	}

	h.write("keys/k/rotate", nil)
	rw := h.write("rewrap/k", map[string]any{"batch_input": []any{
		map[string]any{"ciphertext": r(0)["ciphertext"]}, map[string]any{"ciphertext": "garbage"},
	}}).Data["batch_results"].([]any)
	if rw[0].(map[string]any)["key_version"] != 2 || rw[1].(map[string]any)["error"] == nil {
		t.Fatalf("rewrap = %v", rw)
	}

	h.write("keys/s", map[string]any{"type": "ed25519"})
	sig := h.write("sign/s", map[string]any{"batch_input": []any{
		map[string]any{"input": b64([]byte("a"))}, map[string]any{"input": "!!"},
	}}).Data["batch_results"].([]any)
	if sig[0].(map[string]any)["signature"] == nil || sig[1].(map[string]any)["error"] == nil {
		t.Fatalf("sign batch = %v", sig)
	}
	ver := h.write("verify/s", map[string]any{"batch_input": []any{
		map[string]any{"input": b64([]byte("a")), "signature": sig[0].(map[string]any)["signature"]},
		map[string]any{"input": b64([]byte("b")), "signature": sig[0].(map[string]any)["signature"]},
		map[string]any{"input": b64([]byte("a"))},
	}}).Data["batch_results"].([]any)
	if ver[0].(map[string]any)["valid"] != true || ver[1].(map[string]any)["valid"] != false || ver[2].(map[string]any)["error"] == nil {
		t.Fatalf("verify batch = %v", ver)
	}

	for name, bad := range map[string]any{"empty": []any{}, "not a list": "x", "not objects": []any{"x"}} {
		_, err := h.do(logical.UpdateOperation, "encrypt/k", map[string]any{"batch_input": bad})
		if err == nil {
			t.Fatalf("%s batch_input accepted", name)
		}
		wantField(t, err, "batch_input")
	}
}

func TestDatakey(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/k", nil)
	for _, bits := range []int{128, 256, 512} {
		resp := h.write(fmt.Sprintf("datakey/plaintext/k/%d", bits), nil)
		pt := unb64(t, resp.Data["plaintext"].(string))
		if len(pt)*8 != bits {
			t.Fatalf("%d bits: plaintext of %d bytes", bits, len(pt))
		}
		if got := h.decrypt("k", resp.Data["ciphertext"].(string), nil); !bytes.Equal(got, pt) {
			t.Fatal("wrapped data key does not decrypt to the plaintext")
		}
	}
	w := h.write("datakey/wrapped/k", map[string]any{"bits": 512})
	if _, ok := w.Data["plaintext"]; ok {
		t.Fatalf("wrapped datakey returned a plaintext: %v", w.Data)
	}
	if got := h.decrypt("k", w.Data["ciphertext"].(string), nil); len(got) != 64 {
		t.Fatalf("wrapped key of %d bytes", len(got))
	}
	_, err := h.do(logical.UpdateOperation, "datakey/plaintext/k", map[string]any{"bits": 100})
	wantField(t, err, "bits")
	_, err = h.do(logical.UpdateOperation, "datakey/other/k", nil)
	wantField(t, err, "plaintext")
	_, err = h.do(logical.UpdateOperation, "datakey/plaintext/missing", nil)
	wantField(t, err, "name")
}

func TestHMACVerify(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/k", nil)
	mac := h.write("hmac/k", map[string]any{"input": b64(secret)}).Data["hmac"].(string)
	mac512 := h.write("hmac/k/sha2-512", map[string]any{"input": b64(secret)}).Data["hmac"].(string)
	if !strings.HasPrefix(mac, "vault:v1:") || mac == mac512 {
		t.Fatalf("hmacs %q %q", mac, mac512)
	}
	check := func(path string, input []byte, mac string, want bool) {
		t.Helper()
		if got := h.write(path, map[string]any{"input": b64(input), "hmac": mac}).Data["valid"]; got != want {
			t.Fatalf("%s %q: valid = %v, want %v", path, input, got, want)
		}
	}
	check("verify/k", secret, mac, true)
	check("verify/k", []byte("other"), mac, false)
	check("verify/k/sha2-512", secret, mac512, true)
	check("verify/k", secret, mac512, false)
	h.write("keys/k/rotate", nil)
	check("verify/k", secret, mac, true)
	h.write("keys/k/config", map[string]any{"min_decryption_version": 2})
	_, err := h.do(logical.UpdateOperation, "verify/k", map[string]any{"input": b64(secret), "hmac": mac})
	wantField(t, err, "hmac")
	_, err = h.do(logical.UpdateOperation, "hmac/k/md5", map[string]any{"input": b64(secret)})
	wantField(t, err, "algorithm")
}

func TestKeyLifecycleAndValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, err := h.do(logical.ListOperation, "keys/", nil)
	wantErr(t, err, logical.ErrNotFound, "")
	h.write("keys/a", nil)
	again := h.write("keys/a", map[string]any{"type": "ed25519"})
	if again.Data["type"] != "aes256-gcm96" || len(again.Warnings) != 1 {
		t.Fatalf("second create = %v %v", again.Data, again.Warnings)
	}
	h.write("keys/b", map[string]any{"type": "ecdsa-p256", "deletion_allowed": true})
	if got := h.must(logical.ListOperation, "keys/", nil).Data["keys"].([]string); len(got) != 2 {
		t.Fatalf("list = %v", got)
	}
	_, err = h.do(logical.DeleteOperation, "keys/a", nil)
	wantField(t, err, "deletion_allowed")
	h.write("keys/a/config", map[string]any{"deletion_allowed": true})
	h.must(logical.DeleteOperation, "keys/a", nil)
	h.must(logical.DeleteOperation, "keys/b", nil)
	_, err = h.do(logical.ReadOperation, "keys/a", nil)
	wantErr(t, err, logical.ErrNotFound, "")
	_, err = h.do(logical.UpdateOperation, "decrypt/a", map[string]any{"ciphertext": "vault:v1:AAAA"})
	wantField(t, err, "name")

	h.write("keys/c", map[string]any{"exportable": true})
	bad := []struct {
		path  string
		data  map[string]any
		field string
	}{
		{"keys/x", map[string]any{"type": "des"}, "type"},
		{"keys/x", map[string]any{"convergent_encryption": true, "derived": true}, "convergent_encryption"},
		{"keys/x", map[string]any{"auto_rotate_period": "30m"}, "auto_rotate_period"},
		{"keys/x", map[string]any{"derived": "maybe"}, "derived"},
		{"keys/c/config", map[string]any{"min_decryption_version": 5}, "min_decryption_version"},
		{"keys/c/config", map[string]any{"min_encryption_version": -1}, "min_encryption_version"},
		{"keys/c/config", map[string]any{"exportable": false}, "exportable"},
		{"keys/c/config", map[string]any{"auto_rotate_period": "59m"}, "auto_rotate_period"},
		{"keys/missing/config", map[string]any{"deletion_allowed": true}, "name"},
		{"keys/missing/rotate", nil, "name"},
		{"keys/c/trim", map[string]any{"min_available_version": 2}, "min_available_version"},
		{"keys/c/trim", map[string]any{}, "min_available_version"},
	}
	for _, tc := range bad {
		_, err := h.do(logical.UpdateOperation, tc.path, tc.data)
		wantField(t, err, tc.field)
	}
	if got := h.must(logical.ListOperation, "keys/", nil).Data["keys"].([]string); len(got) != 1 || got[0] != "c" {
		t.Fatalf("a refused write stored a key: %v", got)
	}
	cfg := h.write("keys/c/config", map[string]any{"auto_rotate_period": "2h"}).Data
	if cfg["auto_rotate_period"] != int64(7200) || cfg["exportable"] != true {
		t.Fatalf("config = %v", cfg)
	}
}

func TestEncryptCreatesTheKeyOnCreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, err := h.do(logical.UpdateOperation, "encrypt/new", map[string]any{"plaintext": b64(secret)})
	wantField(t, err, "name")
	exists, ok, err := h.b.ExistenceCheck(t.Context(), &logical.Request{Operation: logical.CreateOperation, Path: "encrypt/new", Storage: h.store})
	if err != nil || !ok || exists {
		t.Fatalf("existence = %v %v %v", exists, ok, err)
	}
	resp := h.must(logical.CreateOperation, "encrypt/new", map[string]any{"plaintext": b64(secret), "type": "chacha20-poly1305"})
	if got := h.decrypt("new", resp.Data["ciphertext"].(string), nil); !bytes.Equal(got, secret) {
		t.Fatalf("decrypt = %q", got)
	}
	if typ := h.must(logical.ReadOperation, "keys/new", nil).Data["type"]; typ != "chacha20-poly1305" {
		t.Fatalf("upserted key type %v", typ)
	}
	_, err = h.do(logical.CreateOperation, "encrypt/signer", map[string]any{"plaintext": b64(secret), "type": "ed25519"})
	wantField(t, err, "type")
	_, err = h.do(logical.UpdateOperation, "encrypt/new", map[string]any{})
	wantField(t, err, "plaintext")
	if _, err := h.do(logical.ReadOperation, "keys/signer", nil); err == nil {
		t.Fatal("a refused upsert created its key")
	}
}

func TestExport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/private", nil)
	_, err := h.do(logical.ReadOperation, "export/encryption-key/private", nil)
	wantField(t, err, "exportable")
	h.write("keys/sig", map[string]any{"type": "ecdsa-p256"})
	pub := h.must(logical.ReadOperation, "export/public-key/sig", nil).Data["keys"].(map[string]string)
	info := h.must(logical.ReadOperation, "keys/sig", nil).Data["keys"].(map[string]map[string]any)
	if !strings.HasPrefix(pub["1"], "-----BEGIN PUBLIC KEY-----") || pub["1"] != info["1"]["public_key"] || info["1"]["name"] != "P-256" {
		t.Fatalf("public key %q, key info %v", pub["1"], info["1"])
	}
	_, err = h.do(logical.ReadOperation, "export/signing-key/sig", nil)
	wantField(t, err, "exportable")

	h.write("keys/x", map[string]any{"exportable": true})
	h.write("keys/x/rotate", nil)
	all := h.must(logical.ReadOperation, "export/encryption-key/x", nil).Data["keys"].(map[string]string)
	latest := h.must(logical.ReadOperation, "export/encryption-key/x/latest", nil).Data["keys"].(map[string]string)
	if len(all) != 2 || len(latest) != 1 || latest["2"] != all["2"] || len(unb64(t, all["1"])) != 32 {
		t.Fatalf("all %d latest %v", len(all), len(latest))
	}
	hm := h.must(logical.ReadOperation, "export/hmac-key/x/1", nil).Data["keys"].(map[string]string)
	if len(unb64(t, hm["1"])) != 32 || hm["1"] == all["1"] {
		t.Fatal("hmac key export")
	}
	for path, field := range map[string]string{
		"export/signing-key/x": "type", "export/public-key/x": "type", "export/bogus/x": "type",
		"export/encryption-key/x/3": "version", "export/encryption-key/x/zero": "version",
	} {
		_, err := h.do(logical.ReadOperation, path, nil)
		wantField(t, err, field)
	}
}

func TestRandomAndHash(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if got := h.write("random", nil).Data["random_bytes"].(string); len(unb64(t, got)) != 32 {
		t.Fatalf("random = %q", got)
	}
	if got := h.write("random/16/hex", nil).Data["random_bytes"].(string); len(got) != 32 {
		t.Fatalf("random/16/hex = %q", got)
	}
	if got := h.write("random", map[string]any{"bytes": 8, "format": "hex"}).Data["random_bytes"].(string); len(got) != 16 {
		t.Fatalf("random bytes=8 = %q", got)
	}
	for _, data := range []map[string]any{{"bytes": 0}, {"bytes": 200000}, {"format": "binary"}} {
		_, err := h.do(logical.UpdateOperation, "random", data)
		if err == nil {
			t.Fatalf("random %v accepted", data)
		}
	}
	in := map[string]any{"input": b64([]byte("hello"))}
	tests := []struct{ path, format, want string }{
		{"hash", "", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
		{"hash/sha2-224", "", "ea09ae9cc6768c50fcee903ed054556e5bfc8347907f12598aa24193"},
		{"hash/sha3-256", "", "3338be694f50c5f338814986cdf0686453a888b84f424d792af4b9202398f392"},
		{"hash/sha2-256", "base64", "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="},
	}
	for _, tc := range tests {
		data := map[string]any{"input": in["input"]}
		if tc.format != "" {
			data["format"] = tc.format
		}
		if got := h.write(tc.path, data).Data["sum"]; got != tc.want {
			t.Fatalf("%s = %v, want %s", tc.path, got, tc.want)
		}
	}
	_, err := h.do(logical.UpdateOperation, "hash/md5", in)
	wantField(t, err, "algorithm")
	_, err = h.do(logical.UpdateOperation, "hash", map[string]any{"input": "%%"})
	wantField(t, err, "input")
}

func TestRouteInfo(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		path   string
		op     logical.Operation
		action string
		sudo   bool
	}{
		{"datakey/plaintext/k", logical.UpdateOperation, "generate", false},
		{"datakey/wrapped/k/512", logical.UpdateOperation, "generate", false},
		{"keys/k/rotate", logical.UpdateOperation, "rotate", false},
		{"decrypt/k", logical.UpdateOperation, "read", false},
		{"verify/k/sha2-512", logical.UpdateOperation, "read", false},
		{"encrypt/k", logical.UpdateOperation, "", false},
		{"encrypt/k", logical.CreateOperation, "", false},
		{"keys/k", logical.UpdateOperation, "", false},
		{"keys/k/config", logical.UpdateOperation, "", true},
	}
	for _, tc := range tests {
		info, ok := h.b.RouteInfo(tc.path, tc.op)
		if !ok || info.Action != tc.action || info.Sudo != tc.sudo || info.Unauthenticated {
			t.Fatalf("%s %s: %+v %v", tc.op, tc.path, info, ok)
		}
	}
	if _, ok := h.b.RouteInfo("nowhere", logical.ReadOperation); ok {
		t.Fatal("unknown path routed")
	}
}

func TestAuditClearNeverHoldsPlaintext(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/k", nil)
	for _, resp := range []*logical.Response{
		h.write("encrypt/k", map[string]any{"plaintext": b64(secret)}),
		h.write("datakey/plaintext/k", nil),
	} {
		for _, k := range resp.AuditClear {
			if k == "plaintext" || k == "ciphertext" {
				t.Fatalf("AuditClear = %v", resp.AuditClear)
			}
		}
		if len(resp.AuditClear) != 1 || resp.AuditClear[0] != "key_version" {
			t.Fatalf("AuditClear = %v", resp.AuditClear)
		}
	}
	ct := h.encrypt("k", secret, nil)
	resp := h.write("decrypt/k", map[string]any{"ciphertext": ct})
	for _, k := range resp.AuditClear {
		if k == "plaintext" {
			t.Fatal("plaintext audited in clear")
		}
	}
	_, err := h.do(logical.UpdateOperation, "decrypt/k", map[string]any{"ciphertext": ct[:len(ct)-4] + "AAAA"})
	if err == nil || strings.Contains(err.Error(), string(secret)) {
		t.Fatalf("tampered ciphertext: %v", err)
	}
}

// A batch with failed items answers Vault's 400 (with batch_results),
// or partial_failure_response_code when some items succeeded; a batch
// without failures is a plain 200.
func TestBatchStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/k", nil)
	good := map[string]any{"plaintext": b64([]byte("ok"))}
	bad := map[string]any{"plaintext": "not base64!"}
	for _, tc := range []struct {
		name  string
		items []any
		code  any
		want  int
	}{
		{"all good", []any{good, good}, nil, 0},
		{"one bad", []any{good, bad}, nil, 400},
		{"one bad, partial code", []any{good, bad}, 207, 207},
		{"one bad, partial code as text", []any{good, bad}, "200", 200},
		{"all bad, partial code", []any{bad, bad}, 207, 400},
	} {
		data := map[string]any{"batch_input": tc.items}
		if tc.code != nil {
			data["partial_failure_response_code"] = tc.code
		}
		resp := h.write("encrypt/k", data)
		if resp.Status != tc.want || len(resp.Data["batch_results"].([]any)) != len(tc.items) {
			t.Errorf("%s: status %d (results %v), want %d", tc.name, resp.Status, resp.Data["batch_results"], tc.want)
		}
	}
}
