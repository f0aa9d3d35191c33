package membership

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// leaderAPI serves a leader's join endpoints over HTTP from m, rendered
// as the core's sys handlers render them. answer, if set, replaces the
// answer endpoint.
func leaderAPI(t *testing.T, m *Membership, answer http.HandlerFunc) *httptest.Server {
	t.Helper()
	fail := func(w http.ResponseWriter, err error) {
		code := http.StatusBadRequest
		if errors.Is(err, logical.ErrPermissionDenied) {
			code = http.StatusForbidden
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string][]string{"errors": {err.Error()}})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/sys/storage/raft/bootstrap/challenge", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ServerID string `json:"server_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		ch, err := m.IssueChallenge(r.Context(), in.ServerID)
		if err != nil {
			fail(w, err)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
			"challenge": base64.StdEncoding.EncodeToString(ch.Challenge), "keyring": base64.StdEncoding.EncodeToString(ch.Keyring),
			"seal_config": ch.SealConfig,
		}})
	})
	if answer == nil {
		answer = func(w http.ResponseWriter, r *http.Request) {
			var in answerRequest
			_ = json.NewDecoder(r.Body).Decode(&in)
			a, _ := base64.StdEncoding.DecodeString(in.Answer)
			pub, _ := base64.StdEncoding.DecodeString(in.PublicKey)
			adm, err := m.Admit(r.Context(), &Answer{ServerID: in.ServerID, Answer: a, ClusterAddr: in.ClusterAddr, PublicKey: pub, NonVoter: in.NonVoter})
			if err != nil {
				fail(w, err)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
				"ca_cert": string(adm.CACert), "node_cert": base64.StdEncoding.EncodeToString(adm.NodeCert), "peers": adm.Peers,
			}})
		}
	}
	mux.HandleFunc("PUT /v1/sys/storage/raft/bootstrap/answer", answer)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// newJoiner returns the membership of node n9 without state; seal is what
// it sees replicated once joined.
func newJoiner(t *testing.T, seal *testOwner) (*Membership, *fakeCluster, *logBuffer) {
	t.Helper()
	logger, logs := newTestLogger()
	fc := &fakeCluster{self: "n9"}
	m, err := New(Config{Cluster: fc, Barrier: barrier.New(inmem.New()), Seal: seal, Role: seal, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return m, fc, logs
}

// TestJoinDoesNotRelayTheLeader: whatever the address given to join
// answers, or however the leader refuses, the joiner's caller gets only a
// generic error; the details are in the joiner's log.
func TestJoinDoesNotRelayTheLeader(t *testing.T) {
	const secret = "leader-said-this-internal-detail"
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"refused with a reason", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"errors":["` + secret + `"]}`))
		}},
		{"not a vault", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`<html>` + secret + `</html>`))
		}},
		{"malformed challenge", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"data":{"challenge":"` + secret + `!!","keyring":"","seal_config":{}}}`))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			m, _, logs := newJoiner(t, newTestOwner(t))
			_, err := m.RequestJoin(context.Background(), &JoinParams{LeaderAPIAddr: srv.URL})
			if !errors.Is(err, ErrJoinFailed) || !errors.Is(err, logical.ErrInvalidRequest) || strings.Contains(err.Error(), secret) {
				t.Fatalf("RequestJoin = %v; want ErrJoinFailed without the leader's words", err)
			}
			log := logs.String()
			if !strings.Contains(log, "join challenge failed") || !strings.Contains(log, srv.URL) ||
				strings.HasSuffix(tc.name, "with a reason") && !strings.Contains(log, secret) {
				t.Fatalf("the joiner's log does not say why:\n%s", log)
			}
		})
	}
	t.Run("redirect elsewhere", func(t *testing.T) {
		var hits atomic.Int32
		target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
		defer target.Close()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/internal", http.StatusTemporaryRedirect)
		}))
		defer srv.Close()
		m, _, _ := newJoiner(t, newTestOwner(t))
		if _, err := m.RequestJoin(context.Background(), &JoinParams{LeaderAPIAddr: srv.URL}); !errors.Is(err, ErrJoinFailed) || hits.Load() != 0 {
			t.Fatalf("RequestJoin = %v, redirect target asked %d times; want ErrJoinFailed and no request elsewhere", err, hits.Load())
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		addr := srv.URL
		srv.Close()
		m, _, _ := newJoiner(t, newTestOwner(t))
		_, err := m.RequestJoin(context.Background(), &JoinParams{LeaderAPIAddr: addr})
		if !errors.Is(err, ErrJoinFailed) || strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("RequestJoin = %v", err)
		}
	})
}

// TestJoinAnswerRejectionIsNotRelayed: a refused answer is reported
// generically, the reason logged.
func TestJoinAnswerRejectionIsNotRelayed(t *testing.T) {
	const secret = "answer-refused-internal-detail"
	leader, _, _, owner := newLeaderMembership(t)
	srv := leaderAPI(t, leader, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":["` + secret + `"]}`))
	})
	m, _, logs := newJoiner(t, owner)
	pj, err := m.RequestJoin(context.Background(), &JoinParams{LeaderAPIAddr: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	err = m.CompleteJoin(context.Background(), pj, owner.rootKey)
	if !errors.Is(err, ErrJoinAnswerRejected) || strings.Contains(err.Error(), secret) {
		t.Fatalf("CompleteJoin = %v; want ErrJoinAnswerRejected without the leader's words", err)
	}
	if !strings.Contains(logs.String(), secret) {
		t.Fatalf("the reason is not in the joiner's log:\n%s", logs)
	}
}

// TestJoin runs the challenge protocol end to end against a leader's
// membership: wrong keys are refused, the right keys admit the node as a
// non-voter with a certificate for its own key and id.
func TestJoin(t *testing.T) {
	leader, lfc, _, owner := newLeaderMembership(t)
	srv := leaderAPI(t, leader, nil)
	m, fc, _ := newJoiner(t, owner)
	ctx := context.Background()
	pj, err := m.RequestJoin(ctx, &JoinParams{LeaderAPIAddr: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := pj.SealConfig(ctx); err != nil || cfg.SecretThreshold != 1 {
		t.Fatalf("pending join's seal config %+v, %v", cfg, err)
	}
	// A bogus answer from someone who knows the joiner's id does not
	// cancel its challenge.
	if _, err := leader.Admit(ctx, &Answer{ServerID: "n9", Answer: make([]byte, 32), ClusterAddr: "evil:1", PublicKey: []byte("x")}); !errors.Is(err, ErrInvalidAnswer) {
		t.Fatalf("bogus answer: %v", err)
	}
	wrong := make([]byte, len(owner.rootKey))
	if err := m.CompleteJoin(ctx, pj, wrong); !errors.Is(err, ErrWrongKeys) {
		t.Fatalf("join with wrong keys: %v", err)
	}
	if err := m.CompleteJoin(ctx, pj, owner.rootKey); err != nil {
		t.Fatal(err)
	}
	id := fc.identity
	if !fc.Started() || id == nil || id.NodeID() != "n9" {
		t.Fatalf("joined node's cluster not started with its identity: %+v", id)
	}
	if ttl := time.Until(id.NotAfter()); ttl > DefaultOptions().NodeCertTTL || ttl < DefaultOptions().NodeCertTTL-time.Hour {
		t.Fatalf("node certificate valid for %v, want about %v", ttl, DefaultOptions().NodeCertTTL)
	}
	peers, _ := lfc.Peers(ctx)
	if p := peers[len(peers)-1]; p.ID != "n9" || p.Voter || p.Address != "n9:8201" {
		t.Fatalf("leader's configuration after the join: %+v", peers)
	}
	// The challenge was single use.
	if _, err := leader.Admit(ctx, &Answer{ServerID: "n9", Answer: []byte("x"), ClusterAddr: "n9:8201"}); !errors.Is(err, ErrInvalidAnswer) {
		t.Fatalf("second answer: %v", err)
	}
}

// TestRetryJoinRunsOneLoop: however often RetryJoin is called, one loop
// runs; the others return at once, and a new loop may start once it ends.
func TestRetryJoinRunsOneLoop(t *testing.T) {
	m, _, _ := newJoiner(t, newTestOwner(t))
	m.opts.RetryJoinInterval = time.Millisecond
	release := make(chan struct{})
	var attempts, running, maxRunning atomic.Int32
	attempt := func(ctx context.Context, _ *JoinParams) (bool, error) {
		n := running.Add(1)
		defer running.Add(-1)
		if n > maxRunning.Load() {
			maxRunning.Store(n)
		}
		attempts.Add(1)
		select {
		case <-release:
			return true, nil
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(time.Millisecond):
			return false, errors.New("leader not there yet")
		}
	}
	leaders := []*JoinParams{{LeaderAPIAddr: "http://leader"}}
	done := make(chan error, 1)
	go func() { done <- m.RetryJoin(context.Background(), leaders, attempt) }()
	for attempts.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for range 20 {
		// Bounded: a second loop, if one started, gives up with ctx.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		err := m.RetryJoin(ctx, leaders, attempt)
		cancel()
		if !errors.Is(err, ErrRetryJoinRunning) {
			t.Fatalf("second RetryJoin = %v, want ErrRetryJoinRunning", err)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if maxRunning.Load() != 1 {
		t.Fatalf("%d join attempts ran at once, want 1", maxRunning.Load())
	}
	// The loop ended: a new one may run.
	if err := m.RetryJoin(context.Background(), leaders, func(context.Context, *JoinParams) (bool, error) { return true, nil }); err != nil {
		t.Fatal(err)
	}
}
