package cluster

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// responseError returns err's HTTP status and error messages (0 and "" if
// it is not an API response error).
func responseError(err error) (int, string) {
	var re *vault.ResponseError
	if !errors.As(err, &re) {
		return 0, ""
	}
	return re.StatusCode, strings.Join(re.Errors, "; ")
}

// waitLog waits until node n's log contains every one of want, and fails
// the test otherwise.
func waitLog(t *testing.T, n *Node, timeout time.Duration, want ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		log := n.Log()
		missing := ""
		for _, w := range want {
			if !strings.Contains(log, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's log has no %q within %v; last lines:\n%s", n.ID, missing, timeout, tail(log, 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitLogSince is waitLog on what node n logged after offset from (an
// index into Log()).
func waitLogSince(t *testing.T, n *Node, from int, timeout time.Duration, want string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		log := n.Log()
		if from > len(log) {
			from = len(log)
		}
		if strings.Contains(log[from:], want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s logged no %q within %v; last lines:\n%s", n.ID, want, timeout, tail(log[from:], 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestJoinRefusesDuplicateNodeID: a node whose node_id is already a member
// cannot join (it would replace the member's address in raft). The
// joiner's caller gets a generic 400 (the join endpoint is unauthenticated
// and does not relay what the leader said); the reason is in the joiner's
// log.
func TestJoinRefusesDuplicateNodeID(t *testing.T) {
	a := Start(t, 1, Options{Shares: 1, Threshold: 1, LogLevel: "info"})
	a.InitUnseal()
	a.WaitLeader(30 * time.Second)
	b := Start(t, 1, Options{Shares: 1, Threshold: 1, LogLevel: "info"})
	_, err := b.Client(0, "").Logical().Write("sys/storage/raft/join", map[string]any{"leader_api_addr": a.Nodes[0].APIURL()})
	code, msg := responseError(err)
	if code != http.StatusBadRequest || !strings.Contains(msg, "join failed") || strings.Contains(msg, "already a member") {
		t.Fatalf("join with a duplicate node id: %d %q (%v); want a generic 400", code, msg, err)
	}
	waitLog(t, b.Nodes[0], 10*time.Second, "join challenge failed", "already a member")
	if st, err := b.Client(0, "").Sys().SealStatus(); err != nil || st.Initialized {
		t.Fatalf("refused joiner changed state: %+v, %v", st, err)
	}
}

// TestJoinChallengesAreBounded: the unauthenticated challenge endpoint of
// a real leader validates server_id (400 naming it) and, flooded, answers
// 429 once 32 challenges are outstanding, instead of holding more.
func TestJoinChallengesAreBounded(t *testing.T) {
	a := Start(t, 1, Options{Shares: 1, Threshold: 1, LogLevel: "info"})
	a.InitUnseal()
	a.WaitLeader(30 * time.Second)
	cl := a.Client(0, "")
	for _, id := range []string{"", "a/b", "node 1", strings.Repeat("x", 129)} {
		_, err := cl.Logical().Write("sys/storage/raft/bootstrap/challenge", map[string]any{"server_id": id})
		if code, msg := responseError(err); code != http.StatusBadRequest || !strings.HasPrefix(msg, "server_id:") {
			t.Fatalf("challenge for server_id %.20q: %d %q (%v); want 400 naming server_id", id, code, msg, err)
		}
	}
	var limited int
	for i := range 40 {
		_, err := cl.Logical().Write("sys/storage/raft/bootstrap/challenge", map[string]any{"server_id": fmt.Sprintf("flood-%d", i)})
		code, _ := responseError(err)
		switch {
		case i < 32 && err != nil:
			t.Fatalf("challenge %d of 32: %v", i, err)
		case i >= 32 && code != http.StatusTooManyRequests:
			t.Fatalf("challenge %d beyond the limit: %v; want 429", i, err)
		case i >= 32:
			limited++
		}
	}
	// Asking again for an outstanding challenge replaces it.
	if _, err := cl.Logical().Write("sys/storage/raft/bootstrap/challenge", map[string]any{"server_id": "flood-3"}); err != nil {
		t.Fatalf("a flooded node asking again: %v", err)
	}
	t.Logf("%d challenges beyond the limit refused with 429", limited)
}
