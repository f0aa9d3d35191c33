package rotation

import (
	"context"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/storage/inmem"
)

func TestReachable(t *testing.T) {
	for _, tc := range []struct {
		mount    string
		prefixes []string
		want     bool
	}{
		{"secret/", []string{"secret/data/app/"}, true},
		{"secret/", []string{""}, true}, // a policy matching "*"
		{"team/secret/", []string{"team/"}, true},
		{"secret/", []string{"database/static-roles/"}, false},
		{"secret2/", []string{"secret/data/"}, false},
		{"secret/", nil, false},
	} {
		if got := reachable(tc.mount, tc.prefixes); got != tc.want {
			t.Errorf("reachable(%q, %q) = %v", tc.mount, tc.prefixes, got)
		}
	}
}

// The history of every policy stays bounded, however many runs it has.
func TestHistoryBounded(t *testing.T) {
	s, err := New(Config{Storage: inmem.New(), CheckInterval: time.Hour, Mounts: func() []Mount { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	for _, name := range []string{"a", "b"} {
		if err := s.PutPolicy(ctx, &Policy{Name: name, Match: "secret/data/*", MaxAge: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 600 {
		s.record(ctx, Run{Policy: []string{"a", "b"}[i%2], Path: "secret/data/x", Reason: ReasonManual, Result: ResultSuccess})
	}
	for _, name := range []string{"a", "b"} {
		runs, err := s.History(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) > historyKeep+32 || len(runs) < historyKeep {
			t.Fatalf("policy %s keeps %d runs, want about %d", name, len(runs), historyKeep)
		}
	}
}
