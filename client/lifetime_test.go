package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// watch starts w and collects its renewals until it is done; onRenew
// sees each one as it arrives.
func watch(ctx context.Context, w *client.LifetimeWatcher, onRenew func(*client.RenewOutput)) ([]*client.RenewOutput, error) {
	w.Start(ctx)
	var got []*client.RenewOutput
	for {
		select {
		case r := <-w.RenewCh():
			got = append(got, r)
			if onRenew != nil {
				onRenew(r)
			}
		case err := <-w.DoneCh():
			select { // a renewal sent just before the end
			case r := <-w.RenewCh():
				got = append(got, r)
			default:
			}
			return got, err
		}
	}
}

// TestLifetimeWatcherToken: a token of TTL 3s and max TTL 7s is kept
// alive past its first expiry, then the watcher reports the max TTL.
func TestLifetimeWatcherToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []client.Option
	}{{"rest", nil}, {"grpc", []client.Option{client.WithGRPC()}}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			rs := newRealServer(t)
			c := rs.client(t, tc.opts...)
			created := time.Now()
			tok, err := c.Token().Create(ctx, &client.TokenCreateRequest{TTL: "3s", ExplicitMaxTTL: "7s"})
			if err != nil {
				t.Fatal(err)
			}
			w, err := c.NewLifetimeWatcher(&client.LifetimeWatcherInput{Secret: tok})
			if err != nil {
				t.Fatal(err)
			}
			aliveAfterTTL := false
			renewals, err := watch(ctx, w, func(r *client.RenewOutput) {
				if r.RenewedAt.Sub(created) <= 3*time.Second {
					return
				}
				// Past the TTL it was created with: only the renewals
				// keep it valid.
				if _, err := c.Token().Lookup(ctx, tok.Auth.ClientToken); err != nil {
					t.Errorf("lookup after %s: %v", r.RenewedAt.Sub(created), err)
				}
				aliveAfterTTL = true
			})
			if !errors.Is(err, client.ErrMaxTTLReached) {
				t.Fatalf("done: %v, want ErrMaxTTLReached", err)
			}
			if len(renewals) < 2 || !aliveAfterTTL {
				t.Fatalf("%d renewals, alive after the TTL: %v", len(renewals), aliveAfterTTL)
			}
			last := renewals[len(renewals)-1]
			if last.Secret.Auth == nil || last.LeaseDuration >= 3*time.Second {
				t.Fatalf("last renewal %+v: want a grant capped below 3s", last)
			}
		})
	}
}

// TestLifetimeWatcherLease renews a database lease (role TTL 3s, max 8s)
// through sys/leases/renew until its max TTL.
func TestLifetimeWatcherLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := client.New(noEnv, client.WithAddress(shared.URL), client.WithToken(shared.Root))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := c.Database("database").Creds(ctx, "short")
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.NewLifetimeWatcher(&client.LifetimeWatcherInput{Secret: creds.Raw})
	if err != nil {
		t.Fatal(err)
	}
	renewals, err := watch(ctx, w, nil)
	if !errors.Is(err, client.ErrMaxTTLReached) {
		t.Fatalf("done: %v, want ErrMaxTTLReached", err)
	}
	if len(renewals) == 0 || renewals[0].Secret.LeaseID != creds.LeaseID {
		t.Fatalf("renewals %v", renewals)
	}
	l, err := c.Leases().Lookup(ctx, creds.LeaseID)
	if err == nil && l.LastRenewal == nil {
		t.Fatalf("lease %+v was never renewed", l)
	}
}

func TestLifetimeWatcherStops(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs := newRealServer(t)
	c := rs.client(t)
	newToken := func(req *client.TokenCreateRequest) *client.Secret {
		t.Helper()
		s, err := c.Token().Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	newWatcher := func(s *client.Secret) *client.LifetimeWatcher {
		t.Helper()
		w, err := c.NewLifetimeWatcher(&client.LifetimeWatcherInput{Secret: s})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	no := false
	t.Run("not renewable", func(t *testing.T) {
		renewals, err := watch(ctx, newWatcher(newToken(&client.TokenCreateRequest{TTL: "1h", Renewable: &no})), nil)
		if !errors.Is(err, client.ErrNotRenewable) || len(renewals) != 0 {
			t.Fatalf("done %v after %d renewals", err, len(renewals))
		}
	})
	t.Run("no TTL", func(t *testing.T) {
		root := &client.Secret{Auth: &client.SecretAuth{ClientToken: rs.Root, Renewable: true}}
		if _, err := watch(ctx, newWatcher(root), nil); !errors.Is(err, client.ErrNotRenewable) {
			t.Fatalf("done %v", err)
		}
	})
	t.Run("stop", func(t *testing.T) {
		w := newWatcher(newToken(&client.TokenCreateRequest{TTL: "1h"}))
		w.Start(ctx)
		<-w.RenewCh() // renewed once at start, next in about 40 minutes
		w.Stop()
		if err := <-w.DoneCh(); err != nil {
			t.Fatalf("done %v, want nil", err)
		}
	})
	t.Run("context", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		w := newWatcher(newToken(&client.TokenCreateRequest{TTL: "1h"}))
		w.Start(wctx)
		<-w.RenewCh()
		cancel()
		if err := <-w.DoneCh(); !errors.Is(err, context.Canceled) {
			t.Fatalf("done %v, want context.Canceled", err)
		}
	})
	t.Run("renewal fails", func(t *testing.T) {
		tok := newToken(&client.TokenCreateRequest{TTL: "3s", ExplicitMaxTTL: "1h"})
		w := newWatcher(tok)
		w.Start(ctx)
		<-w.RenewCh()
		if err := c.Token().Revoke(ctx, tok.Auth.ClientToken); err != nil {
			t.Fatal(err)
		}
		err := <-w.DoneCh()
		var re *client.ResponseError
		if !errors.As(err, &re) || errors.Is(err, client.ErrMaxTTLReached) {
			t.Fatalf("done %v, want the refused renewal", err)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, in := range []*client.LifetimeWatcherInput{nil, {}, {Secret: &client.Secret{}},
			{Secret: &client.Secret{LeaseID: "x"}, Increment: -time.Second}} {
			if _, err := c.NewLifetimeWatcher(in); !errors.Is(err, client.ErrInvalidArgument) {
				t.Errorf("%+v: err %v", in, err)
			}
		}
	})
}
