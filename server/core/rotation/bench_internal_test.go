package rotation

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// staticRotator lists fixed targets, all fresh, and never rotates: the
// benchmarks measure the scheduler's own work per pass.
type staticRotator struct{ targets []logical.RotationTarget }

func (r *staticRotator) RotationTargets(context.Context, logical.Storage) ([]logical.RotationTarget, error) {
	return r.targets, nil
}
func (r *staticRotator) Rotate(context.Context, logical.Storage, string) (logical.RotationResult, error) {
	return logical.RotationResult{}, nil
}
func (r *staticRotator) Verify(context.Context, logical.Storage, string) error {
	return logical.ErrUnsupportedOperation
}

// benchScheduler is a started scheduler over n fresh secrets and the
// given policies (its loop idle: CheckInterval is an hour).
func benchScheduler(b *testing.B, n int, policies []*Policy) *Scheduler {
	r := &staticRotator{}
	now := time.Now()
	for i := range n {
		p := fmt.Sprintf("data/team%03d/app%05d", i%100, i)
		r.targets = append(r.targets, logical.RotationTarget{Path: p, LastRotated: now, Guards: []string{p}})
	}
	s, err := New(Config{Storage: inmem.New(), CheckInterval: time.Hour,
		Mounts: func() []Mount { return []Mount{{Path: "secret/", Type: "kv", Rotator: r, Storage: inmem.New()}} }})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Stop)
	for _, p := range policies {
		if err := s.PutPolicy(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkCheckPass10kPolicies is one age pass over 10,000 secrets,
// each matched by its own policy (10,000 policies).
func BenchmarkCheckPass10kPolicies(b *testing.B) {
	const n = 10000
	ps := make([]*Policy, n)
	for i := range n {
		ps[i] = &Policy{Name: fmt.Sprintf("p%05d", i), Match: fmt.Sprintf("secret/data/team%03d/app%05d", i%100, i), MaxAge: time.Hour, WarnAt: 50 * time.Minute}
	}
	s := benchScheduler(b, n, ps)
	b.ResetTimer()
	for b.Loop() {
		s.checkPass(context.Background())
	}
	b.ReportMetric(float64(n), "secrets")
}

// BenchmarkCheckPass10kSecretsOneGlob is one age pass over 10,000
// secrets matched by one glob policy and 100 per-team ones.
func BenchmarkCheckPass10kSecretsOneGlob(b *testing.B) {
	ps := []*Policy{{Name: "all", Match: "secret/data/*", MaxAge: time.Hour}}
	for t := range 100 {
		ps = append(ps, &Policy{Name: fmt.Sprintf("team%03d", t), Match: fmt.Sprintf("secret/data/team%03d/*", t), MaxAge: 2 * time.Hour})
	}
	s := benchScheduler(b, 10000, ps)
	b.ResetTimer()
	for b.Loop() {
		s.checkPass(context.Background())
	}
}

// BenchmarkQuarantinedMiss is the pipeline's quarantine check of a
// request on a path that is not quarantined, with 1,000 quarantines.
func BenchmarkQuarantinedMiss(b *testing.B) {
	s := &Scheduler{}
	var es []quarantineEntry
	for i := range 1000 {
		p := fmt.Sprintf("secret/data/q/%04d", i)
		es = append(es, quarantineEntry{Path: p, Guards: []string{p}, Policy: "p"})
	}
	s.quarantine.replace(es)
	b.ReportAllocs()
	for b.Loop() {
		if s.Quarantined("secret/data/app/config", logical.ReadOperation) != nil {
			b.Fatal("refused")
		}
	}
}
