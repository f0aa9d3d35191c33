package membership

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/cluster"
)

// TestChallengesAreBounded: a flood of join challenges is refused with a
// rate-limit error once MaxChallenges are outstanding, instead of growing
// the active node's memory; expired challenges are swept and make room,
// and a server asking again replaces its own challenge.
func TestChallengesAreBounded(t *testing.T) {
	m, _, clock, _ := newLeaderMembershipOpts(t, Options{MaxChallenges: 3, ChallengeTTL: time.Minute}, nil)
	ctx := context.Background()
	for i := range 3 {
		if _, err := m.IssueChallenge(ctx, fmt.Sprintf("joiner%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 3; i < 50; i++ {
		_, err := m.IssueChallenge(ctx, fmt.Sprintf("joiner%d", i))
		if !errors.Is(err, ErrTooManyChallenges) || !errors.Is(err, logical.ErrRateLimited) {
			t.Fatalf("challenge %d beyond the limit: %v, want ErrTooManyChallenges (429)", i, err)
		}
	}
	if n := m.challenges.outstanding(); n != 3 {
		t.Fatalf("%d challenges held after a flood, want 3", n)
	}
	clock.add(30 * time.Second)
	if _, err := m.IssueChallenge(ctx, "joiner1"); err != nil {
		t.Fatalf("a server asking again for its own challenge: %v", err)
	}
	if _, err := m.IssueChallenge(ctx, "late"); !errors.Is(err, ErrTooManyChallenges) {
		t.Fatalf("before expiry: %v", err)
	}
	clock.add(31 * time.Second) // joiner0 and joiner2 expired; joiner1 was renewed at 30s
	if _, err := m.IssueChallenge(ctx, "late"); err != nil {
		t.Fatalf("after two others expired: %v", err)
	}
	if n := m.challenges.outstanding(); n != 2 {
		t.Fatalf("%d challenges held after expiry, want joiner1 and late", n)
	}
}

// TestExpiredChallengeCannotBeAnswered: an answer after ChallengeTTL, or a
// second answer, is refused even with the right value.
func TestExpiredChallengeCannotBeAnswered(t *testing.T) {
	m, _, clock, _ := newLeaderMembershipOpts(t, Options{ChallengeTTL: time.Minute}, nil)
	ctx := context.Background()
	answer := func(id string) error {
		ch, err := m.IssueChallenge(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := m.barrier.Decrypt(challengeAAD+id, ch.Challenge)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := cluster.NewNodeKey()
		pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		clock.add(61 * time.Second)
		_, err = m.Admit(ctx, &Answer{ServerID: id, Answer: plain, ClusterAddr: id + ":8201", PublicKey: pub})
		return err
	}
	if err := answer("slow"); !errors.Is(err, ErrInvalidAnswer) {
		t.Fatalf("answer after the TTL: %v, want ErrInvalidAnswer", err)
	}
}

// TestServerIDIsValidated: the unauthenticated join endpoints accept only
// node ids a certificate can carry, and say which field is wrong.
func TestServerIDIsValidated(t *testing.T) {
	m, _, _, _ := newLeaderMembership(t)
	ctx := context.Background()
	bad := []string{"", strings.Repeat("a", 129), "a/b", "node 1", "n\x00", "../../etc", "é"}
	for _, id := range bad {
		_, err := m.IssueChallenge(ctx, id)
		var ir *logical.InvalidRequestError
		if !errors.As(err, &ir) || ir.Field != "server_id" {
			t.Errorf("IssueChallenge(%.20q) = %v, want a 400 naming server_id", id, err)
		}
		_, err = m.Admit(ctx, &Answer{ServerID: id, Answer: []byte("x"), ClusterAddr: "a:1", PublicKey: []byte("x")})
		if !errors.As(err, &ir) || ir.Field != "server_id" {
			t.Errorf("Admit(%.20q) = %v, want a 400 naming server_id", id, err)
		}
	}
	if n := m.challenges.outstanding(); n != 0 {
		t.Fatalf("invalid ids left %d challenges", n)
	}
	if _, err := m.IssueChallenge(ctx, strings.Repeat("a", 128)); err != nil {
		t.Fatalf("a 128-character id: %v", err)
	}
}
