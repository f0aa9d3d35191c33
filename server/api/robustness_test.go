package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/secretumvault/secretumvault/engines/logical"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
	"github.com/secretumvault/secretumvault/server/api"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// faultyCore panics on one path and fails with an internal error on another.
type faultyCore struct{ api.Core }

func (f faultyCore) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	switch req.Path {
	case "boom/panic":
		panic("engine bug")
	case "boom/internal":
		return nil, errInternal
	}
	return f.Core.HandleRequest(ctx, req)
}

type internalErr struct{}

func (internalErr) Error() string {
	return "storage: bolt page 42 checksum mismatch for key secret-value"
}

var errInternal error = internalErr{}

func TestFailuresDoNotLeakOrKill(t *testing.T) {
	ts := newTestServer(t, api.Options{})
	srv := httptest.NewUnstartedServer(api.New(faultyCore{ts.core}, api.Options{Logger: quietLogger(ts)}).Handler())
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	fs := &testServer{url: srv.URL, client: srv.Client(), logs: ts.logs}

	for _, path := range []string{"/v1/boom/panic", "/v1/boom/internal"} {
		r := fs.do(t, "GET", path, "t", "")
		if r.status != 500 || !slices.Equal(r.errorsOf(t), []string{"internal error"}) {
			t.Errorf("GET %s = %d %s", path, r.status, r.body)
		}
	}
	if !strings.Contains(ts.logs.String(), "checksum mismatch") || !strings.Contains(ts.logs.String(), "engine bug") {
		t.Errorf("causes not logged:\n%s", ts.logs.String())
	}

	lc := pb.NewLogicalClient(grpcConn(t, fs))
	for _, path := range []string{"boom/panic", "boom/internal"} {
		_, err := lc.Handle(context.Background(), &pb.LogicalRequest{Path: path, Operation: "read"})
		if status.Code(err) != codes.Internal || status.Convert(err).Message() != "internal error" {
			t.Errorf("gRPC %s: %v", path, err)
		}
	}
	if r := fs.do(t, "GET", "/v1/sys/seal-status", "", ""); r.status != 200 {
		t.Errorf("server unusable after failures: %d", r.status)
	}
}

func TestGRPCMessageLimit(t *testing.T) {
	ts := newTestServer(t, api.Options{MaxRequestSize: 1024})
	lc := pb.NewLogicalClient(grpcConn(t, ts))
	big := []byte(`{"v":"` + strings.Repeat("x", 4096) + `"}`)
	_, err := lc.Handle(context.Background(), &pb.LogicalRequest{Path: "secret/data/x", Operation: "update", Data: big})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized message: %v, want ResourceExhausted", err)
	}
}

// TestSecretsNeverLogged runs a real core (inmem storage) behind the real
// handler, both logging JSON at debug level into one buffer, through init,
// unseal (with a wrong share on the way), mounts, child tokens, secrets,
// failures (403, 404, 500, a panic) over REST and gRPC with real tokens in
// every place a token can travel, then checks that no root token, child
// token, unseal key (hex or base64) appears in the log, while the log does
// hold what it should (the control: paths, causes, request ids).
func TestSecretsNeverLogged(t *testing.T) {
	logs := &jsonLog{}
	logger := logs.logger()
	c, err := core.New(core.Config{Physical: inmem.New(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(api.New(faultyCore{c}, api.Options{Logger: logger}).Handler())
	hs.Config.Protocols = new(http.Protocols)
	hs.Config.Protocols.SetHTTP1(true)
	hs.Config.Protocols.SetUnencryptedHTTP2(true)
	hs.Start()
	t.Cleanup(hs.Close)
	ts := &testServer{url: hs.URL, client: hs.Client()}

	var init struct {
		Keys       []string `json:"keys"`
		KeysBase64 []string `json:"keys_base64"`
		RootToken  string   `json:"root_token"`
	}
	ts.mustJSON(t, "PUT", "/v1/sys/init", "", `{"secret_shares":3,"secret_threshold":2}`, 200, &init)
	// A wrong second share: the combined key does not open the barrier.
	ts.mustJSON(t, "PUT", "/v1/sys/unseal", "", `{"key":"`+init.Keys[0]+`"}`, 200, nil)
	if r := ts.do(t, "PUT", "/v1/sys/unseal", "", `{"key":"`+flipHex(init.Keys[1])+`"}`); r.status < 400 {
		t.Fatalf("wrong share accepted: %d %s", r.status, r.body)
	}
	ts.mustJSON(t, "PUT", "/v1/sys/unseal", "", `{"reset":true}`, 200, nil)
	for _, k := range init.KeysBase64[1:] {
		ts.mustJSON(t, "PUT", "/v1/sys/unseal", "", `{"key":"`+k+`"}`, 200, nil)
	}
	root := init.RootToken
	ts.mustJSON(t, "POST", "/v1/sys/mounts/secret", root, `{"type":"kv","options":{"version":"2"}}`, 204, nil)
	var child struct {
		Auth struct {
			ClientToken string `json:"client_token"`
		} `json:"auth"`
	}
	ts.mustJSON(t, "POST", "/v1/auth/token/create", root, `{"policies":["default"],"ttl":"1h"}`, 200, &child)
	kid := child.Auth.ClientToken

	// want 0: the answer depends on authorization rules, not on logging.
	for _, rq := range []struct {
		method, path, token, body string
		want                      int
	}{
		{"PUT", "/v1/secret/data/app", root, `{"data":{"password":"hunter2"}}`, 200},
		{"GET", "/v1/secret/data/app", root, "", 200},
		{"GET", "/v1/secret/data/missing", root, "", 404},
		{"GET", "/v1/secret/data/app", kid, "", 0},
		{"PUT", "/v1/sys/mounts/other", kid, `{"type":"kv"}`, 403},
		{"GET", "/v1/auth/token/lookup-self", kid, "", 200},
		{"POST", "/v1/auth/token/lookup", root, `{"token":"` + kid + `"}`, 200},
		{"POST", "/v1/auth/token/lookup", kid, `{"token":"` + root + `"}`, 403},
		{"GET", "/v1/sys/metrics?format=prometheus", kid, "", 0},
		{"GET", "/v1/boom/internal", root, "", 500},
		{"GET", "/v1/boom/panic", kid, "", 500},
		{"GET", "/v1/sys/storage/raft/configuration", root, "", 0},
		{"POST", "/v1/auth/token/revoke", root, `{"token":"` + kid + `"}`, 204},
		{"GET", "/v1/secret/data/app", kid, "", 403},
		{"GET", "/v1/secret/data/app", "s.not-a-token-" + root, "", 403},
	} {
		r := ts.do(t, rq.method, rq.path, rq.token, rq.body)
		if rq.want != 0 && r.status != rq.want {
			t.Errorf("%s %s = %d %s, want %d", rq.method, rq.path, r.status, r.body, rq.want)
		}
	}
	// The bearer form of the token.
	req, err := http.NewRequest("GET", ts.url+"/v1/boom/internal", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+root)
	if resp, err := ts.client.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	// gRPC: the token in metadata.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-vault-token", root)
	lc := pb.NewLogicalClient(grpcConn(t, ts))
	for _, path := range []string{"secret/data/app", "boom/internal", "boom/panic"} {
		_, _ = lc.Handle(ctx, &pb.LogicalRequest{Path: path, Operation: "read"})
	}

	recs := logs.records(t) // every line is JSON
	text := logs.String()
	secrets := map[string]string{"root token": root, "child token": kid}
	for i := range init.Keys {
		secrets[fmt.Sprintf("unseal key %d (hex)", i)] = init.Keys[i]
		secrets[fmt.Sprintf("unseal key %d (base64)", i)] = init.KeysBase64[i]
	}
	for name, v := range secrets {
		if len(v) < 16 {
			t.Fatalf("%s %q is too short to search for", name, v)
		}
		if strings.Contains(text, v) {
			t.Errorf("the log holds the %s", name)
		}
	}
	// Control: the same search finds what the log must hold, so an empty
	// or discarded log cannot pass.
	for _, want := range []string{`"path":"/v1/boom/internal"`, "checksum mismatch", "engine bug", `"method":"/secretumvault.v1.Logical/Handle"`} {
		if !strings.Contains(text, want) {
			t.Errorf("control: the log lacks %q", want)
		}
	}
	if !slices.ContainsFunc(recs, func(r map[string]any) bool { return uuidV4.MatchString(fmt.Sprint(r["request_id"])) }) {
		t.Error("control: no log line carries a request id")
	}
	if t.Failed() {
		t.Logf("log:\n%s", text)
	}
}

// flipHex changes the last hex digit of s.
func flipHex(s string) string {
	last := s[len(s)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return s[:len(s)-1] + string(repl)
}
