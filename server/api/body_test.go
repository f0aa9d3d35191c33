package api_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/secretumvault/secretumvault/server/api"
)

// endlessBody is a chunked upload of size bytes that counts what the
// client transport actually read from it.
type endlessBody struct {
	left int64
	read atomic.Int64
}

func (b *endlessBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), b.left))
	for i := range p[:n] {
		p[i] = 'a'
	}
	b.left -= int64(n)
	b.read.Add(int64(n))
	return n, nil
}

// uploadAlloc sends a 40 MiB chunked PUT to url+path with token and
// returns the status, the bytes the server made the client send, and the
// bytes this process allocated meanwhile (client and server are both in
// it: a server that read the body would allocate at least its size).
func uploadAlloc(t *testing.T, client *http.Client, url, path, token string) (status int, sent int64, alloc uint64) {
	t.Helper()
	body := &endlessBody{left: 40 << 20}
	req, err := http.NewRequestWithContext(context.Background(), "PUT", url+path, io.MultiReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("upload to %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	return resp.StatusCode, body.read.Load(), after.TotalAlloc - before.TotalAlloc
}

// TestUnauthenticatedUploadIsNotRead: a 40 MiB body without a valid token
// (or to an unauthenticated route, which reads at most 1 MiB) is refused
// without the node reading it: the process allocates a few MiB at most,
// directly and through a standby that forwards.
func TestUnauthenticatedUploadIsNotRead(t *testing.T) {
	const budget = 6 << 20
	active := startNode(t, api.Options{}, 1, 1, true)
	standby := startStandby(t, newRole(true, active.clusterAddr), api.Options{})
	tests := []struct {
		name   string
		node   *clusterNode
		path   string
		token  string
		status int
	}{
		{"no token", active, "/v1/secret/data/x", "", 403},
		{"bad token", active, "/v1/secret/data/x", "hvs.not-a-token", 403},
		{"unauthenticated route", active, "/v1/sys/storage/raft/bootstrap/challenge", "", 413},
		{"no token, through a standby", standby, "/v1/secret/data/x", "", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, sent, alloc := uploadAlloc(t, tc.node.client, tc.node.url, tc.path, tc.token)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			if alloc > budget || sent > 16<<20 {
				t.Fatalf("the node made the client send %d bytes and allocated %d: the body was read", sent, alloc)
			}
			t.Logf("sent %d KiB, allocated %d KiB", sent>>10, alloc>>10)
		})
	}
	// Positive control: with the token, the same body is read in full (and
	// refused by the size limit, as it is over 32 MiB).
	status, sent, alloc := uploadAlloc(t, active.client, active.url, "/v1/secret/data/x", active.root)
	if status != 413 || sent < 32<<20 || alloc < 32<<20 {
		t.Fatalf("authenticated upload: status %d, sent %d, allocated %d; want 413 after reading the limit", status, sent, alloc)
	}
}
