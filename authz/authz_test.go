package authz_test

import (
	"context"
	"testing"

	"github.com/secretumvault/secretumvault/authz"
)

func TestInterim(t *testing.T) {
	tests := []struct {
		name    string
		req     authz.Request
		allowed bool
	}{
		{"root on a sudo path", authz.Request{Principal: authz.Principal{Root: true}, Path: "sys/mounts/x", Operation: "update", Sudo: true}, true},
		{"root on a plain path", authz.Request{Principal: authz.Principal{Root: true}, Path: "secret/data/a", Operation: "read"}, true},
		{"token on a sudo path", authz.Request{Principal: authz.Principal{Policies: []string{"default"}}, Path: "sys/mounts/x", Operation: "update", Sudo: true}, false},
		{"token on a plain path", authz.Request{Principal: authz.Principal{Policies: []string{"default"}}, Path: "secret/data/a", Operation: "update"}, true},
		{"token reading sys", authz.Request{Principal: authz.Principal{Policies: []string{"default"}}, Path: "sys/mounts", Operation: "read"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := authz.Interim{}.Authorize(context.Background(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.allowed {
				t.Fatalf("Allowed = %v, want %v", d.Allowed, tt.allowed)
			}
			if !d.Allowed && d.Reason == "" {
				t.Fatal("a denial must say why")
			}
		})
	}
}
