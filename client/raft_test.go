package client_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// newServer starts an httptest server for h and returns a client of it
// (token s.root unless opts override it).
func newServer(t *testing.T, h http.HandlerFunc, opts ...client.Option) *client.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	base := []client.Option{client.WithEnv(func(string) string { return "" }),
		client.WithAddress(srv.URL), client.WithToken("s.root"), noRetry}
	c, err := client.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// snapshotBytes is deterministic pseudo-random snapshot content.
func snapshotBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// streamChunks writes b in chunks of size, flushing after each one so the
// client sees a real stream (chunked, no Content-Length).
func streamChunks(w http.ResponseWriter, b []byte, size int, pause time.Duration) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	for len(b) > 0 {
		n := min(size, len(b))
		_, _ = w.Write(b[:n])
		w.(http.Flusher).Flush()
		b = b[n:]
		time.Sleep(pause)
	}
}

func TestRaftPeers(t *testing.T) {
	t.Parallel()
	servers := `{"servers":[{"node_id":"node1","address":"127.0.0.11:8201","leader":true,"voter":true,"protocol_version":"3"},` +
		`{"node_id":"node2","address":"127.0.0.12:8201","leader":false,"voter":false,"protocol_version":"3"}]}`
	want := []client.RaftPeer{
		{NodeID: "node1", Address: "127.0.0.11:8201", Leader: true, Voter: true, ProtocolVersion: "3"},
		{NodeID: "node2", Address: "127.0.0.12:8201", Voter: false, ProtocolVersion: "3"},
	}
	tests := []struct {
		name    string
		status  int
		body    string
		want    []client.RaftPeer
		wantErr error
	}{
		{name: "secretumvault envelope", status: 200, body: `{"data":{"config":` + servers + `},"warnings":null,"auth":null,"wrap_info":null}`, want: want},
		{name: "vault envelope", status: 200, body: `{"request_id":"r","data":{"config":` + servers + `,"index":0}}`, want: want},
		{name: "no servers", status: 200, body: `{"data":{"config":{"servers":null}}}`, want: []client.RaftPeer{}},
		{name: "no config", status: 200, body: `{"data":{}}`, wantErr: errors.New("answer carries no data.config")},
		{name: "forbidden", status: 403, body: `{"errors":["permission denied"]}`, wantErr: client.ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gotMethod, gotPath, gotToken string
			c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				gotMethod, gotPath, gotToken = r.Method, r.URL.Path, r.Header.Get("X-Vault-Token")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			peers, err := c.Raft().Peers(context.Background())
			if gotMethod != "GET" || gotPath != "/v1/sys/storage/raft/configuration" || gotToken != "s.root" {
				t.Fatalf("request = %s %s token %q", gotMethod, gotPath, gotToken)
			}
			if tt.wantErr != nil {
				if err == nil || !errors.Is(err, tt.wantErr) && !strings.Contains(err.Error(), tt.wantErr.Error()) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(peers, tt.want) {
				t.Fatalf("Peers = %+v, %v; want %+v", peers, err, tt.want)
			}
		})
	}
}

func TestRaftJoinAndRemovePeer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name                 string
		status               int
		reply                string
		token                string
		call                 func(r *client.Raft) (any, error)
		method, path, body   string
		want                 any
		wantErr              error
		wantNoRequestForCall bool
	}{
		{name: "join without token", status: 200, reply: `{"joined":true}` + "\n",
			call: func(r *client.Raft) (any, error) {
				return r.Join(ctx, &client.RaftJoinRequest{LeaderAPIAddr: "https://127.0.0.1:8200", LeaderCACert: "PEM", NonVoter: true})
			},
			method: "POST", path: "/v1/sys/storage/raft/join",
			body: `{"leader_api_addr":"https://127.0.0.1:8200","leader_ca_cert":"PEM","non_voter":true}`, want: true},
		{name: "join minimal body", status: 200, reply: `{"joined":false}`, token: "s.root",
			call: func(r *client.Raft) (any, error) {
				return r.Join(ctx, &client.RaftJoinRequest{LeaderAPIAddr: "http://127.0.0.1:8200"})
			},
			method: "POST", path: "/v1/sys/storage/raft/join", body: `{"leader_api_addr":"http://127.0.0.1:8200"}`, want: false},
		{name: "join refused", status: 500, reply: `{"errors":["core: join: leader unreachable"]}`,
			call: func(r *client.Raft) (any, error) {
				return r.Join(ctx, &client.RaftJoinRequest{LeaderAPIAddr: "http://127.0.0.1:1"})
			},
			method: "POST", path: "/v1/sys/storage/raft/join", body: `{"leader_api_addr":"http://127.0.0.1:1"}`,
			wantErr: errors.New("500 Internal Server Error: core: join: leader unreachable")},
		{name: "join needs address", call: func(r *client.Raft) (any, error) { return r.Join(ctx, &client.RaftJoinRequest{}) },
			wantErr: client.ErrInvalidArgument, wantNoRequestForCall: true},
		{name: "join nil request", call: func(r *client.Raft) (any, error) { return r.Join(ctx, nil) },
			wantErr: client.ErrInvalidArgument, wantNoRequestForCall: true},
		{name: "remove peer", status: 204, token: "s.root",
			call:   func(r *client.Raft) (any, error) { return nil, r.RemovePeer(ctx, "node3") },
			method: "POST", path: "/v1/sys/storage/raft/remove-peer", body: `{"server_id":"node3"}`},
		{name: "remove unknown peer", status: 400, reply: `{"errors":["unknown server"]}`, token: "s.root",
			call:   func(r *client.Raft) (any, error) { return nil, r.RemovePeer(ctx, "node9") },
			method: "POST", path: "/v1/sys/storage/raft/remove-peer", body: `{"server_id":"node9"}`, wantErr: client.ErrInvalidRequest},
		{name: "remove needs id", call: func(r *client.Raft) (any, error) { return nil, r.RemovePeer(ctx, "") },
			wantErr: client.ErrInvalidArgument, wantNoRequestForCall: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []recorded
			c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = append(got, recorded{Method: r.Method, Path: r.URL.Path, Token: r.Header.Get("X-Vault-Token"), Body: string(b)})
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.reply)
			}, client.WithToken(tt.token))
			res, err := tt.call(c.Raft())
			if tt.wantNoRequestForCall {
				if len(got) != 0 || !errors.Is(err, tt.wantErr) {
					t.Fatalf("requests %v, err %v; want none and %v", got, err, tt.wantErr)
				}
				return
			}
			if len(got) != 1 || got[0].Method != tt.method || got[0].Path != tt.path || got[0].Token != tt.token {
				t.Fatalf("requests = %+v, want one %s %s with token %q", got, tt.method, tt.path, tt.token)
			}
			jsonEqual(t, got[0].Body, tt.body)
			if tt.wantErr != nil {
				if err == nil || !errors.Is(err, tt.wantErr) && !strings.Contains(err.Error(), tt.wantErr.Error()) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || (tt.want != nil && res != tt.want) {
				t.Fatalf("result = %v, %v; want %v", res, err, tt.want)
			}
		})
	}
}
