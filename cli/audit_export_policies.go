package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/secretumvault/secretumvault/client"
)

// rotationPoliciesPath is where the server lists its rotation policies:
// the export includes each as policies/rotation/NAME.json with its run
// history as policies/rotation/NAME.history.json, and skips them,
// silently, when the list answers 404 (none).
const rotationPoliciesPath = "sys/rotation/policies"

// exportPolicies reads the policies in force, keyed by bundle file name:
// Cedar policies as policies/cedar/NAME.cedar, ACL policies as
// policies/acl/NAME.hcl with the Cedar the server compiled them to as
// policies/acl/NAME.cedar, and rotation policies (exportRotationPolicies).
// NAME is path-escaped. A policy listed but gone when read is skipped.
func exportPolicies(ctx context.Context, cl *client.Client, warn io.Writer) (map[string][]byte, error) {
	out := map[string][]byte{}
	sys := cl.Sys()
	cedar, err := sys.ListCedarPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing policies: %w", err)
	}
	for _, name := range cedar {
		p, err := sys.GetCedarPolicy(ctx, name)
		if err != nil {
			if errors.Is(err, client.ErrNotFound) {
				continue
			}
			return nil, fmt.Errorf("reading policies: %w", err)
		}
		out["policies/cedar/"+url.PathEscape(name)+".cedar"] = []byte(p.Policy)
	}
	acl, err := sys.ListACLPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing policies: %w", err)
	}
	for _, name := range acl {
		p, err := sys.GetACLPolicy(ctx, name)
		if err != nil {
			if errors.Is(err, client.ErrNotFound) {
				continue
			}
			return nil, fmt.Errorf("reading policies: %w", err)
		}
		out["policies/acl/"+url.PathEscape(name)+".hcl"] = []byte(p.Policy)
		if p.Cedar != "" {
			out["policies/acl/"+url.PathEscape(name)+".cedar"] = []byte(p.Cedar)
		}
	}
	if err := exportRotationPolicies(ctx, cl, out, warn); err != nil {
		return nil, err
	}
	return out, nil
}

// exportRotationPolicies adds the rotation policies and their history to out, each as
// the JSON of its data. A 404 is no rotation policy; a 403 (a token that
// may not list them) is a warning, as the server may not have them at all.
func exportRotationPolicies(ctx context.Context, cl *client.Client, out map[string][]byte, warn io.Writer) error {
	list, err := cl.List(ctx, rotationPoliciesPath)
	switch {
	case errors.Is(err, client.ErrNotFound):
		return nil
	case errors.Is(err, client.ErrPermissionDenied):
		fmt.Fprintf(warn, "Warning: not permitted to list %s: the bundle holds no rotation policy\n", rotationPoliciesPath)
		return nil
	case err != nil:
		return fmt.Errorf("listing rotation policies: %w", err)
	}
	for _, name := range list.Keys() {
		s, err := cl.Read(ctx, rotationPoliciesPath+"/"+name, nil)
		if err != nil {
			return fmt.Errorf("reading rotation policy %s: %w", name, err)
		}
		if s == nil {
			return fmt.Errorf("reading rotation policy %s: the answer carries no data", name)
		}
		b, err := json.MarshalIndent(s.Data, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding rotation policy %s: %w", name, err)
		}
		out["policies/rotation/"+url.PathEscape(name)+".json"] = append(b, '\n')
		h, err := cl.Read(ctx, rotationPoliciesPath+"/"+name+"/history", nil)
		if err != nil {
			return fmt.Errorf("reading the history of rotation policy %s: %w", name, err)
		}
		if h != nil {
			if b, err = json.MarshalIndent(h.Data, "", "  "); err != nil {
				return fmt.Errorf("encoding the history of rotation policy %s: %w", name, err)
			}
			out["policies/rotation/"+url.PathEscape(name)+".history.json"] = append(b, '\n')
		}
	}
	return nil
}
