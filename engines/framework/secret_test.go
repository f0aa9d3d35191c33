package framework_test

import (
	"context"
	"errors"
	"testing"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestSecretHandlers(t *testing.T) {
	var got []string
	handler := func(name string) framework.OperationHandler {
		return func(_ context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
			got = append(got, name+":"+req.Secret.InternalData["user"].(string))
			return &logical.Response{Secret: &logical.Secret{TTL: req.Secret.TTL * 2}}, nil
		}
	}
	b := &framework.Backend{Secrets: []*framework.Secret{
		{Type: "creds", Renew: handler("renew"), Revoke: handler("revoke")},
		{Type: "fixed", Revoke: handler("revoke-fixed")},
	}}
	sec := &logical.Secret{Type: "creds", TTL: 5, InternalData: map[string]any{"user": "u1"}}
	resp, err := b.HandleRequest(context.Background(), &logical.Request{Operation: logical.RenewOperation, Path: "creds/r", Secret: sec})
	if err != nil || resp.Secret.TTL != 10 {
		t.Fatalf("renew = %+v, %v", resp, err)
	}
	if _, err := b.HandleRequest(context.Background(), &logical.Request{Operation: logical.RevokeOperation, Path: "creds/r", Secret: sec}); err != nil {
		t.Fatal(err)
	}
	fixed := &logical.Secret{Type: "fixed", InternalData: map[string]any{"user": "u2"}}
	for _, tc := range []struct {
		name string
		req  *logical.Request
		want error
	}{
		{"renew of a type without Renew", &logical.Request{Operation: logical.RenewOperation, Secret: fixed}, logical.ErrUnsupportedOperation},
		{"unknown type", &logical.Request{Operation: logical.RevokeOperation, Secret: &logical.Secret{Type: "nope"}}, logical.ErrUnsupportedOperation},
		{"no secret", &logical.Request{Operation: logical.RevokeOperation}, logical.ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := b.HandleRequest(context.Background(), tc.req); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if len(got) != 2 || got[0] != "renew:u1" || got[1] != "revoke:u1" {
		t.Fatalf("handlers ran: %v", got)
	}
}
