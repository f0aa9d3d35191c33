package core

import (
	"context"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// keyPaths are the barrier key endpoints, and sys/metrics (whose
// Prometheus form server/api serves once this route has authorized it).
func (c sysHandlers) keyPaths() []*framework.Path {
	return []*framework.Path{
		{Pattern: "key-status", Operations: readOp(c.handleKeyStatus), HelpSynopsis: "The active barrier key term."},
		// rotate/keyring is OpenBao's name (bao operator rotate calls it).
		{Pattern: "rotate(/keyring)?", Operations: writeOp(c.handleRotate), HelpSynopsis: "Add a barrier key term."},
		{Pattern: "metrics", Operations: readOp(func(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
			return &logical.Response{}, nil
		}), HelpSynopsis: "Telemetry (Prometheus format with format=prometheus)."},
	}
}

func (c sysHandlers) handleKeyStatus(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
	ks, err := c.barrier.KeyStatus()
	if err != nil {
		return nil, fmt.Errorf("core: key status: %w", err)
	}
	return &logical.Response{Data: map[string]any{
		"term":         ks.Term,
		"install_time": ks.InstallTime.UTC().Format(time.RFC3339Nano),
		"encryptions":  ks.Encryptions,
	}}, nil
}

func (c sysHandlers) handleRotate(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	if _, err := c.barrier.Rotate(ctx); err != nil {
		return nil, fmt.Errorf("core: rotate barrier key: %w", err)
	}
	return nil, nil
}
