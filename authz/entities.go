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
}

// allNeeds builds every attribute and tag.
var allNeeds = needs{all: true}

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
	resource     types.EntityUID
	// prefixes are the resource's ancestors, nearest first.
	prefixes []types.EntityUID
	// path is the resource path without a leading "/".
	path string
}

// noParents is the empty parent set, shared (sets are immutable).
var noParents = types.NewEntityUIDSet()

// actionEntities are the Action entities of the model with their groups,
// made once.
var actionEntities = func() map[string]types.Entity {
	m := map[string]types.Entity{}
	for _, a := range []string{"read", "list", "create", "update", "patch", "delete", "generate", "rotate", "renew", "revoke", "sudo", "write"} {
		m[a] = newActionEntity(a)
	}
	return m
}()

func newActionEntity(name string) types.Entity {
	var groups []types.EntityUID
	for _, g := range actionGroups[name] {
		groups = append(groups, types.NewEntityUID(TypeAction, types.String(g)))
	}
	parents := noParents
	if len(groups) > 0 {
		parents = types.NewEntityUIDSet(groups...)
	}
	return types.Entity{UID: types.NewEntityUID(TypeAction, types.String(name)), Parents: parents}
}

// actionEntity is the Action entity of name.
func actionEntity(name string) types.Entity {
	if e, ok := actionEntities[name]; ok {
		return e
	}
	return newActionEntity(name)
}

// newShape computes the uids of req (not root).
func newShape(req *Request) shape {
	p := req.Principal
	s := shape{principal: principalUID(p)}
	s.groups = groupUIDs(p.Groups)
	act := req.Action
	if act == "" {
		act = req.Operation
	}
	s.actionEntity = actionEntity(act)
	s.action = s.actionEntity.UID
	for _, g := range actionGroups[act] {
		s.actionGroups = append(s.actionGroups, types.NewEntityUID(TypeAction, types.String(g)))
	}
	s.path = strings.TrimLeft(req.Path, "/")
	id := strings.Trim(s.path, "/")
	s.resource = types.NewEntityUID(TypeSecret, types.String(id))
	if n := strings.Count(id, "/"); n > 0 {
		s.prefixes = make([]types.EntityUID, 0, n)
	}
	for i := len(id) - 1; i > 0; i-- {
		if id[i] == '/' {
			s.prefixes = append(s.prefixes, types.NewEntityUID(TypeSecret, types.String(id[:i])))
		}
	}
	return s
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

// entities is the EntityGetter of one request: a handful of entities
// found by a short scan, cheaper to build than a map.
type entities struct {
	principal types.Entity
	action    types.Entity
	groups    []types.Entity
	secrets   []types.Entity
}

var _ types.EntityGetter = (*entities)(nil)

// Get implements types.EntityGetter.
func (e *entities) Get(uid types.EntityUID) (types.Entity, bool) {
	switch {
	case uid == e.principal.UID:
		return e.principal, true
	case uid == e.action.UID:
		return e.action, true
	}
	list := e.secrets
	if uid.Type == TypeGroup {
		list = e.groups
	}
	for i := range list {
		if list[i].UID == uid {
			return list[i], true
		}
	}
	return types.Entity{}, false
}

// cedarRequest builds the Cedar request and the entities it needs; n
// says which attributes to fill.
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
func cedarRequest(req *Request, s *shape, n needs) (cedar.Request, *entities, error) {
	ctx, err := requestContext(req, n)
	if err != nil {
		return cedar.Request{}, nil, err
	}
	p := req.Principal
	es := &entities{}
	es.principal = types.Entity{UID: s.principal, Parents: types.NewEntityUIDSet(s.groups...),
		Attributes: principalAttributes(p, n)}
	if n.anyTags() {
		es.principal.Tags = tags(p.Metadata)
	}
	es.groups = groupEntities(p, n)
	es.action = s.actionEntity
	es.secrets = secretEntities(s, n)
	return cedar.Request{Principal: s.principal, Action: s.action, Resource: s.resource, Context: ctx}, es, nil
}

// groupEntities are the entities of the principal's groups (those in
// Principal.Groups; a parent that is not itself a key has no entity, as
// before).
func groupEntities(p Principal, n needs) []types.Entity {
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

func principalAttributes(p Principal, n needs) types.Record {
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

// secretEntities are Secret::"<path>" (its uid trimmed of slashes) with
// its attributes and every prefix as its ancestors ("a/b/c" in "a/b" in
// "a").
func secretEntities(s *shape, n needs) []types.Entity {
	out := make([]types.Entity, 0, len(s.prefixes)+1)
	child := s.resource
	attrs := secretAttributes(s.path, n)
	for _, parent := range s.prefixes {
		out = append(out, types.Entity{UID: child, Parents: types.NewEntityUIDSet(parent), Attributes: attrs})
		attrs = types.Record{}
		child = parent
	}
	return append(out, types.Entity{UID: child, Parents: noParents, Attributes: attrs})
}

// requestContext is the Cedar context: operation, mount_type, time, sudo,
// remote_addr (an ipaddr, when known), kv_path and ttl (when known);
// those n says no policy reads are left out. A bad remote address is an
// error even then.
func requestContext(req *Request, n needs) (types.Record, error) {
	m := make(types.RecordMap, 7)
	if n.ctx("operation") {
		m["operation"] = types.String(req.Operation)
	}
	if n.ctx("mount_type") {
		m["mount_type"] = types.String(req.MountType)
	}
	if n.ctx("time") {
		m["time"] = types.NewDatetime(req.Time)
	}
	if n.ctx("sudo") {
		m["sudo"] = types.Boolean(req.Sudo)
	}
	if req.RemoteAddr != "" {
		ip, err := types.ParseIPAddr(req.RemoteAddr)
		if err != nil {
			return types.Record{}, fmt.Errorf("authz: remote address %q: %w", req.RemoteAddr, err)
		}
		if n.ctx("remote_addr") {
			m["remote_addr"] = ip
		}
	}
	if req.KVPath != "" && n.ctx("kv_path") {
		m["kv_path"] = types.String(req.KVPath)
	}
	if req.HasTTL && n.ctx("ttl") {
		m["ttl"] = types.NewDuration(req.TTL)
	}
	if len(m) == 0 {
		return types.Record{}, nil
	}
	return types.NewRecord(m), nil
}
