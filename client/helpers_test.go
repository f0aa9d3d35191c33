package client_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/client"
)

// recorded is one request as the fake server saw it.
type recorded struct {
	Method, Path, RawPath, Query, Token, Body string
}

// fakeVault answers every request with a fixed status and body and records
// what it received, so tests can check the exact wire shape of each call.
type fakeVault struct {
	mu     sync.Mutex
	reqs   []recorded
	status int
	body   string
	srv    *httptest.Server
}

func newFakeVault(t *testing.T, status int, body string) *fakeVault {
	t.Helper()
	f := &fakeVault{status: status, body: body}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVault) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(),
		Query: r.URL.RawQuery, Token: r.Header.Get("X-Vault-Token"), Body: string(b)})
	status, body := f.status, f.body
	f.mu.Unlock()
	if body != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (f *fakeVault) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("server received no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func (f *fakeVault) client(t *testing.T, opts ...client.Option) *client.Client {
	t.Helper()
	base := []client.Option{client.WithEnv(func(string) string { return "" }),
		client.WithAddress(f.srv.URL), client.WithToken("s.testtoken"), noRetry}
	c, err := client.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}
