package lockout

import (
	"errors"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestTracker(t *testing.T) {
	now := time.Unix(1000, 0)
	tr := New(Config{Threshold: 3, Duration: time.Minute, CounterReset: 10 * time.Minute}, func() time.Time { return now })
	k := Key("alice", "10.0.0.1")
	other := Key("alice", "10.0.0.2")
	for i := 0; i < 2; i++ {
		if tr.Fail(k) {
			t.Fatalf("locked after %d failures", i+1)
		}
	}
	if err := tr.Check(k); err != nil {
		t.Fatalf("locked before the threshold: %v", err)
	}
	if !tr.Fail(k) {
		t.Fatal("not locked at the threshold")
	}
	if err := tr.Check(k); !errors.Is(err, ErrLockedOut) || !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("Check = %v, want ErrLockedOut (a 403)", err)
	}
	if err := tr.Check(other); err != nil {
		t.Fatalf("another client address is locked too: %v", err)
	}
	now = now.Add(61 * time.Second)
	if err := tr.Check(k); err != nil {
		t.Fatalf("still locked after the lockout duration: %v", err)
	}
	// Failures spread wider than the counter reset never lock.
	for i := 0; i < 5; i++ {
		now = now.Add(11 * time.Minute)
		if tr.Fail(other) {
			t.Fatalf("failures %d spread over resets locked the key", i)
		}
	}
	tr.Fail(k)
	tr.Fail(k)
	tr.Succeed(k)
	if tr.Fail(k) {
		t.Fatal("a success did not clear the failures")
	}
}

func TestDisabled(t *testing.T) {
	tr := New(Config{Threshold: 1, Duration: time.Hour, Disable: true}, nil)
	if tr.Fail("k") || tr.Check("k") != nil {
		t.Fatal("a disabled tracker locked a key")
	}
}

func TestConfigFrom(t *testing.T) {
	tests := []struct {
		opts map[string]string
		want Config
		bad  bool
	}{
		{nil, DefaultConfig(), false},
		{map[string]string{"lockout_threshold": "10", "lockout_duration": "1h", "lockout_counter_reset": "30m", "lockout_disable": "false"},
			Config{Threshold: 10, Duration: time.Hour, CounterReset: 30 * time.Minute}, false},
		{map[string]string{"lockout_disable": "true"}, Config{Threshold: 5, Duration: 15 * time.Minute, CounterReset: 15 * time.Minute, Disable: true}, false},
		{map[string]string{"lockout_threshold": "0"}, Config{}, true},
		{map[string]string{"lockout_duration": "soon"}, Config{}, true},
		{map[string]string{"lockout_disable": "maybe"}, Config{}, true},
	}
	for _, tt := range tests {
		got, err := ConfigFrom(tt.opts)
		if tt.bad {
			if !errors.Is(err, logical.ErrInvalidRequest) {
				t.Errorf("%v: err = %v, want a 400", tt.opts, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%v: %+v, %v; want %+v", tt.opts, got, err, tt.want)
		}
	}
}
