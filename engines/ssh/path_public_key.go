package ssh

import (
	"context"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathPublicKey() *framework.Path {
	return &framework.Path{
		Pattern:         `public_key`,
		Operations:      map[logical.Operation]framework.OperationHandler{logical.ReadOperation: b.handlePublicKey},
		Unauthenticated: true,
		HelpSynopsis:    "The CA public keys (current first, then rotated-out keys still in use), as plain-text authorized_keys lines for sshd's TrustedUserCAKeys.",
	}
}

// handlePublicKey answers the CA's public keys as text/plain, one
// authorized_keys line each, current first, then the keys a rotation
// replaced while certificates they signed may still be valid (sshd's
// TrustedUserCAKeys trusts every line). It ends in a newline so that it
// can be written to a file as is.
func (b *Backend) handlePublicKey(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	ca, err := loadCA(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if ca == nil {
		return nil, fmt.Errorf("ssh: no CA key configured: %w", logical.ErrNotFound)
	}
	return &logical.Response{Binary: &logical.Binary{
		ContentType: "text/plain",
		Data:        []byte(strings.Join(ca.published(b.now()), "\n") + "\n"),
	}}, nil
}
