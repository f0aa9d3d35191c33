package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/secretumvault/secretumvault/engines/logical"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
	"github.com/secretumvault/secretumvault/server/api"
	"github.com/secretumvault/secretumvault/server/core"
)

// leakyCore is a real core that fails the paths of failures with errors
// full of raft, network and storage detail, and remembers the request id
// of each failed request.
type leakyCore struct {
	*core.Core
	failures map[string]error // by path after /v1/

	mu  sync.Mutex
	ids map[string]string // path -> request id the core saw
}

func (c *leakyCore) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	if err, ok := c.failures[req.Path]; ok {
		c.mu.Lock()
		c.ids[req.Path] = req.ID
		c.mu.Unlock()
		return nil, err
	}
	return c.Core.HandleRequest(ctx, req)
}

// RaftRemovePeer fails like HandleRequest: sys/storage/raft/remove-peer
// is served through RaftCore, not HandleRequest.
func (c *leakyCore) RaftRemovePeer(context.Context, string, string) error {
	return c.failures["sys/storage/raft/remove-peer"]
}

func (c *leakyCore) idFor(path string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[path]
}

// jsonLog is a JSON slog log in memory, safe for concurrent writers.
type jsonLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *jsonLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *jsonLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *jsonLog) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// records decodes every line; a line that is not JSON fails the test.
func (l *jsonLog) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, rec)
	}
	return out
}

// failureLogged reports whether a "request failed" line carries
// requestID and an error mentioning detail.
func failureLogged(recs []map[string]any, requestID, detail string) bool {
	return slices.ContainsFunc(recs, func(r map[string]any) bool {
		e, _ := r["error"].(string)
		return r["msg"] == "api: request failed" && r["request_id"] == requestID && strings.Contains(e, detail)
	})
}

// TestServerFailuresWithheld makes core fail with errors wrapping raft,
// network and storage detail and checks that clients get a short reason
// and the request id, never the detail, while the log has the detail
// with the same request id.
func TestServerFailuresWithheld(t *testing.T) {
	detail := func(n int) string {
		return fmt.Sprintf("raft: leadership lost while committing log %d: dial tcp 10.9.8.7:8201: connect: connection refused", 4700+n)
	}
	tests := []struct {
		name, method, path string
		err                error
		status             int
		reason             string
	}{
		{"raft detail in ErrUnavailable", "GET", "leak/unavailable",
			fmt.Errorf("%w: cannot confirm leadership for a consistent read: %v", logical.ErrUnavailable, errors.New(detail(1))), 503, "service unavailable"},
		{"gRPC status of a call core made", "GET", "leak/grpc",
			fmt.Errorf("core: ask leader: %w", status.Error(codes.Unavailable, detail(2))), 503, "service unavailable"},
		{"network error from storage", "PUT", "leak/storage",
			fmt.Errorf("barrier: put: %w", &net.OpError{Op: "write", Net: "tcp", Err: errors.New(detail(3))}), 500, "internal error"},
		{"raft deadline", "GET", "leak/deadline",
			fmt.Errorf("%s: %w", detail(4), context.DeadlineExceeded), 504, "request timed out"},
		{"gRPC internal status", "DELETE", "leak/grpc-internal",
			status.Error(codes.Internal, detail(5)), 500, "internal error"},
		{"raft endpoint", "POST", "sys/storage/raft/remove-peer",
			fmt.Errorf("raft: remove server: %v", detail(6)), 500, "internal error"},
	}
	lc := &leakyCore{Core: newCore(t), failures: map[string]error{}, ids: map[string]string{}}
	for _, tc := range tests {
		lc.failures[tc.path] = tc.err
	}
	logs := &jsonLog{}
	hs := httptest.NewUnstartedServer(api.New(lc, api.Options{Logger: logs.logger()}).Handler())
	hs.Config.Protocols = new(http.Protocols)
	hs.Config.Protocols.SetHTTP1(true)
	hs.Config.Protocols.SetUnencryptedHTTP2(true)
	hs.Start()
	t.Cleanup(hs.Close)
	ts := &testServer{url: hs.URL, client: hs.Client()}

	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.method == "PUT" || tc.method == "POST" {
				body = `{"server_id":"node9","v":"x"}`
			}
			r := ts.do(t, tc.method, "/v1/"+tc.path, "s.client-token", body)
			if r.status != tc.status || !slices.Equal(r.errorsOf(t), []string{tc.reason}) {
				t.Fatalf("%s %s = %d %s, want %d [%q]", tc.method, tc.path, r.status, r.body, tc.status, tc.reason)
			}
			for _, leak := range []string{"10.9.8.7", fmt.Sprint(4700 + i + 1), "raft", "dial"} {
				if bytes.Contains(r.body, []byte(leak)) {
					t.Errorf("body %s shows %q", r.body, leak)
				}
			}
			var env struct {
				RequestID string `json:"request_id"`
			}
			r.json(t, &env)
			if !uuidV4.MatchString(env.RequestID) {
				t.Fatalf("body %s has no request id", r.body)
			}
			if id := lc.idFor(tc.path); id != "" && id != env.RequestID {
				t.Errorf("core handled request %s, the client was told %s", id, env.RequestID)
			}
			if !failureLogged(logs.records(t), env.RequestID, detail(i+1)) {
				t.Errorf("no log line with request_id %s and the cause:\n%s", env.RequestID, logs.String())
			}
		})
	}

	t.Run("gRPC", func(t *testing.T) {
		_, err := pb.NewLogicalClient(grpcConn(t, ts)).Handle(context.Background(), &pb.LogicalRequest{Path: "leak/unavailable", Operation: "read"})
		if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != "service unavailable" {
			t.Fatalf("gRPC = %v, want Unavailable \"service unavailable\"", err)
		}
		id := lc.idFor("leak/unavailable")
		if !uuidV4.MatchString(id) || !failureLogged(logs.records(t), id, detail(1)) {
			t.Fatalf("no log line with request_id %q and the cause:\n%s", id, logs.String())
		}
	})
}
