package keypair_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/keypair"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Fixtures made outside Go: fixtureSSH by `ssh-keygen -t ed25519`,
// fixtureFingerprint by `ssh-keygen -lf`, fixturePEM by `openssl pkey`
// from the same key, fixtureRaw the key's 32 bytes.
const (
	fixtureSSH         = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPuBJ3qQLrIVAKdXGS/Ifeo+KlNWL99bZGNBPN2qINQ1 fixture@example"
	fixtureFingerprint = "SHA256:dt/tImDGYABd8s7b7fU7D6kd0Am2KEQHZOSuvclU/kY"
	fixturePEM         = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA+4EnepAushUAp1cZL8h96j4qU1Yv31tkY0E83aog1DU=\n-----END PUBLIC KEY-----\n"
	fixtureRaw         = "+4EnepAushUAp1cZL8h96j4qU1Yv31tkY0E83aog1DU="
)

func ecdsaPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestRegisterKeyFormats(t *testing.T) {
	identity := base64.StdEncoding.EncodeToString(append([]byte{1}, make([]byte, 31)...))
	tests := []struct {
		name    string
		key     string
		wantErr bool
	}{
		{name: "openssh with comment", key: fixtureSSH},
		{name: "openssh without comment", key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPuBJ3qQLrIVAKdXGS/Ifeo+KlNWL99bZGNBPN2qINQ1"},
		{name: "openssh with surrounding space", key: "  " + fixtureSSH + "\n"},
		{name: "pem", key: fixturePEM},
		{name: "raw padded", key: fixtureRaw},
		{name: "raw unpadded", key: fixtureRaw[:43]},
		{name: "empty", key: "", wantErr: true},
		{name: "rsa openssh", key: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 x@y", wantErr: true},
		{name: "openssh with options", key: `from="10.0.0.1" ` + fixtureSSH, wantErr: true},
		{name: "openssh blob of another type", key: "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQC7", wantErr: true},
		{name: "openssh not base64", key: "ssh-ed25519 !!!", wantErr: true},
		{name: "openssh trailing blob data", key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPuBJ3qQLrIVAKdXGS/Ifeo+KlNWL99bZGNBPN2qINQ1AA==", wantErr: true},
		{name: "openssh short key", key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAH/uBJ3qQLrIVAKdXGS/Ifeo+KlNWL99bZGNBPN2qINQ=", wantErr: true},
		{name: "pem of an ecdsa key", key: ecdsaPEM(t), wantErr: true},
		{name: "pem certificate type", key: "-----BEGIN CERTIFICATE-----\nMCowBQYDK2VwAyEA+4EnepAushUAp1cZL8h96j4qU1Yv31tkY0E83aog1DU=\n-----END CERTIFICATE-----\n", wantErr: true},
		{name: "pem with trailing data", key: fixturePEM + "junk", wantErr: true},
		{name: "pem broken", key: "-----BEGIN PUBLIC KEY-----\nnope\n", wantErr: true},
		{name: "raw 31 bytes", key: base64.StdEncoding.EncodeToString(make([]byte, 31)), wantErr: true},
		{name: "raw not base64", key: "not-a-key", wantErr: true},
		{name: "small-order identity point", key: identity, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			_, err := h.Do(logical.UpdateOperation, "keys/alice", map[string]any{"public_key": tc.key})
			if tc.wantErr {
				var ire *logical.InvalidRequestError
				if !errors.As(err, &ire) || ire.Field != "public_key" {
					t.Fatalf("register = %v, want a 400 on public_key", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := h.Must(logical.ReadOperation, "keys/alice", nil).Data
			if got["fingerprint"] != fixtureFingerprint {
				t.Fatalf("fingerprint = %v, want %s (ssh-keygen's)", got["fingerprint"], fixtureFingerprint)
			}
			if want := fixtureSSH[:len(fixtureSSH)-len(" fixture@example")]; got["public_key"] != want {
				t.Fatalf("public_key = %v, want %s", got["public_key"], want)
			}
		})
	}
}

func TestKeyReadShape(t *testing.T) {
	h := newHarness(t, nil)
	h.Must(logical.UpdateOperation, "keys/alice", map[string]any{
		"public_key":              fixtureSSH,
		"token_policies":          "Dev, ops,dev, ",
		"token_ttl":               "1h",
		"token_max_ttl":           7200,
		"token_period":            "0",
		"token_num_uses":          3,
		"token_bound_cidrs":       []any{"10.0.0.0/8", "192.168.1.7"},
		"token_no_default_policy": true,
	})
	want := map[string]any{
		"public_key":              "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPuBJ3qQLrIVAKdXGS/Ifeo+KlNWL99bZGNBPN2qINQ1",
		"fingerprint":             fixtureFingerprint,
		"token_policies":          []string{"dev", "ops"},
		"token_ttl":               int64(3600),
		"token_max_ttl":           int64(7200),
		"token_period":            int64(0),
		"token_num_uses":          3,
		"token_bound_cidrs":       []string{"10.0.0.0/8", "192.168.1.7"},
		"token_no_default_policy": true,
	}
	if got := h.Must(logical.ReadOperation, "keys/alice", nil).Data; !reflect.DeepEqual(got, want) {
		t.Fatalf("read = %#v\nwant %#v", got, want)
	}
	// An update without public_key keeps the key and the fields not sent.
	h.Must(logical.UpdateOperation, "keys/alice", map[string]any{"token_num_uses": 0, "token_policies": []any{"web"}})
	want["token_num_uses"], want["token_policies"] = 0, []string{"web"}
	if got := h.Must(logical.ReadOperation, "keys/alice", nil).Data; !reflect.DeepEqual(got, want) {
		t.Fatalf("read after update = %#v\nwant %#v", got, want)
	}
	// A new public key replaces the old one.
	pub, _ := newKey(9)
	h.Must(logical.UpdateOperation, "keys/alice", map[string]any{"public_key": base64.StdEncoding.EncodeToString(pub)})
	if got := h.Must(logical.ReadOperation, "keys/alice", nil).Data; got["fingerprint"] != keypair.Fingerprint(pub) || got["token_ttl"] != int64(3600) {
		t.Fatalf("read after key change = %v", got)
	}
}

func TestKeyWriteValidation(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		data      map[string]any
		wantField string
	}{
		{"missing public key on create", "keys/alice", map[string]any{"token_ttl": "1h"}, "public_key"},
		{"upper-case name", "keys/Alice", map[string]any{"public_key": fixtureRaw}, "name"},
		{"name with a space", "keys/a%20b", map[string]any{"public_key": fixtureRaw}, "name"},
		{"name ending in a dot", "keys/alice.", map[string]any{"public_key": fixtureRaw}, "name"},
		{"ttl above max ttl", "keys/alice", map[string]any{"public_key": fixtureRaw, "token_ttl": "2h", "token_max_ttl": "1h"}, "token_ttl"},
		{"negative ttl", "keys/alice", map[string]any{"public_key": fixtureRaw, "token_ttl": "-1s"}, "token_ttl"},
		{"negative period", "keys/alice", map[string]any{"public_key": fixtureRaw, "token_period": -5}, "token_period"},
		{"negative uses", "keys/alice", map[string]any{"public_key": fixtureRaw, "token_num_uses": -1}, "token_num_uses"},
		{"bad cidr", "keys/alice", map[string]any{"public_key": fixtureRaw, "token_bound_cidrs": "10.0.0.0/33"}, "token_bound_cidrs"},
		{"root policy", "keys/alice", map[string]any{"public_key": fixtureRaw, "token_policies": "dev,Root"}, "token_policies"},
		{"ttl not a duration", "keys/alice", map[string]any{"public_key": fixtureRaw, "token_ttl": "soon"}, "token_ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			_, err := h.Do(logical.UpdateOperation, tc.path, tc.data)
			var ire *logical.InvalidRequestError
			if !errors.As(err, &ire) || ire.Field != tc.wantField {
				t.Fatalf("write = %v, want a 400 on %s", err, tc.wantField)
			}
			if _, err := h.Do(logical.ReadOperation, "keys/alice", nil); !errors.Is(err, logical.ErrNotFound) {
				t.Fatalf("a refused write stored something: %v", err)
			}
		})
	}
}

func TestKeysListDeleteExistence(t *testing.T) {
	h := newHarness(t, nil)
	if _, err := h.Do(logical.ListOperation, "keys", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("empty list = %v, want 404", err)
	}
	h.Must(logical.UpdateOperation, "keys/bob", map[string]any{"public_key": fixtureRaw})
	h.Must(logical.UpdateOperation, "keys/alice", map[string]any{"public_key": fixtureRaw})
	if got := h.Must(logical.ListOperation, "keys/", nil).Data["keys"]; !reflect.DeepEqual(got, []string{"alice", "bob"}) {
		t.Fatalf("list = %v", got)
	}
	for name, want := range map[string]bool{"alice": true, "carol": false, "BAD": false} {
		exists, ok, err := h.b.ExistenceCheck(t.Context(), &logical.Request{Operation: logical.UpdateOperation, Path: "keys/" + name, Storage: h.Storage})
		if err != nil || !ok || exists != want {
			t.Errorf("ExistenceCheck(%s) = %v, %v, %v; want %v", name, exists, ok, err, want)
		}
	}
	h.Must(logical.DeleteOperation, "keys/alice", nil)
	if _, err := h.Do(logical.ReadOperation, "keys/alice", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("read after delete = %v, want 404", err)
	}
	if got := h.Must(logical.ListOperation, "keys", nil).Data["keys"]; !reflect.DeepEqual(got, []string{"bob"}) {
		t.Fatalf("list after delete = %v", got)
	}
}

func TestConfig(t *testing.T) {
	h := newHarness(t, nil)
	if got := h.Must(logical.ReadOperation, "config", nil).Data; !reflect.DeepEqual(got, map[string]any{"nonce_ttl": int64(60), "clock_skew": int64(30)}) {
		t.Fatalf("default config = %v", got)
	}
	h.Must(logical.UpdateOperation, "config", map[string]any{"nonce_ttl": "2m"})
	if got := h.Must(logical.ReadOperation, "config", nil).Data; !reflect.DeepEqual(got, map[string]any{"nonce_ttl": int64(120), "clock_skew": int64(30)}) {
		t.Fatalf("config after write = %v", got)
	}
	resp := h.Must(logical.UpdateOperation, "nonce", map[string]any{"name": "alice"})
	if want := stamp(h.Clock.Now().Add(2 * time.Minute)); resp.Data["expires_at"] != want {
		t.Fatalf("expires_at = %v, want %s", resp.Data["expires_at"], want)
	}
	for _, bad := range []map[string]any{{"nonce_ttl": 0}, {"nonce_ttl": "2h"}, {"clock_skew": "-1s"}, {"clock_skew": "61m"}, {"nonce_ttl": "x"}} {
		if _, err := h.Do(logical.UpdateOperation, "config", bad); !errors.Is(err, logical.ErrInvalidRequest) {
			t.Errorf("config %v = %v, want 400", bad, err)
		}
	}
}

func TestRouteInfo(t *testing.T) {
	h := newHarness(t, nil)
	rd := h.b.(logical.RouteDescriber)
	for path, unauth := range map[string]bool{"nonce": true, "login": true, "keys/alice": false, "keys": false, "config": false} {
		info, ok := rd.RouteInfo(path, logical.UpdateOperation)
		if !ok || info.Unauthenticated != unauth || info.Sudo {
			t.Errorf("RouteInfo(%s) = %+v, %v; want unauthenticated=%v", path, info, ok, unauth)
		}
	}
	if _, ok := rd.RouteInfo("nope", logical.ReadOperation); ok {
		t.Error("RouteInfo matched an unknown path")
	}
}
