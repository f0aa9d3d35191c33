package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/secretumvault/secretumvault/engines/logical"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
	"github.com/secretumvault/secretumvault/server/api"
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
	if strings.Contains(ts.logs.String(), `"t"`) {
		t.Errorf("log mentions the token:\n%s", ts.logs.String())
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
