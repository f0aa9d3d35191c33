package framework

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Secret declares one kind of leased secret an engine returns (Vault's
// framework.Secret): the handlers the expiration manager's renew and
// revoke requests reach. A response carrying such a secret sets
// logical.Secret.Type to Type and InternalData to what the handlers need.
type Secret struct {
	// Type names the kind of secret ("creds").
	Type string
	// Renew extends the secret on the server it lives on and answers a
	// Response whose Secret carries the TTL granted (nil: not renewable).
	// The request's Secret holds the lease's InternalData, TTL and
	// IssueTime.
	Renew OperationHandler
	// Revoke removes the secret (a database user, a certificate's
	// validity); it must succeed when the secret is already gone.
	Revoke OperationHandler
}

// handleSecret serves a renew or revoke request by the declared Secret of
// its type.
func (b *Backend) handleSecret(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	if req.Secret == nil {
		return nil, fmt.Errorf("%w: %s without a secret", logical.ErrInvalidRequest, req.Operation)
	}
	for _, s := range b.Secrets {
		if s.Type != req.Secret.Type {
			continue
		}
		h := s.Revoke
		if req.Operation == logical.RenewOperation {
			h = s.Renew
		}
		if h == nil {
			return nil, fmt.Errorf("%w: %s of a %q secret", logical.ErrUnsupportedOperation, req.Operation, s.Type)
		}
		return h(ctx, req, &FieldData{Raw: map[string]any{}, Schema: map[string]*FieldSchema{}})
	}
	return nil, fmt.Errorf("%w: no secret type %q", logical.ErrUnsupportedOperation, req.Secret.Type)
}
