package ssh_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// pubLine returns the authorized_keys line of a fresh ed25519 key (or
// of an RSA key of rsaBits when rsaBits > 0).
func pubLine(t testing.TB, rsaBits int) string {
	t.Helper()
	var pub any
	if rsaBits > 0 {
		k, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			t.Fatal(err)
		}
		pub = k.Public()
	} else {
		p, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub = p
	}
	sp, err := xssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(xssh.MarshalAuthorizedKey(sp))
}

// parseCert parses a signed_key.
func parseCert(t testing.TB, signed any) *xssh.Certificate {
	t.Helper()
	s, _ := signed.(string)
	k, _, _, _, err := xssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		t.Fatalf("signed_key does not parse: %v", err)
	}
	c, ok := k.(*xssh.Certificate)
	if !ok {
		t.Fatalf("signed_key is a %T, not a certificate", k)
	}
	return c
}

func TestSignRules(t *testing.T) {
	t0 := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	h := mountOn(t, inmem.New(), system{def: time.Hour, max: 24 * time.Hour}, sshWithClock(t0))
	h.configureCA("ed25519")
	roles := map[string]map[string]any{
		"any":     {"allowed_users": "*"},
		"std":     {"allowed_users": "alice,bob", "default_user": "alice", "allowed_extensions": "permit-pty", "default_extensions": map[string]any{"permit-agent-forwarding": ""}, "allowed_critical_options": "force-command", "ttl": "30m", "max_ttl": "2h"},
		"anyext":  {"allowed_users": "alice", "allowed_extensions": "*"},
		"none":    {"default_user": "alice"},
		"wide":    {"allowed_users": "alice", "default_user": "alice", "max_ttl": "48h"},
		"hosts":   {"allow_user_certificates": false, "allow_host_certificates": true, "allowed_domains": "example.com", "allow_subdomains": true},
		"bare":    {"allow_user_certificates": false, "allow_host_certificates": true, "allowed_domains": "example.com", "allow_bare_domains": true},
		"anyhost": {"allow_user_certificates": false, "allow_host_certificates": true, "allowed_domains": "*"},
		"keys":    {"allowed_users": "alice", "default_user": "alice", "allowed_user_key_lengths": map[string]any{"rsa": []any{3072}, "ed25519": 0}},
	}
	for name, r := range roles {
		data := map[string]any{"key_type": "ca", "allow_user_certificates": true}
		maps.Copy(data, r)
		h.must(logical.UpdateOperation, "roles/"+name, data)
	}
	ed := pubLine(t, 0)
	rsa2048 := pubLine(t, 2048)

	type want struct {
		principals []string
		ttl        time.Duration
		extensions []string
	}
	cases := []struct {
		name     string
		role     string
		data     map[string]any
		badField string // "" means the certificate is signed
		want     want
	}{
		{name: "star without principals or default_user is refused", role: "any", badField: "valid_principals"},
		{name: "star with blank principals is refused", role: "any", data: map[string]any{"valid_principals": " , "}, badField: "valid_principals"},
		{name: "star signs what is asked", role: "any", data: map[string]any{"valid_principals": "root,deploy"}, want: want{principals: []string{"root", "deploy"}, ttl: time.Hour}},
		{name: "default_user when none asked", role: "std", want: want{principals: []string{"alice"}, ttl: 30 * time.Minute, extensions: []string{"permit-agent-forwarding"}}},
		{name: "allowed principals", role: "std", data: map[string]any{"valid_principals": []any{"bob", "alice", "bob"}}, want: want{principals: []string{"bob", "alice"}, ttl: 30 * time.Minute, extensions: []string{"permit-agent-forwarding"}}},
		{name: "principal outside allowed_users", role: "std", data: map[string]any{"valid_principals": "alice,root"}, badField: "valid_principals"},
		{name: "empty allowed_users allows no one, default_user included", role: "none", badField: "valid_principals"},
		{name: "allowed extension replaces the defaults", role: "std", data: map[string]any{"extensions": map[string]any{"permit-pty": ""}}, want: want{principals: []string{"alice"}, ttl: 30 * time.Minute, extensions: []string{"permit-pty"}}},
		{name: "extension outside allowed_extensions", role: "std", data: map[string]any{"extensions": map[string]any{"permit-pty": "", "permit-X11-forwarding": ""}}, badField: "extensions"},
		{name: "no extension allowed by default", role: "any", data: map[string]any{"valid_principals": "a", "extensions": map[string]any{"permit-pty": ""}}, badField: "extensions"},
		{name: "star allows any extension", role: "anyext", data: map[string]any{"extensions": map[string]any{"permit-user-rc": ""}, "valid_principals": "alice"}, want: want{principals: []string{"alice"}, ttl: time.Hour, extensions: []string{"permit-user-rc"}}},
		{name: "critical option outside the allowed list", role: "std", data: map[string]any{"critical_options": map[string]any{"source-address": "10.0.0.0/8"}}, badField: "critical_options"},
		{name: "requested ttl", role: "std", data: map[string]any{"ttl": "90m"}, want: want{principals: []string{"alice"}, ttl: 90 * time.Minute, extensions: []string{"permit-agent-forwarding"}}},
		{name: "ttl beyond role max_ttl", role: "std", data: map[string]any{"ttl": "3h"}, badField: "ttl"},
		{name: "negative ttl", role: "std", data: map[string]any{"ttl": -5}, badField: "ttl"},
		{name: "role max_ttl beyond the mount's is cut to it", role: "wide", data: map[string]any{"ttl": "30h"}, badField: "ttl"},
		{name: "mount max allows up to itself", role: "wide", data: map[string]any{"ttl": "24h"}, want: want{principals: []string{"alice"}, ttl: 24 * time.Hour}},
		{name: "user cert on a host-only role", role: "hosts", data: map[string]any{"valid_principals": "a.example.com"}, badField: "cert_type"},
		{name: "bad cert_type", role: "std", data: map[string]any{"cert_type": "robot"}, badField: "cert_type"},
		{name: "subdomain", role: "hosts", data: map[string]any{"cert_type": "host", "valid_principals": "a.b.example.com"}, want: want{principals: []string{"a.b.example.com"}, ttl: time.Hour}},
		{name: "bare domain without allow_bare_domains", role: "hosts", data: map[string]any{"cert_type": "host", "valid_principals": "example.com"}, badField: "valid_principals"},
		{name: "bare domain", role: "bare", data: map[string]any{"cert_type": "host", "valid_principals": "example.com"}, want: want{principals: []string{"example.com"}, ttl: time.Hour}},
		{name: "subdomain without allow_subdomains", role: "bare", data: map[string]any{"cert_type": "host", "valid_principals": "a.example.com"}, badField: "valid_principals"},
		{name: "suffix that is not a subdomain", role: "hosts", data: map[string]any{"cert_type": "host", "valid_principals": "badexample.com"}, badField: "valid_principals"},
		{name: "host cert needs principals even for star", role: "anyhost", data: map[string]any{"cert_type": "host"}, badField: "valid_principals"},
		{name: "key_id without allow_user_key_ids", role: "std", data: map[string]any{"key_id": "me"}, badField: "key_id"},
		{name: "allowed key type", role: "keys", data: map[string]any{"public_key": ed}, want: want{principals: []string{"alice"}, ttl: time.Hour}},
		{name: "rsa key of a size not allowed", role: "keys", data: map[string]any{"public_key": rsa2048}, badField: "public_key"},
		{name: "missing public_key", role: "std", data: map[string]any{"public_key": ""}, badField: "public_key"},
		{name: "garbage public_key", role: "std", data: map[string]any{"public_key": "ssh-ed25519 !!!"}, badField: "public_key"},
		{name: "unknown role", role: "nope", badField: "role"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := map[string]any{"public_key": ed}
			maps.Copy(data, tc.data)
			resp, err := h.do(logical.UpdateOperation, "sign/"+tc.role, data)
			if tc.badField != "" {
				wantInvalid(t, err, tc.badField)
				return
			}
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			c := parseCert(t, resp.Data["signed_key"])
			if !slices.Equal(c.ValidPrincipals, tc.want.principals) {
				t.Errorf("principals = %q, want %q", c.ValidPrincipals, tc.want.principals)
			}
			if got := time.Unix(int64(c.ValidBefore), 0).Sub(t0); got != tc.want.ttl {
				t.Errorf("ttl = %v, want %v", got, tc.want.ttl)
			}
			if got := time.Unix(int64(c.ValidAfter), 0); !got.Equal(t0.Add(-30 * time.Second)) {
				t.Errorf("valid after %v, want 30s before %v", got, t0)
			}
			if got := slices.Sorted(maps.Keys(c.Extensions)); !slices.Equal(got, tc.want.extensions) {
				t.Errorf("extensions = %q, want %q", got, tc.want.extensions)
			}
		})
	}
}

func TestSignErrorWording(t *testing.T) {
	h := newHarness(t)
	h.configureCA("ed25519")
	h.must(logical.UpdateOperation, "roles/any", map[string]any{"key_type": "ca", "allow_user_certificates": true, "allowed_users": "*"})
	h.must(logical.UpdateOperation, "roles/two", map[string]any{"key_type": "ca", "allow_user_certificates": true, "allowed_users": "alice"})
	pub := pubLine(t, 0)
	_, err := h.do(logical.UpdateOperation, "sign/any", map[string]any{"public_key": pub})
	wantInvalid(t, err, "valid_principals", "refusing to issue unsafe, globally-valid certificate with no principals specified")
	_, err = h.do(logical.UpdateOperation, "sign/two", map[string]any{"public_key": pub, "valid_principals": "mallory"})
	wantInvalid(t, err, "valid_principals", "mallory is not a valid value for valid_principals")
	_, err = h.do(logical.UpdateOperation, "sign/two", map[string]any{"public_key": pub, "valid_principals": "alice", "ttl": "9999h"})
	wantInvalid(t, err, "ttl", "ttl is larger than maximum allowed 2764800")
}

func TestIssueRules(t *testing.T) {
	h := newHarness(t)
	h.must(logical.UpdateOperation, "roles/r", map[string]any{
		"key_type": "ca", "allow_user_certificates": true, "allowed_users": "alice",
		"allowed_user_key_lengths": map[string]any{"ecdsa-sha2-nistp256": 0, "rsa": 2048},
	})
	// No CA yet: a 400, before any key is generated.
	_, err := h.do(logical.UpdateOperation, "issue/r", map[string]any{"key_type": "ec", "valid_principals": "alice"})
	if !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("issue without a CA: %v, want a 400", err)
	}
	h.configureCA("ed25519")
	cases := []struct {
		name     string
		data     map[string]any
		badField string
	}{
		{"allowed curve", map[string]any{"key_type": "ec", "key_bits": 256}, ""},
		{"curve not allowed", map[string]any{"key_type": "ec", "key_bits": 384}, "key_type"},
		{"type not allowed", map[string]any{"key_type": "ed25519"}, "key_type"},
		{"default rsa size not allowed", map[string]any{}, "key_bits"},
		{"weak rsa", map[string]any{"key_type": "rsa", "key_bits": 1024}, "key_bits"},
		{"huge rsa", map[string]any{"key_type": "rsa", "key_bits": 16384}, "key_bits"},
		{"unknown type", map[string]any{"key_type": "dsa"}, "key_type"},
		{"no principals", map[string]any{"key_type": "ec", "valid_principals": ""}, "valid_principals"},
		{"principal not allowed", map[string]any{"key_type": "ec", "valid_principals": "bob"}, "valid_principals"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := map[string]any{"valid_principals": "alice"}
			maps.Copy(data, tc.data)
			resp, err := h.do(logical.UpdateOperation, "issue/r", data)
			if tc.badField != "" {
				wantInvalid(t, err, tc.badField)
				return
			}
			if err != nil {
				t.Fatalf("issue: %v", err)
			}
			c := parseCert(t, resp.Data["signed_key"])
			if _, err := xssh.ParsePrivateKey([]byte(resp.Data["private_key"].(string))); err != nil {
				t.Fatalf("private_key does not parse: %v", err)
			}
			if !slices.Equal(c.ValidPrincipals, []string{"alice"}) {
				t.Errorf("principals = %q", c.ValidPrincipals)
			}
		})
	}
}

func TestGrantTTL(t *testing.T) {
	h := mountOn(t, inmem.New(), system{def: time.Hour, max: 24 * time.Hour})
	h.must(logical.UpdateOperation, "roles/short", map[string]any{"key_type": "ca", "allow_user_certificates": true, "ttl": "5m"})
	h.must(logical.UpdateOperation, "roles/capped", map[string]any{"key_type": "ca", "allow_user_certificates": true, "max_ttl": "10m"})
	h.must(logical.UpdateOperation, "roles/plain", map[string]any{"key_type": "ca", "allow_user_certificates": true})
	cases := []struct {
		op     logical.Operation
		path   string
		want   time.Duration
		wantOK bool
	}{
		{logical.UpdateOperation, "sign/short", 5 * time.Minute, true},
		{logical.UpdateOperation, "issue/capped", 10 * time.Minute, true},
		{logical.CreateOperation, "sign/plain", time.Hour, true},
		{logical.UpdateOperation, "sign/missing", 0, false},
		{logical.ReadOperation, "sign/short", 0, false},
		{logical.UpdateOperation, "roles/short", 0, false},
	}
	for _, tc := range cases {
		t.Run(string(tc.op)+" "+tc.path, func(t *testing.T) {
			got, ok, err := h.b.GrantTTL(t.Context(), &logical.Request{Operation: tc.op, Path: tc.path, Storage: h.storage})
			if err != nil || ok != tc.wantOK || got != tc.want {
				t.Fatalf("GrantTTL = %v, %v, %v; want %v, %v", got, ok, err, tc.want, tc.wantOK)
			}
		})
	}
}
