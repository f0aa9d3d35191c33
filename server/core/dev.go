package core

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// InitializeDev prepares a dev node: init with one key share, unseal,
// kv-v2 at secret/. With rootTokenID set, the root token is that id (as
// Vault's -dev-root-token-id). It returns the unseal key (hex) and root token.
func (c *Core) InitializeDev(ctx context.Context, rootTokenID string) (unsealKey, rootToken string, err error) {
	res, err := c.Initialize(ctx, &InitParams{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return "", "", err
	}
	key, err := hex.DecodeString(res.Keys[0])
	if err != nil {
		return "", "", fmt.Errorf("core: dev key: %w", err)
	}
	if _, err := c.Unseal(ctx, key); err != nil {
		return "", "", err
	}
	rootToken = res.RootToken
	if rootTokenID != "" {
		resp, err := c.HandleRequest(ctx, &logical.Request{
			Operation: logical.UpdateOperation, Path: "auth/token/create", ClientToken: rootToken,
			Data: map[string]any{"id": rootTokenID, "policies": []string{"root"}, "no_parent": true, "display_name": "root"},
		})
		if err != nil {
			return "", "", fmt.Errorf("core: dev root token: %w", err)
		}
		rootToken = resp.Auth.ClientToken
		st, err := c.state()
		if err != nil {
			return "", "", err
		}
		if err := st.tokens.Revoke(ctx, res.RootToken); err != nil {
			return "", "", fmt.Errorf("core: revoke generated root token: %w", err)
		}
	}
	_, err = c.HandleRequest(ctx, &logical.Request{
		Operation: logical.UpdateOperation, Path: "sys/mounts/secret", ClientToken: rootToken,
		Data: map[string]any{"type": "kv-v2", "description": "key/value secret storage"},
	})
	if err != nil {
		return "", "", fmt.Errorf("core: dev mount secret/: %w", err)
	}
	return res.Keys[0], rootToken, nil
}
