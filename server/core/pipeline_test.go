package core

import (
	"context"
	"errors"
	"io"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/engines/kv"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// recorder is an Authorizer and an audit Broker that remember what they
// saw; the Authorizer delegates to Interim unless deny is set.
type recorder struct {
	mu         sync.Mutex
	authz      []authz.Request
	requests   []audit.Entry
	responses  []audit.Entry
	deny       func(*authz.Request) bool
	failAudits bool
}

func (r *recorder) Authorize(ctx context.Context, req *authz.Request) (authz.Decision, error) {
	r.mu.Lock()
	r.authz = append(r.authz, *req)
	deny := r.deny
	r.mu.Unlock()
	if deny != nil && deny(req) {
		return authz.Decision{Reason: "denied by the test", PolicyIDs: []string{"test-forbid"}}, nil
	}
	return authz.Interim{}.Authorize(ctx, req)
}

func (r *recorder) LogRequest(_ context.Context, e *audit.Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAudits {
		return errors.New("test: no device")
	}
	r.requests = append(r.requests, *e)
	return nil
}

func (r *recorder) LogResponse(_ context.Context, e *audit.Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.responses = append(r.responses, *e)
	return nil
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.authz, r.requests, r.responses = nil, nil, nil
}

// recordedCore is an unsealed core whose pipeline reports to rec, with
// kv-v2 at secret/ and a non-root token.
func recordedCore(t *testing.T) (c *Core, rec *recorder, root, child string) {
	t.Helper()
	rec = &recorder{}
	c, err := New(Config{Physical: inmem.New(), Authorizer: rec, AuditBroker: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	unseal, root, err := c.InitializeDev(ctx, "")
	if err != nil || unseal == "" {
		t.Fatal(err)
	}
	resp, err := c.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "auth/token/create", ClientToken: root, Data: map[string]any{"policies": []string{"default"}}})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec, root, resp.Auth.ClientToken
}

// unauthenticatedRoutes is every route that runs without a token. Adding
// one to a route table fails TestEveryRouteRunsThePipeline until it is
// listed here, on purpose.
var unauthenticatedRoutes = []string{
	"sys/init", "sys/unseal", "sys/seal-status", "sys/health", "sys/leader",
	"sys/storage/raft/join", "sys/storage/raft/bootstrap/challenge", "sys/storage/raft/bootstrap/answer",
	"sys/rekey/init", "sys/rekey/update", "sys/rekey/verify",
	"sys/generate-root/attempt", "sys/generate-root/update", "sys/generate-root-token/attempt", "sys/generate-root-token/update",
}

// samplePaths maps each route pattern to concrete request paths (full,
// after /v1/). Every pattern of every route table must be here.
var samplePaths = map[string][]string{
	// sys/
	"init": {"sys/init"}, "unseal": {"sys/unseal"}, "seal-status": {"sys/seal-status"}, "seal": {"sys/seal"},
	"health": {"sys/health"}, "leader": {"sys/leader"},
	"mounts": {"sys/mounts"}, "mounts/(?P<path>.+)/tune": {"sys/mounts/secret/tune"}, "mounts/(?P<path>.+)": {"sys/mounts/other"},
	"auth": {"sys/auth"}, "auth/(?P<path>.+)/tune": {"sys/auth/token/tune"}, "auth/(?P<path>.+)": {"sys/auth/other"},
	"internal/ui/mounts": {"sys/internal/ui/mounts"}, "internal/ui/mounts/(?P<path>.+)": {"sys/internal/ui/mounts/secret"},
	"rotate/root": {"sys/rotate/root"}, "rotate(/keyring)?/config": {"sys/rotate/config", "sys/rotate/keyring/config"},
	"rekey/init": {"sys/rekey/init"}, "rekey/update": {"sys/rekey/update"}, "rekey/verify": {"sys/rekey/verify"},
	"rotate/root/init": {"sys/rotate/root/init"}, "rotate/root/update": {"sys/rotate/root/update"}, "rotate/root/verify": {"sys/rotate/root/verify"},
	"generate-root/attempt": {"sys/generate-root/attempt"}, "generate-root/update": {"sys/generate-root/update"},
	"generate-root-token/attempt": {"sys/generate-root-token/attempt"}, "generate-root-token/update": {"sys/generate-root-token/update"},
	"key-status": {"sys/key-status"}, "rotate(/keyring)?": {"sys/rotate", "sys/rotate/keyring"}, "metrics": {"sys/metrics"},
	"storage/raft/join": {"sys/storage/raft/join"}, "storage/raft/bootstrap/challenge": {"sys/storage/raft/bootstrap/challenge"},
	"storage/raft/bootstrap/answer": {"sys/storage/raft/bootstrap/answer"}, "storage/raft/configuration": {"sys/storage/raft/configuration"},
	"storage/raft/remove-peer": {"sys/storage/raft/remove-peer"}, "storage/raft/snapshot": {"sys/storage/raft/snapshot"},
	"storage/raft/snapshot-force":               {"sys/storage/raft/snapshot-force"},
	"storage/raft/autopilot/configuration":      {"sys/storage/raft/autopilot/configuration"},
	"storage/raft/autopilot/state":              {"sys/storage/raft/autopilot/state"},
	"policies/cedar-schema":                     {"sys/policies/cedar-schema"},
	"policies/cedar/?":                          {"sys/policies/cedar", "sys/policies/cedar/"},
	"policies/cedar/(?P<name>.+)":               {"sys/policies/cedar/dev"},
	"policies/acl/?":                            {"sys/policies/acl"},
	"policies/acl/(?P<name>.+)":                 {"sys/policies/acl/dev"},
	"policy/?":                                  {"sys/policy"},
	"policy/(?P<name>.+)":                       {"sys/policy/dev"},
	"authz/explain":                             {"sys/authz/explain"},
	"capabilities":                              {"sys/capabilities"},
	"capabilities-self":                         {"sys/capabilities-self"},
	"capabilities-accessor":                     {"sys/capabilities-accessor"},
	"audit/?":                                   {"sys/audit"},
	"audit/(?P<path>.+)/public-key":             {"sys/audit/file/public-key"},
	"audit/(?P<path>.+)/sign-manifest":          {"sys/audit/file/sign-manifest"},
	"audit/(?P<path>.+)/tail":                   {"sys/audit/file/tail"},
	"audit/(?P<path>.+)":                        {"sys/audit/other"},
	"audit-hash/(?P<path>.+)":                   {"sys/audit-hash/file"},
	"policies/password/?":                       {"sys/policies/password"},
	"policies/password/(?P<name>.+)/generate":   {"sys/policies/password/dev/generate"},
	"policies/password/(?P<name>.+)":            {"sys/policies/password/dev"},
	"leases/lookup":                             {"sys/leases/lookup"},
	"leases/lookup/?":                           {"sys/leases/lookup/"},
	"leases/lookup/(?P<prefix>.+)":              {"sys/leases/lookup/secret"},
	"(leases/)?renew(/(?P<url_lease_id>.+))?":   {"sys/leases/renew", "sys/renew", "sys/leases/renew/secret/x"},
	"(leases/)?revoke(/(?P<url_lease_id>.+))?":  {"sys/leases/revoke", "sys/revoke", "sys/revoke/secret/x"},
	"(leases/)?revoke-prefix/(?P<prefix>.+)":    {"sys/leases/revoke-prefix/secret", "sys/revoke-prefix/secret"},
	"(leases/)?revoke-force/(?P<prefix>.+)":     {"sys/leases/revoke-force/secret", "sys/revoke-force/secret"},
	"leases/tidy":                               {"sys/leases/tidy"},
	"quotas/lease-count/?":                      {"sys/quotas/lease-count"},
	"quotas/lease-count/(?P<name>.+)":           {"sys/quotas/lease-count/q"},
	"rotation/policies/?":                       {"sys/rotation/policies"},
	"rotation/policies/(?P<name>[^/]+)":         {"sys/rotation/policies/p"},
	"rotation/policies/(?P<name>[^/]+)/run":     {"sys/rotation/policies/p/run"},
	"rotation/policies/(?P<name>[^/]+)/history": {"sys/rotation/policies/p/history"},
	"rotation/status":                           {"sys/rotation/status"},
	"rotation/rotate":                           {"sys/rotation/rotate"},
}

// kvSamples are request paths for kv's route patterns (mounted at secret/).
var kvSamples = map[string][]string{
	"config": {"secret/config"}, "data/(?P<path>.*)": {"secret/data/app"}, "metadata(?:/(?P<path>.*))?": {"secret/metadata/app", "secret/metadata/"},
	"subkeys/(?P<path>.*)": {"secret/subkeys/app"}, "delete/(?P<path>.*)": {"secret/delete/app"},
	"undelete/(?P<path>.*)": {"secret/undelete/app"}, "destroy/(?P<path>.*)": {"secret/destroy/app"},
}

// inspectsPermissions are routes whose handlers ask the Authorizer again
// about other paths (after the request's own authorization, which comes
// first): the mounts a token may use, capabilities, explain.
var inspectsPermissions = map[string]bool{
	"sys/internal/ui/mounts": true, "sys/internal/ui/mounts/secret": true,
	"sys/capabilities": true, "sys/capabilities-self": true, "sys/capabilities-accessor": true, "sys/authz/explain": true,
}

var allOps = []logical.Operation{logical.ReadOperation, logical.ListOperation, logical.UpdateOperation, logical.PatchOperation, logical.DeleteOperation}

// routeSamples enumerates the route tables of sys/, auth/token/ and kv and
// returns a request path for each route.
func routeSamples(t *testing.T, c *Core) []string {
	t.Helper()
	var out []string
	for _, p := range c.sys.Paths {
		s, ok := samplePaths[p.Pattern]
		if !ok {
			t.Fatalf("sys route %q has no sample path: add it to samplePaths", p.Pattern)
		}
		out = append(out, s...)
	}
	for _, p := range token.Paths() {
		out = append(out, "auth/token/"+p)
	}
	st, _ := c.state()
	kvb, ok := st.router.match("secret/").backend.(*kv.Backend)
	if !ok {
		t.Fatal("secret/ is not a kv mount")
	}
	for _, p := range kvb.PathPatterns() {
		s, ok := kvSamples[p]
		if !ok {
			t.Fatalf("kv route %q has no sample path: add it to kvSamples", p)
		}
		for _, path := range s {
			if !regexp.MustCompile("^secret/" + p + "$").MatchString(path) {
				t.Fatalf("sample %q does not match kv route %q", path, p)
			}
		}
		out = append(out, s...)
	}
	return out
}

// TestEveryRouteRunsThePipeline sends every operation on every route of
// every route table with a non-root token and checks the stages ran: an
// authenticated route was authorized once (with the full path and the
// operation) and audited as request and response; an unauthenticated
// route (exactly those listed) was audited but never authorized.
func TestEveryRouteRunsThePipeline(t *testing.T) {
	c, rec, _, child := recordedCore(t)
	var seenUnauth []string
	for _, path := range routeSamples(t, c) {
		for _, op := range allOps {
			if path == "sys/seal" || path == "auth/token/revoke-self" || slices.Contains(unauthenticatedRoutes, path) && op != logical.ReadOperation {
				continue // would end the test's own session; covered below
			}
			rec.reset()
			_, err := c.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, ClientToken: child})
			unauth := slices.Contains(unauthenticatedRoutes, path)
			rec.mu.Lock()
			na, nreq, nresp := len(rec.authz), len(rec.requests), len(rec.responses)
			var areq authz.Request
			if na > 0 {
				areq = rec.authz[0]
			}
			var ereq audit.Entry
			if nreq > 0 {
				ereq = rec.requests[0]
			}
			rec.mu.Unlock()
			if errors.Is(err, logical.ErrUnsupportedPath) && !unauth {
				t.Errorf("%s %s: %v (the route table says it exists)", op, path, err)
				continue
			}
			if nreq != 1 || nresp != 1 || ereq.Path != path {
				t.Errorf("%s %s: audited %d requests (%q), %d responses; want 1 of each for the full path", op, path, nreq, ereq.Path, nresp)
			}
			switch {
			case unauth:
				seenUnauth = append(seenUnauth, path)
				if na != 0 || !ereq.Unauthenticated {
					t.Errorf("%s %s: unauthenticated route was authorized %d times (audit says unauthenticated=%v)", op, path, na, ereq.Unauthenticated)
				}
			case (na != 1 && !(na > 1 && inspectsPermissions[path])) || areq.Path != path || (areq.Operation != string(op) && !(op == logical.UpdateOperation && areq.Operation == "create")):
				t.Errorf("%s %s: authorized %d times as %q %q", op, path, na, areq.Operation, areq.Path)
			case ereq.Auth.Accessor == "":
				t.Errorf("%s %s: audit entry has no caller", op, path)
			}
		}
	}
	slices.Sort(seenUnauth)
	want := slices.Clone(unauthenticatedRoutes)
	slices.Sort(want)
	if !slices.Equal(slices.Compact(seenUnauth), want) {
		t.Fatalf("unauthenticated routes in the tables %v, want exactly %v", slices.Compact(seenUnauth), want)
	}
}

// TestRouteTablesDeclareUnauthenticated checks, from the route data
// alone, that the unauthenticated routes are exactly the listed ones.
func TestRouteTablesDeclareUnauthenticated(t *testing.T) {
	c, _, _, _ := recordedCore(t)
	var got []string
	for _, p := range c.sys.Paths {
		if p.Unauthenticated {
			got = append(got, samplePaths[p.Pattern]...)
		}
	}
	for _, p := range token.Paths() {
		if info, _ := token.NewBackend(nil).RouteInfo(p, logical.ReadOperation); info.Unauthenticated {
			got = append(got, "auth/token/"+p)
		}
	}
	slices.Sort(got)
	want := slices.Clone(unauthenticatedRoutes)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("declared unauthenticated %v, want %v", got, want)
	}
}

func put(c *Core, tok, path string, data map[string]any) error {
	_, err := c.HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: path, ClientToken: tok, Data: data,
		Connection: &logical.Connection{RemoteAddr: "192.0.2.7"}})
	return err
}

func get(c *Core, tok, path string) (*logical.Response, error) {
	return c.HandleRequest(context.Background(), &logical.Request{Operation: logical.ReadOperation, Path: path, ClientToken: tok})
}

// TestAuthorizerDecidesEveryRequest: a request the Authorizer denies is a
// 403 for every token and changes nothing; the Authorizer sees who asks,
// what, where and from where.
func TestAuthorizerDecidesEveryRequest(t *testing.T) {
	c, rec, root, child := recordedCore(t)
	rec.mu.Lock()
	rec.deny = func(r *authz.Request) bool { return r.Path == "secret/data/prod" && r.Operation != "read" }
	rec.mu.Unlock()
	secret := map[string]any{"data": map[string]any{"password": "hunter2"}}
	for name, tok := range map[string]string{"root": root, "child": child} {
		rec.reset()
		err := put(c, tok, "secret/data/prod", secret)
		if !errors.Is(err, logical.ErrPermissionDenied) {
			t.Fatalf("%s write denied by the authorizer: %v, want permission denied", name, err)
		}
		rec.mu.Lock()
		a := rec.authz[0]
		refused := rec.responses[0].Error
		rec.mu.Unlock()
		if a.Principal.Root != (name == "root") || a.MountType != "kv" || a.RemoteAddr != "192.0.2.7" || a.Sudo {
			t.Fatalf("%s: authorizer saw %+v", name, a)
		}
		if refused == "" {
			t.Fatalf("%s: the refusal was not audited with its error", name)
		}
	}
	if resp, err := get(c, root, "secret/data/prod"); err == nil && resp != nil {
		t.Fatalf("a denied write was stored: %v", resp.Data)
	}
	if err := put(c, child, "secret/data/dev", secret); err != nil {
		t.Fatalf("allowed write: %v", err)
	}
}

// TestInterimRules: what the interim Authorizer allows a non-root token.
func TestInterimRules(t *testing.T) {
	c, _, root, child := recordedCore(t)
	tests := []struct {
		name    string
		op      logical.Operation
		path    string
		data    map[string]any
		allowed bool
	}{
		{"read sys", logical.ReadOperation, "sys/mounts", nil, true},
		{"write sys", logical.UpdateOperation, "sys/mounts/kv2", map[string]any{"type": "kv-v2"}, false},
		{"tune", logical.UpdateOperation, "sys/mounts/secret/tune", map[string]any{"max_lease_ttl": "1h"}, false},
		{"rotate", logical.UpdateOperation, "sys/rotate", nil, false},
		{"seal", logical.UpdateOperation, "sys/seal", nil, false},
		{"lookup-self", logical.ReadOperation, "auth/token/lookup-self", nil, true},
		{"list accessors", logical.ListOperation, "auth/token/accessors/", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.HandleRequest(context.Background(), &logical.Request{Operation: tt.op, Path: tt.path, ClientToken: child, Data: tt.data})
			if denied := errors.Is(err, logical.ErrPermissionDenied); denied == tt.allowed {
				t.Fatalf("%s %s: %v (allowed=%v)", tt.op, tt.path, err, tt.allowed)
			}
		})
	}
	if _, err := get(c, root, "sys/mounts"); err != nil || c.Sealed() {
		t.Fatalf("root after the child's attempts: %v, sealed=%v", err, c.Sealed())
	}
}

// TestAuditFailureRefusesTheRequest: a request no audit device recorded is
// refused and has no effect (fail closed).
func TestAuditFailureRefusesTheRequest(t *testing.T) {
	c, rec, root, _ := recordedCore(t)
	rec.mu.Lock()
	rec.failAudits = true
	rec.mu.Unlock()
	if err := put(c, root, "secret/data/a", map[string]any{"data": map[string]any{"v": "1"}}); !errors.Is(err, ErrAuditFailed) {
		t.Fatalf("write without audit: %v, want ErrAuditFailed", err)
	}
	if err := put(c, root, "sys/seal", nil); !errors.Is(err, ErrAuditFailed) || c.Sealed() {
		t.Fatalf("seal without audit: %v (sealed=%v)", err, c.Sealed())
	}
	rec.mu.Lock()
	rec.failAudits = false
	rec.mu.Unlock()
	if resp, err := get(c, root, "secret/data/a"); err == nil && resp != nil {
		t.Fatalf("the unaudited write took effect: %v", resp.Data)
	}
}

// TestSealThroughThePipeline: sys/seal needs sudo and, once allowed, seals.
func TestSealThroughThePipeline(t *testing.T) {
	c, rec, root, child := recordedCore(t)
	if err := c.Seal(context.Background(), child); !errors.Is(err, logical.ErrPermissionDenied) || c.Sealed() {
		t.Fatalf("child seal: %v, sealed=%v", err, c.Sealed())
	}
	rec.reset()
	if err := c.Seal(context.Background(), root); err != nil || !c.Sealed() {
		t.Fatalf("root seal: %v, sealed=%v", err, c.Sealed())
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.authz) != 1 || !rec.authz[0].Sudo || len(rec.requests) != 1 || len(rec.responses) != 1 {
		t.Fatalf("seal stages: %d authz (%+v), %d audit requests, %d responses", len(rec.authz), rec.authz, len(rec.requests), len(rec.responses))
	}
	if _, err := get(c, root, "sys/mounts"); !errors.Is(err, logical.ErrSealed) {
		t.Fatalf("request after seal: %v", err)
	}
}

// blockingBody signals its first Read, then blocks until released.
type blockingBody struct {
	reading chan struct{}
	release chan struct{}
	once    sync.Once
	data    []byte
}

func (b *blockingBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.reading) })
	<-b.release
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

// TestSlowBodyDoesNotHoldUpSeal: a client dribbling its body does not
// hold the seal-state lock: the node seals meanwhile, and the request,
// once its body arrives, fails without taking effect.
func TestSlowBodyDoesNotHoldUpSeal(t *testing.T) {
	c, _, root, _ := recordedCore(t)
	body := &blockingBody{reading: make(chan struct{}), release: make(chan struct{}), data: []byte(`{"data":{"v":"late"}}`)}
	done := make(chan error, 1)
	go func() {
		_, err := c.HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: "secret/data/slow", ClientToken: root, Body: body})
		done <- err
	}()
	<-body.reading
	sealed := make(chan error, 1)
	go func() { sealed <- c.Seal(context.Background(), root) }()
	select {
	case err := <-sealed:
		if err != nil || !c.Sealed() {
			t.Fatalf("seal during a slow upload: %v (sealed=%v)", err, c.Sealed())
		}
	case <-time.After(10 * time.Second):
		close(body.release)
		t.Fatal("a slow request body held up sys/seal")
	}
	close(body.release)
	if err := <-done; !errors.Is(err, logical.ErrUnavailable) && !errors.Is(err, logical.ErrSealed) {
		t.Fatalf("the slow request after the seal: %v, want 503", err)
	}
}
