package core

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/membership"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// refusingLeader is a leader API that refuses every join challenge with a
// reason, and counts the requests.
func refusingLeader(t *testing.T, reason string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"errors":["` + reason + `"]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func newJoiningCore(t *testing.T) *Core {
	t.Helper()
	c, err := New(Config{Physical: inmem.New(), Cluster: &fakeCluster{self: "j1"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func joinRequest(addr string, retry bool) *logical.Request {
	return &logical.Request{Operation: logical.UpdateOperation, Path: "sys/storage/raft/join",
		Data: map[string]any{"leader_api_addr": addr, "retry": retry}}
}

// TestJoinEndpointDoesNotRelayTheLeader: sys/storage/raft/join is
// unauthenticated on a node without state; its caller learns that the
// join failed, not what the remote server said.
func TestJoinEndpointDoesNotRelayTheLeader(t *testing.T) {
	srv, _ := refusingLeader(t, "node id already a member: secret topology detail")
	c := newJoiningCore(t)
	_, err := c.HandleRequest(context.Background(), joinRequest(srv.URL, false))
	if !errors.Is(err, membership.ErrJoinFailed) || strings.Contains(err.Error(), "secret topology") {
		t.Fatalf("join = %v, want membership.ErrJoinFailed without the leader's words", err)
	}
	if st, err := c.SealStatus(context.Background()); err != nil || st.Initialized {
		t.Fatalf("failed join changed the node: %+v, %v", st, err)
	}
}

// TestJoinRetryRunsOneLoop: join with retry=true returns at once each
// time, but only one retry loop asks the leader, however often it is
// called.
func TestJoinRetryRunsOneLoop(t *testing.T) {
	srv, hits := refusingLeader(t, "not yet")
	c := newJoiningCore(t)
	for range 10 {
		resp, err := c.HandleRequest(context.Background(), joinRequest(srv.URL, true))
		if err != nil || resp.Raw["joined"] != true {
			t.Fatalf("join with retry: %v, %v", resp, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for hits.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// The loop retries every 2 s: within a second there is one attempt.
	time.Sleep(time.Second)
	if n := hits.Load(); n != 1 {
		t.Fatalf("the leader was asked %d times within a second of 10 join calls with retry, want 1 (one loop)", n)
	}
}

// TestSlowLeaderDoesNotBlockTheNode: while a join waits on a leader that
// does not answer (or on this very node, named in its own retry_join),
// seal-status answers at once.
func TestSlowLeaderDoesNotBlockTheNode(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	defer close(release)
	c := newJoiningCore(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.HandleRequest(context.Background(), joinRequest(srv.URL, false))
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // the join is waiting on the leader
	answered := make(chan error, 1)
	go func() {
		_, err := c.SealStatus(context.Background())
		answered <- err
	}()
	select {
	case err := <-answered:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("seal-status waited for the join's request to the leader")
	}
	select {
	case err := <-done:
		t.Fatalf("the join returned before the leader answered: %v", err)
	default:
	}
}
