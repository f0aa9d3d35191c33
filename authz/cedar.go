package authz

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// Cedar entity types and the action groups of the model
// (../shared/DESIGN.md): a principal is its entity (User, Service) or its
// token; a resource is Secret::"<full path>" inside every path prefix; an
// action may belong to a group (write ⊃ create, update, patch).
const (
	TypeUser    = "User"
	TypeService = "Service"
	TypeToken   = "Token"
	TypeGroup   = "Group"
	TypeSecret  = "Secret"
	TypeAction  = "Action"
)

// actionGroups maps an action to the groups it belongs to.
var actionGroups = map[string][]string{
	"create": {"write"}, "update": {"write"}, "patch": {"write"},
}

// ErrBadPolicy is returned by Load for a document that does not parse;
// the message names the document and the position.
var ErrBadPolicy = errors.New("authz: bad policy")

// Cedar is the Authorizer of Cedar policies: default deny, forbid wins
// over permit, the root token bypasses. Its compiled policy set is swapped
// atomically by Load: a request sees the old set or the new one, never a
// mix. Safe for concurrent use.
type Cedar struct {
	set atomic.Pointer[cedar.PolicySet]
}

var _ Authorizer = (*Cedar)(nil)

// NewCedar returns a Cedar authorizer with no policies (everything but
// the root token is denied).
func NewCedar() *Cedar {
	c := &Cedar{}
	c.set.Store(cedar.NewPolicySet())
	return c
}

// Load compiles docs (document name → Cedar text) into one policy set and
// makes it current. A policy's id is its @id("...") annotation, else
// "<document>.<index>". On any error nothing changes.
func (c *Cedar) Load(docs map[string]string) error {
	ps := cedar.NewPolicySet()
	for _, name := range slices.Sorted(maps.Keys(docs)) {
		list, err := cedar.NewPolicyListFromBytes(name, []byte(docs[name]))
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadPolicy, name, err)
		}
		for i, p := range list {
			id := cedar.PolicyID(fmt.Sprintf("%s.%d", name, i))
			if v, ok := p.Annotations()["id"]; ok && v != "" {
				id = cedar.PolicyID(v)
			}
			if !ps.Add(id, p) {
				return fmt.Errorf("%w: %s: policy id %q is used twice", ErrBadPolicy, name, id)
			}
		}
	}
	c.set.Store(ps)
	return nil
}

// Authorize implements Authorizer.
func (c *Cedar) Authorize(_ context.Context, req *Request) (Decision, error) {
	if req.Principal.Root {
		return Decision{Allowed: true}, nil
	}
	creq, entities, err := cedarRequest(req)
	if err != nil {
		return Decision{}, err
	}
	ok, diag := cedar.Authorize(c.set.Load(), entities, creq)
	d := Decision{Allowed: bool(ok)}
	for _, r := range diag.Reasons {
		d.PolicyIDs = append(d.PolicyIDs, string(r.PolicyID))
	}
	for _, e := range diag.Errors {
		d.Errors = append(d.Errors, e.String())
	}
	if !d.Allowed {
		d.Reason = "permission denied"
		if len(d.PolicyIDs) > 0 {
			d.Reason = "forbidden by " + strings.Join(d.PolicyIDs, ", ")
		}
	}
	return d, nil
}

// MaxSegments is how many leading path segments a Secret's seg and rest
// attributes describe (a Vault HCL "+" beyond it cannot be compiled).
const MaxSegments = 32

// cedarRequest builds the Cedar request and the entities it needs.
//
// Attributes (authz/schema.cedarschema declares them):
//   - principal (User, Service, Token): policies (Set<String>, the
//     token's policy names), accessor, display_name; entity_id and name
//     for an entity; tags = Principal.Metadata.
//   - Group: name; tags = its metadata.
//   - resource Secret: path (the request path without a leading "/",
//     trailing "/" kept), depth (number of "/"-separated segments, a
//     trailing "/" counting an empty last one), seg.sN (segment N) and
//     rest.rN (segments N.. joined by "/") for N < MaxSegments.
//   - context: operation, mount_type, time, sudo (the route is
//     privileged), remote_addr, kv_path, ttl (the last three when known).
func cedarRequest(req *Request) (cedar.Request, cedar.EntityMap, error) {
	entities := cedar.EntityMap{}
	p := req.Principal
	principal := principalUID(p)
	var parents []types.EntityUID
	for g, up := range p.Groups {
		gid := types.NewEntityUID(TypeGroup, types.String(g))
		parents = append(parents, gid)
		ups := make([]types.EntityUID, len(up))
		for i, u := range up {
			ups[i] = types.NewEntityUID(TypeGroup, types.String(u))
		}
		entities[gid] = types.Entity{UID: gid, Parents: types.NewEntityUIDSet(ups...),
			Attributes: types.NewRecord(types.RecordMap{"name": types.String(g)}), Tags: tags(p.GroupMetadata[g])}
	}
	entities[principal] = types.Entity{UID: principal, Parents: types.NewEntityUIDSet(parents...),
		Attributes: principalAttributes(p), Tags: tags(p.Metadata)}
	resource := addSecret(entities, req.Path)
	act := req.Action
	if act == "" {
		act = req.Operation
	}
	action := types.NewEntityUID(TypeAction, types.String(act))
	var groups []types.EntityUID
	for _, g := range actionGroups[act] {
		groups = append(groups, types.NewEntityUID(TypeAction, types.String(g)))
	}
	entities[action] = types.Entity{UID: action, Parents: types.NewEntityUIDSet(groups...)}
	ctx, err := requestContext(req)
	if err != nil {
		return cedar.Request{}, nil, err
	}
	return cedar.Request{Principal: principal, Action: action, Resource: resource, Context: ctx}, entities, nil
}

func principalUID(p Principal) types.EntityUID {
	if p.EntityName == "" {
		return types.NewEntityUID(TypeToken, types.String(p.Accessor))
	}
	typ := p.EntityType
	if typ != TypeService {
		typ = TypeUser
	}
	return types.NewEntityUID(types.EntityType(typ), types.String(p.EntityName))
}

func principalAttributes(p Principal) types.Record {
	pols := make([]types.Value, len(p.Policies))
	for i, n := range p.Policies {
		pols[i] = types.String(n)
	}
	m := types.RecordMap{
		"policies":     types.NewSet(pols...),
		"accessor":     types.String(p.Accessor),
		"display_name": types.String(p.DisplayName),
	}
	if p.EntityName != "" {
		m["entity_id"] = types.String(p.EntityID)
		m["name"] = types.String(p.EntityName)
	}
	return types.NewRecord(m)
}

func tags(md map[string]string) types.Record {
	if len(md) == 0 {
		return types.Record{}
	}
	m := make(types.RecordMap, len(md))
	for k, v := range md {
		m[types.String(k)] = types.String(v)
	}
	return types.NewRecord(m)
}

// segKeys and restKeys are the attribute names of seg and rest.
var segKeys, restKeys = func() (s, r [MaxSegments]types.String) {
	for i := range MaxSegments {
		s[i] = types.String(fmt.Sprintf("s%d", i))
		r[i] = types.String(fmt.Sprintf("r%d", i))
	}
	return s, r
}()

// secretAttributes are the request resource's path, depth, seg and rest.
func secretAttributes(path string) types.Record {
	seg, rest := types.RecordMap{}, types.RecordMap{}
	depth, start := 0, 0
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		if depth < MaxSegments {
			seg[segKeys[depth]] = types.String(path[start:i])
			rest[restKeys[depth]] = types.String(path[start:])
		}
		depth++
		start = i + 1
	}
	return types.NewRecord(types.RecordMap{
		"path":  types.String(path),
		"depth": types.Long(depth),
		"seg":   types.NewRecord(seg),
		"rest":  types.NewRecord(rest),
	})
}

// addSecret adds Secret::"<path>" (its uid trimmed of slashes) with its
// attributes, and every prefix as its ancestors ("a/b/c" in "a/b" in
// "a"), and returns its uid.
func addSecret(entities cedar.EntityMap, path string) types.EntityUID {
	path = strings.TrimPrefix(path, "/")
	id := strings.Trim(path, "/")
	uid := types.NewEntityUID(TypeSecret, types.String(id))
	child := uid
	attrs := secretAttributes(path)
	for i := len(id) - 1; i > 0; i-- {
		if id[i] != '/' {
			continue
		}
		parent := types.NewEntityUID(TypeSecret, types.String(id[:i]))
		entities[child] = types.Entity{UID: child, Parents: types.NewEntityUIDSet(parent), Attributes: attrs}
		attrs = types.Record{}
		child = parent
	}
	if _, ok := entities[child]; !ok {
		entities[child] = types.Entity{UID: child, Parents: types.NewEntityUIDSet(), Attributes: attrs}
	}
	return uid
}

// requestContext is the Cedar context: operation, mount_type, time, sudo,
// remote_addr (an ipaddr, when known), kv_path and ttl (when known).
func requestContext(req *Request) (types.Record, error) {
	m := types.RecordMap{
		"operation":  types.String(req.Operation),
		"mount_type": types.String(req.MountType),
		"time":       types.NewDatetime(req.Time),
		"sudo":       types.Boolean(req.Sudo),
	}
	if req.RemoteAddr != "" {
		ip, err := types.ParseIPAddr(req.RemoteAddr)
		if err != nil {
			return types.Record{}, fmt.Errorf("authz: remote address %q: %w", req.RemoteAddr, err)
		}
		m["remote_addr"] = ip
	}
	if req.KVPath != "" {
		m["kv_path"] = types.String(req.KVPath)
	}
	if req.HasTTL {
		m["ttl"] = types.NewDuration(req.TTL)
	}
	return types.NewRecord(m), nil
}
