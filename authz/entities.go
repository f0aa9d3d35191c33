package authz

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// MaxSegments is how many leading path segments a Secret's seg and rest
// attributes describe (a Vault HCL "+" beyond it cannot be compiled).
const MaxSegments = 32

// needs says which attributes the current policy set reads, decided at
// Load by walking every policy (an attribute is only ever read by name:
// .name, ["name"] or has name). An attribute no policy reads cannot change
// a decision, so Authorize does not build it; Explain builds everything.
type needs struct {
	attrs map[string]bool
	tags  bool
	// context: some policy uses the context record as a whole (not only
	// context.name or context has name), so every attribute is built.
	context bool
	all     bool
	// cx is which context attributes to build (withContext computes it).
	cx contextWants
}

// contextWants says, for each context attribute, whether to build it.
type contextWants struct {
	operation, mountType, time, sudo, remoteAddr, kvPath, ttl bool
}

// withContext is n with cx computed.
func (n needs) withContext() needs {
	n.cx = contextWants{operation: n.ctx("operation"), mountType: n.ctx("mount_type"), time: n.ctx("time"),
		sudo: n.ctx("sudo"), remoteAddr: n.ctx("remote_addr"), kvPath: n.ctx("kv_path"), ttl: n.ctx("ttl")}
	return n
}

// allNeeds builds every attribute and tag.
var allNeeds = needs{all: true}.withContext()

func (n needs) attr(name string) bool { return n.all || n.attrs[name] }

func (n needs) anyTags() bool { return n.all || n.tags }

func (n needs) ctx(name string) bool { return n.all || n.context || n.attrs[name] }

// shape is a request's entity uids: what the index looks up and the
// entities are built from.
type shape struct {
	principal types.EntityUID
	// groups are every group the principal is in, directly or not.
	groups       []types.EntityUID
	action       types.EntityUID
	actionEntity types.Entity
	// actionGroups are the action's groups (write for create ...).
	actionGroups []types.EntityUID
	// resource is Secret::"<path trimmed of slashes>"; its ancestors are
	// every prefix of its id that ends before a "/".
	resource types.EntityUID
	// path is the resource path without a leading "/".
	path string
}

// noParents is the empty parent set, shared (sets are immutable).
var noParents = types.NewEntityUIDSet()

// action is an Action entity of the model and its groups.
type action struct {
	entity types.Entity
	groups []types.EntityUID
}

// actions are the Action entities of the model, made once.
var actions = func() map[string]action {
	m := map[string]action{}
	for _, a := range []string{"read", "list", "create", "update", "patch", "delete", "generate", "rotate", "renew", "revoke", "sudo", "write"} {
		m[a] = newAction(a)
	}
	return m
}()

func newAction(name string) action {
	var groups []types.EntityUID
	for _, g := range actionGroups[name] {
		groups = append(groups, types.NewEntityUID(TypeAction, types.String(g)))
	}
	parents := noParents
	if len(groups) > 0 {
		parents = types.NewEntityUIDSet(groups...)
	}
	return action{entity: types.Entity{UID: types.NewEntityUID(TypeAction, types.String(name)), Parents: parents}, groups: groups}
}

// lookupAction is the Action entity of name.
func lookupAction(name string) action {
	if a, ok := actions[name]; ok {
		return a
	}
	return newAction(name)
}

// newShape computes the uids of req (not root), whose principal's
// entities are part.
func newShape(req *Request, part *principalPart) shape {
	s := shape{principal: part.uid, groups: part.groups}
	act := req.Action
	if act == "" {
		act = req.Operation
	}
	a := lookupAction(act)
	s.actionEntity, s.action, s.actionGroups = a.entity, a.entity.UID, a.groups
	s.path = strings.TrimLeft(req.Path, "/")
	s.resource = types.NewEntityUID(TypeSecret, types.String(strings.Trim(s.path, "/")))
	return s
}

// isAncestor reports whether Secret::"<a>" is an ancestor of
// Secret::"<id>": a is a non-empty prefix of id ending before a "/".
func isAncestor(a, id types.String) bool {
	return len(a) > 0 && len(a) < len(id) && id[len(a)] == '/' && id[:len(a)] == a
}

// ancestors is the parent set of Secret::"<id>": every ancestor, so that
// "resource in Secret::..." is answered without walking the chain.
func ancestors(id types.String) types.EntityUIDSet {
	var list []types.EntityUID
	for i := len(id) - 1; i > 0; i-- {
		if id[i] == '/' {
			list = append(list, types.NewEntityUID(TypeSecret, id[:i]))
		}
	}
	if len(list) == 0 {
		return noParents
	}
	return types.NewEntityUIDSet(list...)
}

// groupUIDs are the keys and the values of groups, each once.
func groupUIDs(groups map[string][]string) []types.EntityUID {
	if len(groups) == 0 {
		return nil
	}
	out := make([]types.EntityUID, 0, 2*len(groups))
	add := func(g string) {
		uid := types.NewEntityUID(TypeGroup, types.String(g))
		if !slices.Contains(out, uid) {
			out = append(out, uid)
		}
	}
	for g, up := range groups {
		add(g)
		for _, u := range up {
			add(u)
		}
	}
	return out
}

// principalPart is the principal's entity subgraph: the principal (its
// parents every group it is in) and its groups, and the policies whose
// principal scope and binding can match it. Immutable once built, so the
// cache shares it between requests.
type principalPart struct {
	uid types.EntityUID
	// groups are every group the principal is in, directly or not.
	groups []types.EntityUID
	entity types.Entity
	// groupEntities are the groups of Principal.Groups.
	groupEntities []types.Entity
	bits          bitset
}

// builder builds a request's entities with the attributes needs says,
// from caches when not nil.
type builder struct {
	needs  needs
	caches *caches
	index  *index
}

// principal is p's part.
func (b builder) principal(p *Principal) *principalPart {
	if b.caches == nil {
		return b.newPrincipalPart(p)
	}
	return b.caches.principalPart(p, b.newPrincipalPart)
}

func (b builder) newPrincipalPart(p *Principal) *principalPart {
	pp := &principalPart{uid: principalUID(p), groups: groupUIDs(p.Groups)}
	pp.entity = types.Entity{UID: pp.uid, Parents: noParents, Attributes: principalAttributes(p, b.needs)}
	if len(pp.groups) > 0 {
		pp.entity.Parents = types.NewEntityUIDSet(pp.groups...)
	}
	if b.needs.anyTags() {
		pp.entity.Tags = tags(p.Metadata)
	}
	pp.groupEntities = groupEntities(p, b.needs)
	pp.bits = b.index.principalBits(pp.uid, pp.groups, p.Policies)
	return pp
}

// entities is the EntityGetter of one request: a handful of entities
// found by comparing uids, the resource's ancestors made (or found in the
// cache) when asked for.
type entities struct {
	part     *principalPart
	action   types.Entity
	resource types.Entity
	caches   *caches // nil: nothing is cached
}

var _ types.EntityGetter = (*entities)(nil)

// Get implements types.EntityGetter.
func (e *entities) Get(uid types.EntityUID) (types.Entity, bool) {
	switch {
	case uid == e.part.uid:
		return e.part.entity, true
	case uid == e.action.UID:
		return e.action, true
	case uid == e.resource.UID:
		return e.resource, true
	case uid.Type == TypeGroup:
		for i := range e.part.groupEntities {
			if e.part.groupEntities[i].UID == uid {
				return e.part.groupEntities[i], true
			}
		}
	case uid.Type == TypeSecret && isAncestor(uid.ID, e.resource.UID.ID):
		return e.caches.prefixEntity(string(uid.ID)), true
	}
	return types.Entity{}, false
}

// prefixEntity is Secret::"<id>" for an ancestor of the resource.
func (c *caches) prefixEntity(id string) types.Entity {
	build := func(id string) secretEntry {
		uid := types.NewEntityUID(TypeSecret, types.String(id))
		return secretEntry{key: id, entity: types.Entity{UID: uid, Parents: ancestors(uid.ID)}}
	}
	if c == nil {
		return build(id).entity
	}
	return c.secret(c.prefix, id, build).entity
}

// resource is the request's resource for path (the request path without
// a leading "/") and the policies whose resource scope can match it.
func (b builder) resource(path string) (types.Entity, bitset) {
	build := func(path string) secretEntry {
		uid := types.NewEntityUID(TypeSecret, types.String(strings.Trim(path, "/")))
		return secretEntry{key: path, bits: b.index.resourceBits(uid.ID),
			entity: types.Entity{UID: uid, Parents: ancestors(uid.ID), Attributes: secretAttributes(path, b.needs)}}
	}
	if b.caches == nil {
		e := build(path)
		return e.entity, e.bits
	}
	e := b.caches.secret(b.caches.leaf, path, build)
	return e.entity, e.bits
}

// request builds the Cedar request of req into es (part is its
// principal's) and returns it with the candidate policies.
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
func (b builder) request(req *Request, s *shape, part *principalPart, es *entities, bits bitset) (cedar.Request, error) {
	ctx, err := contextRecord(req, b.needs, b.caches)
	if err != nil {
		return cedar.Request{}, err
	}
	res, resBits := b.resource(s.path)
	*es = entities{part: part, action: s.actionEntity, resource: res, caches: b.caches}
	intersect(bits, part.bits, b.index.actionBits(s), resBits)
	return cedar.Request{Principal: s.principal, Action: s.action, Resource: s.resource, Context: ctx}, nil
}

// groupEntities are the entities of the principal's groups (those in
// Principal.Groups; a parent that is not itself a key has no entity, as
// before).
func groupEntities(p *Principal, n needs) []types.Entity {
	if len(p.Groups) == 0 {
		return nil
	}
	out := make([]types.Entity, 0, len(p.Groups))
	for g, up := range p.Groups {
		gid := types.NewEntityUID(TypeGroup, types.String(g))
		e := types.Entity{UID: gid, Parents: noParents}
		if len(up) > 0 {
			ups := make([]types.EntityUID, len(up))
			for i, u := range up {
				ups[i] = types.NewEntityUID(TypeGroup, types.String(u))
			}
			e.Parents = types.NewEntityUIDSet(ups...)
		}
		if n.attr("name") {
			e.Attributes = types.NewRecord(types.RecordMap{"name": types.String(g)})
		}
		if n.anyTags() {
			e.Tags = tags(p.GroupMetadata[g])
		}
		out = append(out, e)
	}
	return out
}

func principalUID(p *Principal) types.EntityUID {
	if p.EntityName == "" {
		return types.NewEntityUID(TypeToken, types.String(p.Accessor))
	}
	typ := p.EntityType
	if typ != TypeService {
		typ = TypeUser
	}
	return types.NewEntityUID(types.EntityType(typ), types.String(p.EntityName))
}

func principalAttributes(p *Principal, n needs) types.Record {
	m := make(types.RecordMap, 5)
	if n.attr("policies") {
		pols := make([]types.Value, len(p.Policies))
		for i, name := range p.Policies {
			pols[i] = types.String(name)
		}
		m["policies"] = types.NewSet(pols...)
	}
	if n.attr("accessor") {
		m["accessor"] = types.String(p.Accessor)
	}
	if n.attr("display_name") {
		m["display_name"] = types.String(p.DisplayName)
	}
	if p.EntityName != "" {
		if n.attr("entity_id") {
			m["entity_id"] = types.String(p.EntityID)
		}
		if n.attr("name") {
			m["name"] = types.String(p.EntityName)
		}
	}
	if len(m) == 0 {
		return types.Record{}
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

// secretAttributes are the request resource's path, depth and, when
// needed, seg and rest.
func secretAttributes(path string, n needs) types.Record {
	wantSeg, wantRest := n.attr("seg"), n.attr("rest")
	var seg, rest types.RecordMap
	if wantSeg {
		seg = types.RecordMap{}
	}
	if wantRest {
		rest = types.RecordMap{}
	}
	depth, start := 0, 0
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		if depth < MaxSegments {
			if wantSeg {
				seg[segKeys[depth]] = types.String(path[start:i])
			}
			if wantRest {
				rest[restKeys[depth]] = types.String(path[start:])
			}
		}
		depth++
		start = i + 1
	}
	m := make(types.RecordMap, 4)
	if n.attr("path") {
		m["path"] = types.String(path)
	}
	if n.attr("depth") {
		m["depth"] = types.Long(depth)
	}
	if wantSeg {
		m["seg"] = types.NewRecord(seg)
	}
	if wantRest {
		m["rest"] = types.NewRecord(rest)
	}
	if len(m) == 0 {
		return types.Record{}
	}
	return types.NewRecord(m)
}
