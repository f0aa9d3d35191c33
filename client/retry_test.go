package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// scripted answers the i-th request with statuses[i] (the last one
// repeating) and counts the requests.
type scripted struct {
	statuses []int
	n        atomic.Int64
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	i := int(s.n.Add(1)) - 1
	code := s.statuses[min(i, len(s.statuses)-1)]
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if code >= 400 {
		_, _ = w.Write([]byte(`{"errors":["scripted"]}`))
		return
	}
	_, _ = w.Write([]byte(`{"data":{"k":"v"}}`))
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	fast := client.RetryPolicy{MaxAttempts: 4, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
	tests := []struct {
		name     string
		statuses []int
		policy   client.RetryPolicy
		wantN    int64
		wantErr  error
	}{
		{"503 then 200", []int{503, 200}, fast, 2, nil},
		{"500, 502, 504 then 200", []int{500, 502, 504, 200}, fast, 4, nil},
		{"400 is never retried", []int{400, 200}, fast, 1, client.ErrInvalidRequest},
		{"403 is never retried", []int{403, 200}, fast, 1, client.ErrPermissionDenied},
		{"404 is never retried", []int{404, 200}, fast, 1, client.ErrNotFound},
		{"429 is never retried", []int{429, 200}, fast, 1, nil},
		{"501 is not retried", []int{501, 200}, fast, 1, nil},
		{"attempts are bounded", []int{503}, fast, 4, client.ErrUnavailable},
		{"one attempt", []int{503, 200}, client.RetryPolicy{MaxAttempts: 1}, 1, client.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &scripted{statuses: tt.statuses}
			srv := httptest.NewServer(s)
			t.Cleanup(srv.Close)
			c, err := client.New(noEnv, client.WithAddress(srv.URL), client.WithRetry(tt.policy))
			if err != nil {
				t.Fatal(err)
			}
			sec, err := c.Read(context.Background(), "secret/x", nil)
			if got := s.n.Load(); got != tt.wantN {
				t.Errorf("requests = %d, want %d", got, tt.wantN)
			}
			final := tt.statuses[min(int(tt.wantN)-1, len(tt.statuses)-1)]
			switch {
			case final < 400:
				if err != nil || sec.Data["k"] != "v" {
					t.Fatalf("Read = %v, %v", sec, err)
				}
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			case err == nil:
				t.Fatal("no error")
			}
		})
	}
}

// TestRetryHonoursDeadline: a wait that would outlast the context's
// deadline is not started, and a cancelled context stops the retries.
func TestRetryHonoursDeadline(t *testing.T) {
	t.Parallel()
	s := &scripted{statuses: []int{503}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	slow := client.RetryPolicy{MaxAttempts: 5, MinBackoff: time.Hour, MaxBackoff: time.Hour}
	c, err := client.New(noEnv, client.WithAddress(srv.URL), client.WithRetry(slow))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Read(ctx, "secret/x", nil); !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("err = %v, want the 503", err)
	}
	if got := s.n.Load(); got != 1 {
		t.Fatalf("requests = %d, want 1 (the 1h wait outlasts the deadline)", got)
	}
	done, stop := context.WithCancel(context.Background())
	stop()
	if _, err := c.Read(done, "secret/x", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
}

// TestRetryConnectionErrors: a server that is gone is retried up to the
// bound, then the connection error is returned.
func TestRetryConnectionErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	var attempts atomic.Int64
	hc := &http.Client{Transport: countingRT{n: &attempts, next: http.DefaultTransport}}
	c, err := client.New(noEnv, client.WithAddress(addr), client.WithHTTPClient(hc),
		client.WithRetry(client.RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	var re *client.ResponseError
	if _, err := c.Read(context.Background(), "secret/x", nil); err == nil || errors.As(err, &re) {
		t.Fatalf("err = %v, want a connection error", err)
	}
	if got := attempts.Load(); got != 3 {
		t.Fatalf("attempts = %d, want 3", got)
	}
}

type countingRT struct {
	n    *atomic.Int64
	next http.RoundTripper
}

func (c countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestRetryPolicyRefused(t *testing.T) {
	t.Parallel()
	for _, p := range []client.RetryPolicy{{}, {MaxAttempts: 2, MinBackoff: 2, MaxBackoff: 1}, {MaxAttempts: 2, MinBackoff: -1}} {
		if _, err := client.New(noEnv, client.WithRetry(p)); !errors.Is(err, client.ErrInvalidArgument) {
			t.Errorf("WithRetry(%+v): err = %v", p, err)
		}
	}
}
