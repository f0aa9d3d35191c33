package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/server/api"
)

// TestForwardREST drives REST requests at a standby and checks that the
// active node executed them with the client's token, request id and
// address.
func TestForwardREST(t *testing.T) {
	active := startNode(t, api.Options{}, 3, 2, true)
	standby := startStandby(t, newRole(true, active.clusterAddr), api.Options{})
	client := standby.via(clientFrom(t, "127.0.0.7"))
	big := strings.Repeat("0123456789abcdef", 20<<10) // 320 KiB: several chunks

	tests := []struct {
		name, method, path, token, body string
		want                            int
		check                           func(t *testing.T, r result)
	}{
		{"write", "PUT", "/v1/secret/data/app", active.root, `{"data":{"user":"alice"}}`, 200, nil},
		{"read", "GET", "/v1/secret/data/app", active.root, "", 200, func(t *testing.T, r result) {
			var env kvEnvelope
			r.json(t, &env)
			if env.Data.Data["user"] != "alice" {
				t.Errorf("data = %v", env.Data.Data)
			}
		}},
		{"list (LIST method)", "LIST", "/v1/secret/metadata/", active.root, "", 200, func(t *testing.T, r result) {
			var env kvEnvelope
			r.json(t, &env)
			if !slices.Contains(env.Data.Keys, "app") {
				t.Errorf("keys = %v", env.Data.Keys)
			}
		}},
		{"no content", "POST", "/v1/secret/config", active.root, `{"max_versions":7}`, 204, func(t *testing.T, r result) {
			if len(r.body) != 0 {
				t.Errorf("body = %q", r.body)
			}
		}},
		{"large value write", "PUT", "/v1/secret/data/big", active.root, `{"data":{"v":"` + big + `"}}`, 200, nil},
		{"large value read", "GET", "/v1/secret/data/big", active.root, "", 200, func(t *testing.T, r result) {
			var env kvEnvelope
			r.json(t, &env)
			if env.Data.Data["v"] != big {
				t.Errorf("large value differs (%d bytes read)", len(r.body))
			}
		}},
		{"error answer", "GET", "/v1/secret/data/app", "", "", 403, func(t *testing.T, r result) {
			if errs := r.errorsOf(t); !slices.Equal(errs, []string{"permission denied"}) {
				t.Errorf("errors = %v", errs)
			}
		}},
		{"missing secret", "GET", "/v1/secret/data/none", active.root, "", 404, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := client.do(t, tc.method, tc.path, tc.token, tc.body)
			if r.status != tc.want {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.want)
			}
			seen := active.rec.last(t, strings.TrimPrefix(tc.path, "/v1/"))
			if seen.remoteAddr != "127.0.0.7" {
				t.Errorf("active core saw remote address %q, want the client's 127.0.0.7", seen.remoteAddr)
			}
			if seen.token != tc.token {
				t.Errorf("active core saw token %q, want %q", seen.token, tc.token)
			}
			if r.status == 200 {
				var env kvEnvelope
				r.json(t, &env)
				if env.RequestID != seen.id || !uuidV4.MatchString(env.RequestID) {
					t.Errorf("client saw request_id %q, active core used %q", env.RequestID, seen.id)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}

	// The data changed on the active node, not on the standby.
	var env kvEnvelope
	active.mustJSON(t, "GET", "/v1/secret/data/app", active.root, "", 200, &env)
	if env.Data.Data["user"] != "alice" || env.Data.Metadata.Version != 1 {
		t.Errorf("active node's data = %+v", env.Data)
	}
	if got := counter(t, standby.api.Metrics(), "secretum_vault_forwarded_requests_total", map[string]string{"transport": "http"}); got != float64(len(tests)) {
		t.Errorf("standby counted %v forwarded requests, want %d", got, len(tests))
	}
	if got := counter(t, active.api.Metrics(), "secretum_vault_forwarded_requests_total", nil); got != 0 {
		t.Errorf("active node counted %v forwarded requests", got)
	}
}

// TestForwardNodeLocal checks that a standby answers the node-local
// endpoints itself.
func TestForwardNodeLocal(t *testing.T) {
	active := startNode(t, api.Options{}, 3, 2, true)
	standby := startStandby(t, newRole(true, active.clusterAddr), api.Options{})
	before := len(active.rec.requests())

	var st struct {
		T, N   int
		Sealed bool
	}
	standby.mustJSON(t, "GET", "/v1/sys/seal-status", "", "", 200, &st)
	if st.T != 1 || st.N != 1 || st.Sealed {
		t.Errorf("standby's seal-status = %+v, want its own t=1 n=1 (the active node has 2 of 3)", st)
	}
	standby.mustJSON(t, "GET", "/v1/sys/health", "", "", 200, nil)
	standby.mustJSON(t, "GET", "/v1/sys/init", "", "", 200, nil)
	standby.mustJSON(t, "GET", "/v1/sys/leader", "", "", 200, nil)
	// Node-local raft paths are answered by the standby, whatever it says
	// (the forwarded-requests counter below proves none left it).
	for _, p := range []string{"sys/storage/raft/join", "sys/storage/raft/bootstrap/challenge"} {
		standby.do(t, "PUT", "/v1/"+p, "", `{}`)
	}
	if got := active.rec.requests()[before:]; len(got) != 0 {
		t.Errorf("node-local requests reached the active node: %v", got)
	}
	if got := counter(t, standby.api.Metrics(), "secretum_vault_forwarded_requests_total", nil); got != 0 {
		t.Errorf("standby counted %v forwarded requests", got)
	}
}

// TestForwardUnreachable checks that a standby without a reachable active
// node answers 503 "no active node" instead of hanging.
func TestForwardUnreachable(t *testing.T) {
	tests := []struct {
		name   string
		role   *role
		noDial bool
		msg    string
	}{
		{"nothing listens", newRole(true, closedAddr(t)), false, "no active node: cannot reach the active node at "},
		{"leader unknown", newRole(true, ""), false, "no active node: the cluster has no leader"},
		{"no dialer", newRole(true, "127.0.0.1:1"), true, "no active node: request forwarding is not configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var standby *clusterNode
			if tc.noDial {
				standby = startNode(t, api.Options{Cluster: tc.role}, 1, 1, false)
			} else {
				standby = startStandby(t, tc.role, api.Options{})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "GET", standby.url+"/v1/secret/data/app", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := standby.client.Do(req)
			if err != nil {
				t.Fatalf("request failed instead of 503: %v", err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var env struct{ Errors []string }
			if err := json.Unmarshal(raw, &env); err != nil || resp.StatusCode != 503 || len(env.Errors) != 1 || !strings.HasPrefix(env.Errors[0], tc.msg) {
				t.Fatalf("= %d %s, want 503 %q...", resp.StatusCode, raw, tc.msg)
			}
		})
	}
}

// TestForwardClientCannotClaimForwarding checks that the fields only a
// standby may set are ignored when a client sends them to the API
// listener, over REST and gRPC, and replaced when sent through a standby.
func TestForwardClientCannotClaimForwarding(t *testing.T) {
	active := startNode(t, api.Options{}, 3, 2, true)
	standby := startStandby(t, newRole(true, active.clusterAddr), api.Options{})
	spoof := map[string]string{
		"X-Secretum-Forwarded-For":               "6.6.6.6",
		"X-Secretum-Forwarded-Request-Id":        "spoofed-id",
		"X-Forwarded-For":                        "6.6.6.6",
		"X-Real-Ip":                              "6.6.6.6",
		"Grpc-Metadata-X-Secretum-Forwarded-For": "6.6.6.6",
	}
	for _, tc := range []struct {
		name string
		node *clusterNode
	}{{"active listener", active}, {"through standby", standby}} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), "GET", tc.node.url+"/v1/secret/data/none", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Vault-Token", active.root)
			for k, v := range spoof {
				req.Header.Set(k, v)
			}
			resp, err := clientFrom(t, "127.0.0.9").Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			seen := active.rec.last(t, "secret/data/none")
			if resp.StatusCode != 404 || seen.remoteAddr != "127.0.0.9" || seen.id == "spoofed-id" {
				t.Errorf("status %d, active core saw %+v; want 404 from 127.0.0.9 with a fresh id", resp.StatusCode, seen)
			}
		})
	}
}

// TestForwardBodyLimit checks that the standby enforces the size limit:
// a declared oversized body is refused before forwarding; a chunked one is
// streamed (once the active node has authenticated the request) until the
// limit, then the forwarded call is cancelled, so no oversized request
// ever takes effect.
func TestForwardBodyLimit(t *testing.T) {
	active := startNode(t, api.Options{}, 3, 2, true)
	standby := startStandby(t, newRole(true, active.clusterAddr), api.Options{MaxRequestSize: 1024})
	before := len(active.rec.requests())
	big := `{"data":{"v":"` + strings.Repeat("x", 4096) + `"}}`
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(body) // no length: sent chunked
		}
		req, err := http.NewRequestWithContext(context.Background(), "PUT", standby.url+"/v1/secret/data/big", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Vault-Token", active.root)
		resp, err := standby.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || !strings.Contains(string(raw), "request body too large") {
			t.Errorf("chunked=%v: %d %s, want 413", chunked, resp.StatusCode, raw)
		}
	}
	// The declared-length one never left the standby; the chunked one was
	// cut off at the limit while the active node read it, so nothing of it
	// was stored.
	if got := active.rec.requests()[before:]; len(got) > 1 {
		t.Errorf("oversized requests reached the active node: %v", got)
	}
	if r := active.do(t, "GET", "/v1/secret/data/big", active.root, ""); r.status != 404 {
		t.Errorf("an oversized write was stored: %d %s", r.status, r.body)
	}
	total := counter(t, standby.api.Metrics(), "secretum_vault_forwarded_requests_total", nil)
	refused := counter(t, standby.api.Metrics(), "secretum_vault_forwarded_requests_total", map[string]string{"status": "413"})
	if total > 1 || total != refused {
		t.Errorf("standby forwarded %v requests (%v refused 413); want at most the chunked one, refused", total, refused)
	}
	// Under the limit it forwards.
	standby.mustJSON(t, "PUT", "/v1/secret/data/small", active.root, `{"data":{"v":"x"}}`, 200, nil)
}

// TestForwardSealedStandby checks that a sealed standby answers 503 sealed
// itself instead of forwarding.
func TestForwardSealedStandby(t *testing.T) {
	active := startNode(t, api.Options{}, 3, 2, true)
	r := newRole(true, active.clusterAddr)
	standby := startStandby(t, r, api.Options{})
	r.sealed = standby.core.Sealed
	standby.mustJSON(t, "GET", "/v1/secret/data/none", active.root, "", 404, nil)
	if err := standby.core.Seal(context.Background(), standby.root); err != nil {
		t.Fatal(err)
	}
	res := standby.do(t, "GET", "/v1/secret/data/none", active.root, "")
	if errs := res.errorsOf(t); res.status != 503 || len(errs) != 1 || !strings.Contains(errs[0], "sealed") {
		t.Fatalf("sealed standby = %d %s, want 503 sealed", res.status, res.body)
	}
}

// TestForwardActiveChange checks that the standby follows a new active
// node (its connection is replaced) and that a forwarded request is never
// forwarded again, even by a node that believes it is a standby.
func TestForwardActiveChange(t *testing.T) {
	first := startNode(t, api.Options{}, 3, 2, true)
	// second believes it is a standby of a dead node: if it forwarded what
	// it receives from a standby, that would fail with 503.
	secondRole := newRole(false, closedAddr(t))
	second := startNode(t, api.Options{Cluster: secondRole, ForwardDial: tcpDial}, 3, 2, true)
	secondRole.standby.Store(true)
	r := newRole(true, first.clusterAddr)
	standby := startStandby(t, r, api.Options{})

	standby.mustJSON(t, "PUT", "/v1/secret/data/where", first.root, `{"data":{"node":"first"}}`, 200, nil)
	r.addr.Store(second.clusterAddr)
	standby.mustJSON(t, "PUT", "/v1/secret/data/where", second.root, `{"data":{"node":"second"}}`, 200, nil)

	var env kvEnvelope
	first.mustJSON(t, "GET", "/v1/secret/data/where", first.root, "", 200, &env)
	if env.Data.Data["node"] != "first" || env.Data.Metadata.Version != 1 {
		t.Errorf("first node has %+v", env.Data)
	}
	if r := second.do(t, "GET", "/v1/secret/data/where", second.root, ""); r.status != 503 {
		t.Errorf("second node's own listener = %d, want 503 (it forwards to a dead node)", r.status)
	}
	standby.mustJSON(t, "GET", "/v1/secret/data/where", second.root, "", 200, &env)
	if env.Data.Data["node"] != "second" || env.Data.Metadata.Version != 1 {
		t.Errorf("second node has %+v", env.Data)
	}
}
