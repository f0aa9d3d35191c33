package core

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
)

// explainPaths are sys/authz/explain (why a request is allowed or denied)
// and Vault's capabilities endpoints, all answered from the policy set.
// They read permissions, so their Cedar action is "read".
func (c sysHandlers) explainPaths() []*framework.Path {
	who := map[string]*framework.FieldSchema{
		"token":       {Type: framework.TypeString, Description: "Explain for this token instead of the caller's."},
		"accessor":    {Type: framework.TypeString, Description: "Explain for the token with this accessor."},
		"entity_id":   {Type: framework.TypeString, Description: "Explain for this identity entity (its identity policies)."},
		"entity_name": {Type: framework.TypeString, Description: "Explain for the identity entity of this name."},
	}
	explain := map[string]*framework.FieldSchema{
		"path":        {Type: framework.TypeString, Required: true, Description: "The request path (after /v1/)."},
		"operation":   {Type: framework.TypeString, Default: "read", Description: "read, list, create, update, patch or delete."},
		"remote_addr": {Type: framework.TypeString, Description: "The client address to assume (default: the caller's)."},
		"ttl":         {Type: framework.TypeString, Description: "The ttl parameter the request would send."},
	}
	for k, v := range who {
		explain[k] = v
	}
	caps := map[string]*framework.FieldSchema{
		"token":    {Type: framework.TypeString},
		"accessor": {Type: framework.TypeString},
		"path":     {Type: framework.TypeStringSlice, Description: "Deprecated: one path."},
		"paths":    {Type: framework.TypeStringSlice, Description: "The paths to report on."},
	}
	read := map[logical.Operation]string{logical.UpdateOperation: "read"}
	return []*framework.Path{
		{Pattern: "authz/explain", Fields: explain, Actions: read, Operations: writeOp(c.handleExplain), HelpSynopsis: "Why a request would be allowed or denied."},
		{Pattern: "capabilities", Fields: caps, Actions: read, Operations: writeOp(c.capabilitiesHandler("token")), HelpSynopsis: "A token's capabilities on paths."},
		{Pattern: "capabilities-self", Fields: caps, Actions: read, Operations: writeOp(c.capabilitiesHandler("self")), HelpSynopsis: "The caller's capabilities on paths."},
		{Pattern: "capabilities-accessor", Fields: caps, Actions: read, Operations: writeOp(c.capabilitiesHandler("accessor")), HelpSynopsis: "Capabilities of the token with an accessor on paths."},
	}
}

// subject resolves whom an explain or capabilities request is about: a
// token, an accessor's token, an entity, or the caller. Asking about
// anyone but oneself needs sudo on the asking path.
func (c sysHandlers) subject(ctx context.Context, st *activeState, req *logical.Request, d *framework.FieldData) (*token.Entry, error) {
	caller := token.CallerFromContext(ctx)
	var te *token.Entry
	var err error
	switch {
	case d.String("token") != "":
		te, err = st.tokens.Lookup(ctx, d.String("token"))
	case d.String("accessor") != "":
		te, err = st.tokens.LookupAccessor(ctx, d.String("accessor"))
	case d.String("entity_id") != "" || d.String("entity_name") != "":
		te, err = c.entitySubject(st, d.String("entity_id"), d.String("entity_name"))
	default:
		return caller, nil
	}
	if err != nil {
		return nil, err
	}
	if caller == nil || te.Accessor != caller.Accessor || te.EntityID != caller.EntityID {
		if err := c.requireSudo(ctx, st, caller, req); err != nil {
			return nil, err
		}
	}
	return te, nil
}

// entitySubject is a token-less stand-in for an entity: its principal
// with the identity policies alone.
func (c sysHandlers) entitySubject(st *activeState, id, name string) (*token.Entry, error) {
	if st.identity == nil {
		return nil, logical.InvalidRequest("entity_id", "no identity store")
	}
	if id == "" {
		var ok bool
		if id, ok = st.identity.EntityID(name); !ok {
			return nil, logical.InvalidRequest("entity_name", "no entity named %q", name)
		}
	}
	if _, ok := st.identity.Principal(id); !ok {
		return nil, logical.InvalidRequest("entity_id", "no entity with id %q", id)
	}
	return &token.Entry{EntityID: id, DisplayName: "entity"}, nil
}

// requireSudo: the caller may ask about others only with sudo on the
// path it asks through (the root token always may).
func (c sysHandlers) requireSudo(ctx context.Context, st *activeState, caller *token.Entry, req *logical.Request) error {
	if caller == nil {
		return logical.ErrPermissionDenied
	}
	full := sysMountPath + req.Path
	tgt := &target{backend: c.sys, mount: sysMountPath, typ: sysMountType, info: logical.RouteInfo{Sudo: true}}
	var areq authz.Request
	c.authzRequest(ctx, &areq, principalOf(st, caller), tgt, &logical.Request{Operation: logical.UpdateOperation, Connection: req.Connection}, full)
	areq.Time = c.cfg.Now()
	d, err := c.authorizerOf(st).Authorize(ctx, &areq)
	if err != nil {
		return fmt.Errorf("core: authorize: %w", err)
	}
	if !d.Allowed {
		return fmt.Errorf("%w: asking about another token or entity needs sudo on %s", logical.ErrPermissionDenied, full)
	}
	return nil
}

// authorizerOf is the pipeline's authorizer.
func (c *Core) authorizerOf(st *activeState) authz.Authorizer {
	if c.authorizer != nil {
		return c.authorizer
	}
	return st.policies
}

// describe is the route a request for path and op would take, as the
// pipeline resolves it; an unknown path gets an empty route (no mount).
func (c *Core) describe(st *activeState, path string, op logical.Operation) *target {
	call := &pipelineCall{}
	tgt, err := c.resolve(call, st, &logical.Request{Path: path, Operation: op})
	if err != nil {
		return &target{}
	}
	return tgt
}

// question builds the authorization question of op on path by te.
func (c *Core) question(ctx context.Context, st *activeState, te *token.Entry, path string, op logical.Operation, conn *logical.Connection, data map[string]any) *authz.Request {
	path = strings.TrimPrefix(path, "/")
	tgt := c.describe(st, path, op)
	var areq authz.Request
	c.authzRequest(ctx, &areq, principalOf(st, te), tgt, &logical.Request{Operation: op, Connection: conn, Data: data}, path)
	areq.Time = c.cfg.Now()
	return &areq
}

var explainOps = map[string]logical.Operation{
	"read": logical.ReadOperation, "list": logical.ListOperation, "create": logical.CreateOperation,
	"update": logical.UpdateOperation, "patch": logical.PatchOperation, "delete": logical.DeleteOperation,
}

func (c sysHandlers) handleExplain(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	st, err := c.state()
	if err != nil {
		return nil, err
	}
	op, ok := explainOps[d.String("operation")]
	if !ok {
		return nil, logical.InvalidRequest("operation", "unknown operation %q (read, list, create, update, patch, delete)", d.String("operation"))
	}
	te, err := c.subject(ctx, st, req, d)
	if err != nil {
		return nil, err
	}
	conn := req.Connection
	if a := d.String("remote_addr"); a != "" {
		conn = &logical.Connection{RemoteAddr: a}
	}
	var data map[string]any
	if ttl := d.String("ttl"); ttl != "" {
		data = map[string]any{"ttl": ttl}
	}
	areq := c.question(ctx, st, te, d.String("path"), op, conn, data)
	x, err := c.explain(ctx, st, areq)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: explanationData(x, st)}, nil
}

// explain explains with the policy set, or reports the configured
// authorizer's bare decision.
func (c *Core) explain(ctx context.Context, st *activeState, areq *authz.Request) (authz.Explanation, error) {
	if c.authorizer == nil {
		x, err := st.policies.authorizer().Explain(ctx, areq)
		if err != nil {
			return x, fmt.Errorf("%w: %v", logical.ErrInvalidRequest, err)
		}
		return x, nil
	}
	dec, err := c.authorizer.Authorize(ctx, areq)
	return authz.Explanation{Allowed: dec.Allowed, PolicyIDs: dec.PolicyIDs, Errors: dec.Errors, Reason: dec.Reason}, err
}

func explanationData(x authz.Explanation, st *activeState) map[string]any {
	policies := make([]map[string]any, 0, len(x.PolicyIDs))
	for _, id := range x.PolicyIDs {
		text, _ := st.policies.authorizer().Policy(id)
		policies = append(policies, map[string]any{"id": id, "text": text})
	}
	return map[string]any{
		"allowed": x.Allowed, "reason": x.Reason, "policy_ids": nonNil(x.PolicyIDs), "policies": policies,
		"principal": x.Principal, "groups": nonNil(x.Groups), "action": x.Action, "resource": x.Resource,
		"context": x.Context, "errors": nonNil(x.Errors), "considered": x.Considered,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// capabilityOps are the operations a capability list reports.
var capabilityOps = []logical.Operation{logical.CreateOperation, logical.ReadOperation, logical.UpdateOperation,
	logical.PatchOperation, logical.DeleteOperation, logical.ListOperation}

func (c sysHandlers) capabilitiesHandler(mode string) framework.OperationHandler {
	return func(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
		st, err := c.state()
		if err != nil {
			return nil, err
		}
		te, err := c.capabilitiesSubject(ctx, st, req, d, mode)
		if err != nil {
			return nil, err
		}
		paths := append(d.StringSlice("paths"), d.StringSlice("path")...)
		if len(paths) == 0 {
			return nil, logical.InvalidRequest("paths", "missing paths")
		}
		data := map[string]any{}
		var all []string
		for _, p := range paths {
			caps, err := c.capabilities(ctx, st, te, p, req.Connection)
			if err != nil {
				return nil, err
			}
			data[p] = caps
			all = caps
		}
		if len(paths) == 1 {
			data["capabilities"] = all
		}
		return &logical.Response{Data: data}, nil
	}
}

func (c sysHandlers) capabilitiesSubject(ctx context.Context, st *activeState, req *logical.Request, d *framework.FieldData, mode string) (*token.Entry, error) {
	switch mode {
	case "token":
		if d.String("token") == "" {
			return nil, logical.InvalidRequest("token", "missing token")
		}
		return c.subject(ctx, st, req, d)
	case "accessor":
		if d.String("accessor") == "" {
			return nil, logical.InvalidRequest("accessor", "missing accessor")
		}
		return c.subject(ctx, st, req, d)
	}
	if raw := d.String("token"); raw != "" {
		// capabilities-self with a token is Vault's: the token is the caller's.
		return st.tokens.Lookup(ctx, raw)
	}
	return token.CallerFromContext(ctx), nil
}

// capabilities lists what te may do on path, as Vault reports it: "root"
// for a root token, the operations its policies allow (plus "sudo" when
// they allow a privileged request there), else "deny".
func (c *Core) capabilities(ctx context.Context, st *activeState, te *token.Entry, path string, conn *logical.Connection) ([]string, error) {
	if te.IsRoot() {
		return []string{"root"}, nil
	}
	az := c.authorizerOf(st)
	var caps []string
	sudo := false
	for _, op := range capabilityOps {
		areq := c.question(ctx, st, te, path, op, conn, nil)
		routeSudo := areq.Sudo
		d, err := az.Authorize(ctx, areq)
		if err != nil {
			return nil, fmt.Errorf("core: authorize: %w", err)
		}
		if d.Allowed {
			caps = append(caps, string(op))
			sudo = sudo || routeSudo
		}
		if !sudo && !routeSudo {
			areq.Sudo, areq.Action = true, "sudo"
			if d, err := az.Authorize(ctx, areq); err == nil && d.Allowed {
				sudo = true
			}
		}
	}
	if sudo {
		caps = append(caps, "sudo")
	}
	if len(caps) == 0 {
		return []string{"deny"}, nil
	}
	slices.Sort(caps) // Vault's order
	return caps, nil
}
