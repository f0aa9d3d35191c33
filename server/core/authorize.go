package core

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
)

// authzRequest fills areq, the authorization question of a request by
// principal p to the route tgt (Time is the caller's to set).
func (c *Core) authzRequest(ctx context.Context, areq *authz.Request, p authz.Principal, tgt *target, req *logical.Request, full string) {
	*areq = authz.Request{
		Principal: p,
		Operation: string(req.Operation),
		Action:    routeAction(tgt.info, req.Operation),
		Path:      full,
		MountType: tgt.typ,
		Sudo:      tgt.info.Sudo,
		KVPath:    kvPath(tgt, full),
	}
	if req.Connection != nil {
		areq.RemoteAddr = req.Connection.RemoteAddr
	}
	areq.TTL, areq.HasTTL = requestTTL(ctx, tgt, req, full)
}

// routeAction is the Cedar action of an operation on a route: the one the
// route declares, "sudo" for a privileged route that declares none, else
// the operation itself.
func routeAction(info logical.RouteInfo, op logical.Operation) string {
	switch {
	case info.Action != "":
		return info.Action
	case info.Sudo:
		return "sudo"
	}
	return string(op)
}

// entityOf is the identity of te's entity, if it has one.
func entityOf(st *activeState, te *token.Entry) (identityPrincipal, bool) {
	if te.EntityID == "" || st == nil || st.identity == nil {
		return identityPrincipal{}, false
	}
	return st.identity.Principal(te.EntityID)
}

// principalOf is the token's principal: its entity (name, type, groups,
// metadata) when it has one, and the policies of the token, the entity
// and its groups together (Vault's identity policies).
func principalOf(st *activeState, te *token.Entry) authz.Principal {
	ip, ok := entityOf(st, te)
	return principalWith(te, ip, ok)
}

// principalWith is principalOf with the entity already looked up.
func principalWith(te *token.Entry, ip identityPrincipal, hasEntity bool) authz.Principal {
	p := authz.Principal{
		Root: te.IsRoot(), Accessor: te.Accessor, EntityID: te.EntityID,
		DisplayName: te.DisplayName, Policies: te.Policies, Metadata: te.Meta,
	}
	if !hasEntity {
		return p
	}
	p.EntityName, p.EntityType = ip.Name, ip.Type
	p.Groups, p.GroupMetadata, p.Metadata = ip.Groups, ip.GroupMetadata, ip.Metadata
	if len(ip.Policies) > 0 {
		p.Policies = mergePolicies(te.Policies, ip.Policies)
	}
	return p
}

// mergePolicies is a ∪ b, in order, without duplicates.
func mergePolicies(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	out = append(out, a...)
	for _, n := range b {
		if !slices.Contains(a, n) {
			out = append(out, n)
		}
	}
	return out
}

// kvSegments are the first segments of a KV v2 path that precede the
// secret's own path.
var kvSegments = map[string]bool{"data": true, "metadata": true, "delete": true, "undelete": true, "destroy": true, "subkeys": true}

// kvPath is a KV v2 request's secret path without its data/ (metadata/,
// ...) segment, or "".
func kvPath(tgt *target, full string) string {
	if tgt.typ != "kv" {
		return ""
	}
	seg, rest, _ := strings.Cut(relativePath(full, tgt.mount), "/")
	if !kvSegments[seg] {
		return ""
	}
	return rest
}

// requestTTL is the TTL a request asks for (its ttl parameter) or, when
// it sends none, the one the backend says it will grant.
func requestTTL(ctx context.Context, tgt *target, req *logical.Request, full string) (time.Duration, bool) {
	if v, ok := req.Data["ttl"]; ok {
		if d, err := framework.ParseDuration(v); err == nil {
			return d, true
		}
		return 0, false
	}
	g, ok := tgt.backend.(logical.TTLGranter)
	if !ok {
		return 0, false
	}
	probe := *req
	tgt.bind(&probe, full)
	d, ok, err := g.GrantTTL(ctx, &probe)
	if err != nil || !ok {
		return 0, false
	}
	return d, true
}

// identityPrincipal is what the identity store tells the pipeline about
// an entity.
type identityPrincipal struct {
	Name, Type    string
	Disabled      bool
	Metadata      map[string]string
	Policies      []string
	Groups        map[string][]string
	GroupMetadata map[string]map[string]string
}

// identitySource resolves entity ids for the pipeline (the identity
// store of the active node).
type identitySource interface {
	Principal(entityID string) (identityPrincipal, bool)
	// EntityID resolves an entity name.
	EntityID(name string) (string, bool)
}

// hasSudo reports whether the request's caller may make it as a
// privileged request (Vault's sudo capability on the path): for token
// store checks such as creating orphans.
func (c *Core) hasSudo(ctx context.Context, call *pipelineCall) bool {
	st, err := c.state()
	if err != nil {
		return false
	}
	probe := call.areq
	probe.Sudo, probe.Action = true, "sudo"
	d, err := c.authorizerOf(st).Authorize(ctx, &probe)
	return err == nil && d.Allowed
}
