package lockout

import (
	"errors"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestAttempt(t *testing.T) {
	errServer := errors.New("storage down")
	errDenied := Refused("wrong password", logical.ErrPermissionDenied)
	type step struct {
		loginErr   error // what the login returns
		wantErr    error // errors.Is target; nil for success
		wantLocked bool
		wantRan    bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"success", []step{{nil, nil, false, true}}},
		{"refusals lock at the threshold", []step{
			{errDenied, logical.ErrPermissionDenied, false, true},
			{errDenied, logical.ErrPermissionDenied, true, true},
			{nil, ErrLockedOut, false, false},
		}},
		{"server failures count nothing", []step{
			{errServer, errServer, false, true},
			{errServer, errServer, false, true},
			{errDenied, logical.ErrPermissionDenied, false, true},
			{nil, nil, false, true},
		}},
		{"success forgets failures", []step{
			{errDenied, logical.ErrPermissionDenied, false, true},
			{nil, nil, false, true},
			{errDenied, logical.ErrPermissionDenied, false, true},
			{nil, nil, false, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1000, 0)
			tr := New(Config{Threshold: 2, Duration: time.Minute, CounterReset: time.Hour}, func() time.Time { return now })
			for i, s := range tt.steps {
				ran := false
				res, locked, err := Attempt(tr, "k", IsRefusal, func() (int, error) {
					ran = true
					if s.loginErr != nil {
						return 0, s.loginErr
					}
					return 7, nil
				})
				if ran != s.wantRan || locked != s.wantLocked {
					t.Fatalf("step %d: ran=%v locked=%v, want %v %v", i, ran, locked, s.wantRan, s.wantLocked)
				}
				if s.wantErr == nil {
					if err != nil || res != 7 {
						t.Fatalf("step %d: = %d, %v; want 7, nil", i, res, err)
					}
				} else if !errors.Is(err, s.wantErr) {
					t.Fatalf("step %d: err = %v, want %v", i, err, s.wantErr)
				}
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	err := Refused("unknown user", logical.ErrPermissionDenied)
	if err.Error() != logical.ErrPermissionDenied.Error() || !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("Refusal = %q, want the client error's message and chain", err)
	}
	if !IsRefusal(err) || ReasonOf(err) != "unknown user" {
		t.Fatalf("IsRefusal/ReasonOf = %v %q", IsRefusal(err), ReasonOf(err))
	}
	if IsRefusal(logical.ErrPermissionDenied) || ReasonOf(errors.New("x")) != "" {
		t.Fatal("a plain error is a refusal")
	}
}
