package method_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/secretumvault/secretumvault/engines/auth/internal/method"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestNewLockout(t *testing.T) {
	tests := []struct {
		name    string
		conf    *logical.BackendConfig
		wantErr bool
	}{
		{"nil config", nil, false},
		{"defaults", &logical.BackendConfig{}, false},
		{"good options", &logical.BackendConfig{Config: map[string]string{"lockout_threshold": "2", "lockout_duration": "1m"}}, false},
		{"bad threshold", &logical.BackendConfig{Config: map[string]string{"lockout_threshold": "0"}}, true},
		{"bad disable", &logical.BackendConfig{Config: map[string]string{"lockout_disable": "maybe"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := method.NewLockout("test", tt.conf, nil)
			if tt.wantErr {
				if !errors.Is(err, logical.ErrInvalidRequest) || tr != nil {
					t.Fatalf("NewLockout = %v, %v; want an invalid request", tr, err)
				}
				return
			}
			if err != nil || tr == nil {
				t.Fatalf("NewLockout = %v, %v", tr, err)
			}
		})
	}
}

func TestRouter(t *testing.T) {
	handled := ""
	paths := []*framework.Path{
		{Pattern: "login", Unauthenticated: true, Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: func(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
				handled = "login"
				return &logical.Response{}, nil
			},
		}},
		{Pattern: "role/?", Operations: map[logical.Operation]framework.OperationHandler{
			logical.ListOperation: func(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
				return nil, nil
			},
		}},
	}
	r, err := method.NewRouter("test", "help", paths)
	if err != nil {
		t.Fatal(err)
	}
	var _ logical.Backend = r
	var _ logical.RouteDescriber = r
	if _, err := r.HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: "login"}); err != nil || handled != "login" {
		t.Fatalf("HandleRequest = %v, handled %q", err, handled)
	}
	if info, ok := r.RouteInfo("login", logical.UpdateOperation); !ok || !info.Unauthenticated {
		t.Fatalf("RouteInfo(login) = %+v, %v; want unauthenticated", info, ok)
	}
	if info, ok := r.RouteInfo("role/", logical.ListOperation); !ok || info.Unauthenticated {
		t.Fatalf("RouteInfo(role/) = %+v, %v; want authenticated", info, ok)
	}
	if got := r.PathPatterns(); !slices.Equal(got, []string{"login", "role/?"}) {
		t.Fatalf("PathPatterns = %v", got)
	}
	if _, err := method.NewRouter("test", "", []*framework.Path{{Pattern: "("}}); err == nil {
		t.Fatal("a bad pattern compiled")
	}
}

func TestRemoteAddr(t *testing.T) {
	if got := method.RemoteAddr(&logical.Request{}); got != "" {
		t.Fatalf("no connection: %q", got)
	}
	if got := method.RemoteAddr(&logical.Request{Connection: &logical.Connection{RemoteAddr: "10.0.0.1"}}); got != "10.0.0.1" {
		t.Fatalf("RemoteAddr = %q", got)
	}
}
