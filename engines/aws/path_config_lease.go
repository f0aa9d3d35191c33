package aws

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathConfigLease() *framework.Path {
	return &framework.Path{
		Pattern: `config/lease`,
		Fields: map[string]*framework.FieldSchema{
			"lease":     {Type: framework.TypeString, Description: "Default lease of iam_user credentials."},
			"lease_max": {Type: framework.TypeString, Description: "Maximum lease of iam_user credentials."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleLeaseRead,
			logical.UpdateOperation: b.handleLeaseWrite,
		},
		HelpSynopsis: "Configure the default lease information for generated credentials.",
	}
}

func (b *Backend) handleLeaseRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	l, err := loadLease(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fmt.Errorf("aws: %s: %w", leaseConfigKey, logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"lease": l.Lease.String(), "lease_max": l.LeaseMax.String()}}, nil
}

// handleLeaseWrite stores both durations, which Vault requires.
func (b *Backend) handleLeaseWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var l leaseConfig
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"lease", (*int64)(&l.Lease)}, {"lease_max", (*int64)(&l.LeaseMax)}} {
		raw := d.String(f.name)
		if raw == "" {
			return nil, logical.InvalidRequest(f.name, "'%s' is a required parameter", f.name)
		}
		v, err := framework.ParseDuration(raw)
		if err != nil || v < 0 {
			return nil, logical.InvalidRequest(f.name, "Invalid %s: %q is not a duration", f.name, raw)
		}
		*f.dst = int64(v)
	}
	return nil, putJSON(ctx, req.Storage, leaseConfigKey, &l)
}
