package ssh_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	xssh "golang.org/x/crypto/ssh"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/engines/ssh"
)

func TestConfigCAGenerate(t *testing.T) {
	cases := []struct {
		keyType string
		bits    int
		sshType string
	}{
		{"ssh-rsa", 2048, xssh.KeyAlgoRSA},
		{"rsa", 3072, xssh.KeyAlgoRSA},
		{"ecdsa", 0, xssh.KeyAlgoECDSA256},
		{"ec", 384, xssh.KeyAlgoECDSA384},
		{"ecdsa-sha2-nistp521", 0, xssh.KeyAlgoECDSA521},
		{"ed25519", 0, xssh.KeyAlgoED25519},
		{"ssh-ed25519", 0, xssh.KeyAlgoED25519},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s-%d", tc.keyType, tc.bits), func(t *testing.T) {
			h := newHarness(t)
			resp := h.must(logical.UpdateOperation, "config/ca", map[string]any{"generate_signing_key": true, "key_type": tc.keyType, "key_bits": tc.bits})
			if len(resp.Data) != 1 {
				t.Fatalf("config/ca answered %v, want the public key alone", keysOf(resp.Data))
			}
			pub := resp.Data["public_key"].(string)
			k, _, _, _, err := xssh.ParseAuthorizedKey([]byte(pub))
			if err != nil || k.Type() != tc.sshType {
				t.Fatalf("public_key %q: %v (type %v), want %s", pub, err, k, tc.sshType)
			}
			if tc.bits != 0 && strings.HasSuffix(tc.sshType, "rsa") {
				// ssh-keygen reports the size.
				f := writeFile(t, t.TempDir(), "ca.pub", pub+"\n", 0o644)
				if out := run(t, "ssh-keygen", "-l", "-f", f); !strings.HasPrefix(out, fmt.Sprint(tc.bits)+" ") {
					t.Fatalf("ssh-keygen -l: %s, want %d bits", out, tc.bits)
				}
			}
			if got := h.must(logical.ReadOperation, "config/ca", nil).Data["public_key"]; got != pub {
				t.Fatalf("read public_key = %v, want %v", got, pub)
			}
			bin := h.must(logical.ReadOperation, "public_key", nil).Binary
			if bin == nil || bin.ContentType != "text/plain" || string(bin.Data) != pub+"\n" {
				t.Fatalf("public_key = %+v, want text/plain %q", bin, pub+"\n")
			}
		})
	}
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestConfigCADefaultsToRSA4096(t *testing.T) {
	h := newHarness(t)
	pub := h.must(logical.UpdateOperation, "config/ca", nil).Data["public_key"].(string)
	f := writeFile(t, t.TempDir(), "ca.pub", pub+"\n", 0o644)
	if out := run(t, "ssh-keygen", "-l", "-f", f); !strings.HasPrefix(out, "4096 ") || !strings.Contains(out, "(RSA)") {
		t.Fatalf("ssh-keygen -l: %s, want a 4096-bit RSA key", out)
	}
}

func TestConfigCAImport(t *testing.T) {
	dir := t.TempDir()
	key, pub := userKey(t, dir, "ca", "ed25519")
	priv, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPub := userKey(t, dir, "other", "ed25519")
	encKey := filepath.Join(dir, "enc")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "a passphrase", "-f", encKey)
	enc, _ := os.ReadFile(encKey)
	rsaKey := filepath.Join(dir, "rsa-pem")
	run(t, "ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f", rsaKey)
	rsaPriv, _ := os.ReadFile(rsaKey)
	rsaPub, _ := os.ReadFile(rsaKey + ".pub")
	secret := middleLine(string(priv))

	cases := []struct {
		name     string
		data     map[string]any
		badField string
	}{
		{"openssh ed25519 pair", map[string]any{"private_key": string(priv), "public_key": pub}, ""},
		{"pem rsa pair, base64 public key only", map[string]any{"private_key": string(rsaPriv), "public_key": strings.Fields(string(rsaPub))[1]}, ""},
		{"mismatched public key", map[string]any{"private_key": string(priv), "public_key": otherPub}, "public_key"},
		{"missing public key", map[string]any{"private_key": string(priv)}, "public_key"},
		{"missing private key", map[string]any{"public_key": pub}, "private_key"},
		{"encrypted private key", map[string]any{"private_key": string(enc), "public_key": pub}, "private_key"},
		{"garbage private key", map[string]any{"private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nnope\n-----END OPENSSH PRIVATE KEY-----\n", "public_key": pub}, "private_key"},
		{"generate and import at once", map[string]any{"generate_signing_key": true, "private_key": string(priv), "public_key": pub}, "generate_signing_key"},
		{"neither generate nor import", map[string]any{"generate_signing_key": false}, "private_key"},
		{"unknown key type", map[string]any{"key_type": "dsa"}, "key_type"},
		{"weak rsa", map[string]any{"key_type": "rsa", "key_bits": 1024}, "key_bits"},
		{"bad curve", map[string]any{"key_type": "ec", "key_bits": 255}, "key_bits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			resp, err := h.do(logical.UpdateOperation, "config/ca", tc.data)
			if tc.badField != "" {
				wantInvalid(t, err, tc.badField)
				if strings.Contains(err.Error(), "PRIVATE") || strings.Contains(err.Error(), secret) {
					t.Fatalf("error quotes the private key: %v", err)
				}
				if _, err := h.do(logical.ReadOperation, "config/ca", nil); err == nil {
					t.Fatal("a refused config/ca write left a CA behind")
				}
				return
			}
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if fmt.Sprint(resp.Data) != fmt.Sprint(map[string]any{"public_key": resp.Data["public_key"]}) {
				t.Fatalf("import answered %v, want the public key alone", keysOf(resp.Data))
			}
			// The imported key signs: a certificate names it as its CA.
			h.must(logical.UpdateOperation, "roles/r", map[string]any{"key_type": "ca", "allow_user_certificates": true, "allowed_users": "u"})
			c := parseCert(t, h.must(logical.UpdateOperation, "sign/r", map[string]any{"public_key": otherPub, "valid_principals": "u"}).Data["signed_key"])
			want, _, _, _, _ := xssh.ParseAuthorizedKey([]byte(resp.Data["public_key"].(string)))
			if string(c.SignatureKey.Marshal()) != string(want.Marshal()) {
				t.Fatal("certificate not signed by the imported CA key")
			}
		})
	}
}

func TestConfigCALifecycle(t *testing.T) {
	h := newHarness(t)
	pub := pubLine(t, 0)
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"key_type": "ca", "allow_user_certificates": true, "allowed_users": "u"})

	_, err := h.do(logical.ReadOperation, "config/ca", nil)
	wantInvalid(t, err, "", "keys haven't been configured yet")
	if _, err := h.do(logical.ReadOperation, "public_key", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("public_key without a CA: %v, want not found", err)
	}
	if _, err := h.do(logical.UpdateOperation, "sign/r", map[string]any{"public_key": pub, "valid_principals": "u"}); !errors.Is(err, logical.ErrInvalidRequest) || !errors.Is(err, ssh.ErrNoCA) {
		t.Fatalf("sign without a CA: %v, want a 400", err)
	}

	first := h.configureCA("ed25519")
	_, err = h.do(logical.UpdateOperation, "config/ca", map[string]any{"key_type": "ed25519"})
	wantInvalid(t, err, "", "keys are already configured; delete them before reconfiguring")
	if got := h.must(logical.ReadOperation, "config/ca", nil).Data["public_key"]; got != first {
		t.Fatal("a refused reconfiguration changed the CA")
	}

	if resp := h.must(logical.DeleteOperation, "config/ca", nil); resp != nil {
		t.Fatalf("delete answered %+v", resp)
	}
	h.must(logical.DeleteOperation, "config/ca", nil) // idempotent
	second := h.configureCA("ed25519")
	if second == first {
		t.Fatal("a new CA has the old key")
	}
	// Signing uses the new key, not a cached old one.
	c := parseCert(t, h.must(logical.UpdateOperation, "sign/r", map[string]any{"public_key": pub, "valid_principals": "u"}).Data["signed_key"])
	want, _, _, _, _ := xssh.ParseAuthorizedKey([]byte(second))
	if string(c.SignatureKey.Marshal()) != string(want.Marshal()) {
		t.Fatal("certificate signed by the deleted CA key")
	}
}

// TestConfigCAConcurrentWrites: of concurrent generations, exactly one
// wins and the stored CA is the winner's.
func TestConfigCAConcurrentWrites(t *testing.T) {
	h := newHarness(t)
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := h.do(logical.UpdateOperation, "config/ca", map[string]any{"key_type": "ed25519"}); err == nil {
				results[i] = resp.Data["public_key"].(string)
			}
		}()
	}
	wg.Wait()
	var won []string
	for _, r := range results {
		if r != "" {
			won = append(won, r)
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d writes won, want 1", len(won))
	}
	if got := h.must(logical.ReadOperation, "config/ca", nil).Data["public_key"]; got != won[0] {
		t.Fatal("stored CA is not the winner's")
	}
}

func TestRouteInfo(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		path string
		op   logical.Operation
		want logical.RouteInfo
	}{
		{"config/ca", logical.UpdateOperation, logical.RouteInfo{Sudo: true}},
		{"config/ca", logical.DeleteOperation, logical.RouteInfo{Sudo: true}},
		{"config/ca", logical.ReadOperation, logical.RouteInfo{Sudo: true}},
		{"public_key", logical.ReadOperation, logical.RouteInfo{Unauthenticated: true}},
		{"roles/web", logical.UpdateOperation, logical.RouteInfo{}},
		{"roles/web", logical.CreateOperation, logical.RouteInfo{}},
		{"roles/", logical.ListOperation, logical.RouteInfo{}},
		{"sign/web", logical.UpdateOperation, logical.RouteInfo{Action: "generate"}},
		{"sign/web", logical.CreateOperation, logical.RouteInfo{Action: "generate"}},
		{"issue/web", logical.UpdateOperation, logical.RouteInfo{Action: "generate"}},
	}
	for _, tc := range cases {
		t.Run(string(tc.op)+" "+tc.path, func(t *testing.T) {
			got, ok := h.b.RouteInfo(tc.path, tc.op)
			if !ok || got != tc.want {
				t.Fatalf("RouteInfo = %+v, %v; want %+v", got, ok, tc.want)
			}
		})
	}
	if _, ok := h.b.RouteInfo("creds/web", logical.UpdateOperation); ok {
		t.Fatal("creds/ (OTP mode) is routed")
	}
}

// TestSecretsStayOut: the CA private key is in no answer, and issue/'s
// private key is in no stored entry; serial_number is audited in clear.
func TestSecretsStayOut(t *testing.T) {
	h := newHarness(t)
	h.configureCA("ed25519")
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"key_type": "ca", "allow_user_certificates": true, "allowed_users": "u"})
	e, err := h.storage.Get(t.Context(), "config/ca")
	if err != nil || e == nil {
		t.Fatalf("stored CA: %v", err)
	}
	var stored struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(e.Value, &stored); err != nil || stored.PrivateKey == "" {
		t.Fatalf("stored CA: %v", err)
	}
	caPriv := middleLine(stored.PrivateKey)

	issued := h.must(logical.UpdateOperation, "issue/r", map[string]any{"key_type": "ed25519", "valid_principals": "u"})
	signed := h.must(logical.UpdateOperation, "sign/r", map[string]any{"public_key": pubLine(t, 0), "valid_principals": "u"})
	for name, resp := range map[string]*logical.Response{
		"issue": issued, "sign": signed,
		"config/ca": h.must(logical.ReadOperation, "config/ca", nil),
		"role":      h.must(logical.ReadOperation, "roles/r", nil),
	} {
		if strings.Contains(fmt.Sprint(resp.Data), caPriv) {
			t.Fatalf("%s answers the CA private key", name)
		}
	}
	for name, resp := range map[string]*logical.Response{"issue": issued, "sign": signed} {
		if fmt.Sprint(resp.AuditClear) != "[serial_number]" {
			t.Errorf("%s AuditClear = %v, want [serial_number]", name, resp.AuditClear)
		}
	}
	issuedKey := middleLine(issued.Data["private_key"].(string))
	for _, prefix := range []string{"config/", "roles/", ""} {
		keys, _ := h.storage.List(t.Context(), prefix)
		for _, k := range keys {
			e, _ := h.storage.Get(t.Context(), prefix+k)
			if e != nil && strings.Contains(string(e.Value), issuedKey) {
				t.Fatalf("issued private key stored at %s", prefix+k)
			}
		}
	}
}

// middleLine is a line from the middle of a PEM block: unique to the key
// (the first lines of OpenSSH keys are a constant header).
func middleLine(pemText string) string {
	lines := strings.Split(strings.TrimSpace(pemText), "\n")
	return lines[len(lines)/2]
}
