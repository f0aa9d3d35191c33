package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// transcript records what each helper returned, so that the same calls
// over REST and over gRPC can be compared line by line.
type transcript struct {
	t     *testing.T
	lines []string
}

func (tr *transcript) add(what string, v any, err error) {
	tr.t.Helper()
	if err != nil {
		tr.lines = append(tr.lines, fmt.Sprintf("%s: error %s", what, errClass(err)))
		return
	}
	tr.lines = append(tr.lines, fmt.Sprintf("%s: %v", what, v))
}

// must records v and fails the test on err.
func (tr *transcript) must(what string, v any, err error) {
	tr.t.Helper()
	if err != nil {
		tr.t.Fatalf("%s: %v", what, err)
	}
	tr.add(what, v, nil)
}

// errClass names the sentinel an error matches (messages may differ in
// wording between transports only where the transport itself fails).
func errClass(err error) string {
	for _, s := range []struct {
		name string
		err  error
	}{{"not found", client.ErrNotFound}, {"permission denied", client.ErrPermissionDenied},
		{"invalid request", client.ErrInvalidRequest}, {"unavailable", client.ErrUnavailable},
		{"invalid argument", client.ErrInvalidArgument}} {
		if errors.Is(err, s.err) {
			var re *client.ResponseError
			if errors.As(err, &re) {
				return fmt.Sprintf("%s %d %q", s.name, re.StatusCode, re.Errors)
			}
			return s.name
		}
	}
	return "other: " + err.Error()
}

// runHelpers calls every typed helper against a fresh server through c
// and returns the transcript.
func runHelpers(t *testing.T, rs *realServer, c *client.Client, opts []client.Option) []string {
	ctx := context.Background()
	tr := &transcript{t: t}
	sys := c.Sys()

	h, err := sys.Health(ctx)
	tr.must("health", h != nil && h.Initialized && !h.Sealed && !h.Standby, err)
	st, err := sys.SealStatus(ctx)
	tr.must("seal status", spaced(st.Sealed, st.T, st.N, st.Type), err)
	ini, err := sys.InitStatus(ctx)
	tr.must("init status", ini, err)
	ld, err := sys.Leader(ctx)
	tr.must("leader", ld != nil, err)
	for _, m := range []struct{ path, typ string }{{"transit", "transit"}, {"pki", "pki"}, {"tmp", "kv"}} {
		in := &client.MountInput{Type: m.typ, Config: client.MountConfigInput{DefaultLeaseTTL: "1h", MaxLeaseTTL: "24h"}}
		if m.typ == "kv" {
			in.Options = map[string]string{"version": "2"}
		}
		tr.must("enable "+m.path, nil, sys.EnableMount(ctx, m.path, in))
	}
	mounts, err := sys.ListMounts(ctx)
	tr.must("mounts", mountSummary(mounts), err)
	tr.must("disable tmp", nil, sys.DisableMount(ctx, "tmp"))
	tr.add("enable bad type", nil, sys.EnableMount(ctx, "bad", &client.MountInput{Type: "nope"}))

	runKV(tr, c.KV("secret"))
	runToken(tr, c)
	runTransit(tr, c)
	runPKI(tr, c)
	runAuthAndPolicies(tr, c)

	tr.add("lease lookup unknown", nil, func() error { _, err := c.Leases().Lookup(ctx, "nope/1"); return err }())
	bad, err := c.Rotation().Check(ctx)
	tr.must("rotation check", len(bad), err)
	anon, err := client.New(append([]client.Option{noEnv, client.WithAddress(rs.URL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	_, err = anon.KV("secret").Get(ctx, "app")
	tr.add("anonymous kv get", nil, err)
	return tr.lines
}

func mountSummary(m map[string]*client.MountOutput) string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%s/%d/%d", k, v.Type, v.Config.DefaultLeaseTTL, v.Config.MaxLeaseTTL))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func runKV(tr *transcript, kv *client.KV) {
	ctx := context.Background()
	m, err := kv.Put(ctx, "app", map[string]any{"user": "u", "pass": "p1"})
	tr.must("kv put", m.Version, err)
	_, err = kv.Put(ctx, "app", map[string]any{"x": 1}, client.WithCAS(0))
	tr.add("kv put cas mismatch", nil, err)
	m, err = kv.Patch(ctx, "app", map[string]any{"pass": "p2", "user": nil})
	tr.must("kv patch", m.Version, err)
	s, err := kv.Get(ctx, "app")
	tr.must("kv get", spaced(s.Data, s.VersionMetadata.Version), err)
	s, err = kv.Get(ctx, "app", client.WithVersion(1))
	tr.must("kv get v1", spaced(s.Data), err)
	keys, err := kv.List(ctx, "")
	tr.must("kv list", keys, err)
	tr.must("kv delete", nil, kv.Delete(ctx, "app"))
	_, err = kv.Get(ctx, "app")
	tr.add("kv get deleted", nil, err)
	tr.must("kv undelete", nil, kv.Undelete(ctx, "app", 2))
	tr.must("kv destroy", nil, kv.Destroy(ctx, "app", 1))
	vs, err := kv.Versions(ctx, "app")
	var desc []string
	for _, v := range vs {
		desc = append(desc, fmt.Sprintf("v%d destroyed=%v deleted=%v", v.Version, v.Destroyed, !v.DeletionTime.IsZero()))
	}
	tr.must("kv versions", desc, err)
	md, err := kv.Metadata(ctx, "app")
	tr.must("kv metadata", spaced(md.CurrentVersion, md.OldestVersion), err)
	tr.must("kv delete metadata", nil, kv.DeleteMetadata(ctx, "app"))
	_, err = kv.Metadata(ctx, "app")
	tr.add("kv metadata gone", nil, err)
}

func runToken(tr *transcript, c *client.Client) {
	ctx := context.Background()
	s, err := c.Token().Create(ctx, &client.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h", ExplicitMaxTTL: "2h"})
	tr.must("token create", spaced(s.Auth.LeaseDuration, s.Auth.Renewable, s.Auth.Policies), err)
	tok := s.Auth.ClientToken
	l, err := c.Token().Lookup(ctx, tok)
	tr.must("token lookup", l.Data["explicit_max_ttl"], err)
	r, err := c.Token().Renew(ctx, tok, 30*time.Minute)
	tr.must("token renew", r.Auth.LeaseDuration, err)
	tr.must("token revoke", nil, c.Token().Revoke(ctx, tok))
	_, err = c.Token().Lookup(ctx, tok)
	tr.add("token lookup revoked", nil, err)
}

func runTransit(tr *transcript, c *client.Client) {
	ctx := context.Background()
	_, err := c.Write(ctx, "transit/keys/app", nil)
	tr.must("transit key", nil, err)
	_, err = c.Write(ctx, "transit/keys/signer", map[string]any{"type": "ed25519"})
	tr.must("transit signing key", nil, err)
	tn := c.Transit("transit")
	ct, err := tn.Encrypt(ctx, "app", []byte("hello"))
	tr.must("transit encrypt", strings.HasPrefix(ct.Ciphertext, "vault:v1:"), err)
	pt, err := tn.Decrypt(ctx, "app", ct.Ciphertext)
	tr.must("transit decrypt", string(pt), err)
	_, err = c.Write(ctx, "transit/keys/app/rotate", nil)
	tr.must("transit rotate", nil, err)
	rw, err := tn.Rewrap(ctx, "app", ct.Ciphertext)
	tr.must("transit rewrap", spaced(strings.HasPrefix(rw.Ciphertext, "vault:v2:"), rw.KeyVersion), err)
	pt, err = tn.Decrypt(ctx, "app", rw.Ciphertext)
	tr.must("transit decrypt rewrapped", string(pt), err)
	_, err = tn.Decrypt(ctx, "app", "vault:v1:bm9wZQ==")
	tr.add("transit decrypt garbage", nil, err)
	sig, err := tn.Sign(ctx, "signer", []byte("msg"))
	tr.must("transit sign", strings.HasPrefix(sig.Signature, "vault:v1:"), err)
	ok, err := tn.Verify(ctx, "signer", []byte("msg"), sig.Signature)
	tr.must("transit verify", ok, err)
	ok, err = tn.Verify(ctx, "signer", []byte("other"), sig.Signature)
	tr.must("transit verify other", ok, err)
	_, err = tn.Encrypt(ctx, "missing", []byte("x"))
	tr.add("transit encrypt missing key", nil, err)
}

func runPKI(tr *transcript, c *client.Client) {
	ctx := context.Background()
	_, err := c.Write(ctx, "pki/root/generate/internal", map[string]any{"common_name": "Test Root", "key_type": "ec", "ttl": "24h"})
	tr.must("pki root", nil, err)
	_, err = c.Write(ctx, "pki/roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true,
		"key_type": "ec", "max_ttl": "1h"})
	tr.must("pki role", nil, err)
	p := c.PKI("pki")
	cert, err := p.Issue(ctx, "web", &client.PKIIssueInput{CommonName: "www.example.com", TTL: "10m"})
	tr.must("pki issue", spaced(certCN(cert.Certificate), cert.PrivateKey != "", cert.PrivateKeyType), err)
	_, err = p.Issue(ctx, "web", &client.PKIIssueInput{CommonName: "www.evil.test"})
	tr.add("pki issue refused", nil, err)
	csr := makeCSR(tr.t, "api.example.com")
	signed, err := p.Sign(ctx, "web", &client.PKIIssueInput{CommonName: "api.example.com", CSR: csr})
	tr.must("pki sign", spaced(certCN(signed.Certificate), signed.PrivateKey == ""), err)
	rev, err := p.Revoke(ctx, cert.SerialNumber)
	tr.must("pki revoke", spaced(rev.State, rev.RevocationTime > 0), err)
}

func runAuthAndPolicies(tr *transcript, c *client.Client) {
	ctx := context.Background()
	sys := c.Sys()
	tr.must("enable userpass", nil, sys.EnableAuth(ctx, "userpass", &client.MountInput{Type: "userpass"}))
	_, err := c.Write(ctx, "auth/userpass/users/alice", map[string]any{"password": "pw-alice", "policies": "dev"})
	tr.must("userpass user", nil, err)
	s, err := c.Auth().UserPass(ctx, "userpass", "alice", "pw-alice")
	tr.must("userpass login", spaced(s.Auth.ClientToken != "", s.Auth.Policies), err)
	_, err = c.Auth().UserPass(ctx, "userpass", "alice", "wrong")
	tr.add("userpass bad password", nil, err)
	pol := c.Policies()
	tr.must("acl put", nil, pol.ACL().Put(ctx, "dev", `path "secret/data/dev/*" { capabilities = ["read"] }`))
	text, err := pol.ACL().Get(ctx, "dev")
	tr.must("acl get", strings.Contains(text, "secret/data/dev/*"), err)
	tr.must("cedar put", nil, pol.Cedar().Put(ctx, "ops",
		`permit (principal, action == Action::"read", resource in Secret::"secret/data/ops");`))
	names, err := pol.Cedar().List(ctx)
	tr.must("cedar list", slices.Contains(names, "ops"), err)
	tr.add("cedar put invalid", nil, pol.Cedar().Put(ctx, "broken", `permit (`))
	e, err := pol.Explain(ctx, &client.ExplainRequest{Path: "secret/data/dev/db", Operation: "read", Token: s.Auth.ClientToken})
	tr.must("explain", e.Allowed, err)
	tr.must("cedar delete", nil, pol.Cedar().Delete(ctx, "ops"))
}

// makeCSR returns a PEM CSR for cn with a new P-256 key.
func makeCSR(t *testing.T, cn string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func certCN(pemText string) string {
	b, _ := pem.Decode([]byte(pemText))
	if b == nil {
		return "no PEM"
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return err.Error()
	}
	return cert.Subject.CommonName
}

// TestTransportsRunEveryHelper runs the same calls over REST and over
// gRPC against two fresh servers and expects the same transcript; the
// gRPC client must not have made a single REST request.
func TestTransportsRunEveryHelper(t *testing.T) {
	var got [2][]string
	for i, tc := range []struct {
		name string
		opts []client.Option
	}{{"rest", nil}, {"grpc", []client.Option{client.WithGRPC()}}} {
		t.Run(tc.name, func(t *testing.T) {
			rs := newRealServer(t)
			c := rs.client(t, tc.opts...)
			rest, grpcCalls := rs.restCalls.Load(), rs.grpcCalls.Load()
			got[i] = runHelpers(t, rs, c, tc.opts)
			if i == 1 {
				if n := rs.restCalls.Load() - rest; n != 0 {
					t.Errorf("the gRPC client made %d REST requests", n)
				}
				if rs.grpcCalls.Load() == grpcCalls {
					t.Error("the gRPC client made no gRPC request")
				}
			} else if n := rs.grpcCalls.Load() - grpcCalls; n != 0 {
				t.Errorf("the REST client made %d gRPC requests", n)
			}
		})
	}
	if len(got[0]) == 0 || len(got[1]) == 0 {
		t.Fatal("a transport did not finish")
	}
	for i := range max(len(got[0]), len(got[1])) {
		var r, g string
		if i < len(got[0]) {
			r = got[0][i]
		}
		if i < len(got[1]) {
			g = got[1][i]
		}
		if r != g {
			t.Errorf("line %d:\n rest: %s\n grpc: %s", i, r, g)
		}
	}
	t.Logf("transcript:\n%s", strings.Join(got[0], "\n"))
}

// spaced is fmt.Sprintln without the newline: values separated by spaces.
func spaced(v ...any) string { return strings.TrimSuffix(fmt.Sprintln(v...), "\n") }
