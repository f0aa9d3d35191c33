package identity

import (
	"maps"
	"slices"
	"time"
)

// entity is an identity entity as stored and held in memory. Values in
// the state are immutable: a writer clones, changes the clone and swaps
// it in.
type entity struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"cedar_type"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Policies []string          `json:"policies,omitempty"`
	Disabled bool              `json:"disabled,omitempty"`
	Aliases  []*alias          `json:"aliases,omitempty"`
	// External maps a mount accessor to the external groups (ids, sorted)
	// the entity's last login through that mount made it a member of.
	External       map[string][]string `json:"external_groups,omitempty"`
	CreationTime   time.Time           `json:"creation_time"`
	LastUpdateTime time.Time           `json:"last_update_time"`
}

// alias is an entity alias or a group alias; CanonicalID is the id of its
// entity or group.
type alias struct {
	ID             string            `json:"id"`
	CanonicalID    string            `json:"canonical_id"`
	MountAccessor  string            `json:"mount_accessor"`
	MountType      string            `json:"mount_type,omitempty"`
	MountPath      string            `json:"mount_path,omitempty"`
	Name           string            `json:"name"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	CustomMetadata map[string]string `json:"custom_metadata,omitempty"`
	CreationTime   time.Time         `json:"creation_time"`
	LastUpdateTime time.Time         `json:"last_update_time"`
}

// group is an identity group. MemberEntityIDs is set by hand and only for
// internal groups; an external group's members are the entities whose
// External names it.
type group struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Type            string            `json:"type"`
	Policies        []string          `json:"policies,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	MemberEntityIDs []string          `json:"member_entity_ids,omitempty"`
	MemberGroupIDs  []string          `json:"member_group_ids,omitempty"`
	Alias           *alias            `json:"alias,omitempty"`
	CreationTime    time.Time         `json:"creation_time"`
	LastUpdateTime  time.Time         `json:"last_update_time"`
	ModifyIndex     int               `json:"modify_index"`
}

func (a *alias) clone() *alias {
	if a == nil {
		return nil
	}
	c := *a
	c.Metadata = maps.Clone(a.Metadata)
	c.CustomMetadata = maps.Clone(a.CustomMetadata)
	return &c
}

func (e *entity) clone() *entity {
	c := *e
	c.Metadata = maps.Clone(e.Metadata)
	c.Policies = slices.Clone(e.Policies)
	c.Aliases = make([]*alias, len(e.Aliases))
	for i, a := range e.Aliases {
		c.Aliases[i] = a.clone()
	}
	c.External = make(map[string][]string, len(e.External))
	for k, v := range e.External {
		c.External[k] = slices.Clone(v)
	}
	return &c
}

func (g *group) clone() *group {
	c := *g
	c.Policies = slices.Clone(g.Policies)
	c.Metadata = maps.Clone(g.Metadata)
	c.MemberEntityIDs = slices.Clone(g.MemberEntityIDs)
	c.MemberGroupIDs = slices.Clone(g.MemberGroupIDs)
	c.Alias = g.Alias.clone()
	return &c
}

// aliasFor returns e's alias on mount accessor acc, or nil.
func (e *entity) aliasFor(acc string) *alias {
	for _, a := range e.Aliases {
		if a.MountAccessor == acc {
			return a
		}
	}
	return nil
}

// aliasKey is the unique key of an alias: (mount accessor, name).
type aliasKey struct{ accessor, name string }

type set = map[string]struct{}

// state is the in-memory store: the objects and every index over them.
// Only the holder of Store.wmu changes it, under Store.mu.
type state struct {
	entities        map[string]*entity
	entityByName    map[string]*entity
	aliases         map[string]*alias
	aliasByKey      map[aliasKey]*alias
	groups          map[string]*group
	groupByName     map[string]*group
	groupAliases    map[string]*alias
	groupAliasByKey map[aliasKey]*alias
	// parents maps a group id to the ids of the groups it is a member of.
	parents map[string]set
	// internalOf maps an entity id to the internal groups listing it.
	internalOf map[string]set
	// externalMembers maps an external group id to its member entities.
	externalMembers map[string]set
}

func newState() *state {
	return &state{
		entities: map[string]*entity{}, entityByName: map[string]*entity{},
		aliases: map[string]*alias{}, aliasByKey: map[aliasKey]*alias{},
		groups: map[string]*group{}, groupByName: map[string]*group{},
		groupAliases: map[string]*alias{}, groupAliasByKey: map[aliasKey]*alias{},
		parents: map[string]set{}, internalOf: map[string]set{}, externalMembers: map[string]set{},
	}
}

func addTo(m map[string]set, k, v string) {
	s := m[k]
	if s == nil {
		s = set{}
		m[k] = s
	}
	s[v] = struct{}{}
}

func removeFrom(m map[string]set, k, v string) {
	if s := m[k]; s != nil {
		delete(s, v)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}

// putEntity inserts or replaces e and its aliases.
func (st *state) putEntity(e *entity) {
	st.deleteEntity(e.ID)
	st.entities[e.ID] = e
	st.entityByName[e.Name] = e
	for _, a := range e.Aliases {
		st.aliases[a.ID] = a
		st.aliasByKey[aliasKey{a.MountAccessor, a.Name}] = a
	}
	for _, ids := range e.External {
		for _, g := range ids {
			addTo(st.externalMembers, g, e.ID)
		}
	}
}

// deleteEntity removes entity id and its aliases (not its internal group
// memberships, which live in the groups).
func (st *state) deleteEntity(id string) {
	old := st.entities[id]
	if old == nil {
		return
	}
	delete(st.entities, id)
	if st.entityByName[old.Name] == old {
		delete(st.entityByName, old.Name)
	}
	for _, a := range old.Aliases {
		if st.aliases[a.ID] == a {
			delete(st.aliases, a.ID)
		}
		if k := (aliasKey{a.MountAccessor, a.Name}); st.aliasByKey[k] == a {
			delete(st.aliasByKey, k)
		}
	}
	for _, ids := range old.External {
		for _, g := range ids {
			removeFrom(st.externalMembers, g, id)
		}
	}
}

// putGroup inserts or replaces g, its alias and its member links.
func (st *state) putGroup(g *group) {
	st.deleteGroup(g.ID)
	st.groups[g.ID] = g
	st.groupByName[g.Name] = g
	if a := g.Alias; a != nil {
		st.groupAliases[a.ID] = a
		st.groupAliasByKey[aliasKey{a.MountAccessor, a.Name}] = a
	}
	for _, m := range g.MemberGroupIDs {
		addTo(st.parents, m, g.ID)
	}
	for _, m := range g.MemberEntityIDs {
		addTo(st.internalOf, m, g.ID)
	}
}

// deleteGroup removes group id, its alias and the links it owns (its
// member lists); links to it from other records are the caller's.
func (st *state) deleteGroup(id string) {
	old := st.groups[id]
	if old == nil {
		return
	}
	delete(st.groups, id)
	if st.groupByName[old.Name] == old {
		delete(st.groupByName, old.Name)
	}
	if a := old.Alias; a != nil {
		if st.groupAliases[a.ID] == a {
			delete(st.groupAliases, a.ID)
		}
		if k := (aliasKey{a.MountAccessor, a.Name}); st.groupAliasByKey[k] == a {
			delete(st.groupAliasByKey, k)
		}
	}
	for _, m := range old.MemberGroupIDs {
		removeFrom(st.parents, m, id)
	}
	for _, m := range old.MemberEntityIDs {
		removeFrom(st.internalOf, m, id)
	}
}

// directGroups returns the ids of the groups e is directly a member of.
func (st *state) directGroups(id string) []string {
	out := slices.Collect(maps.Keys(st.internalOf[id]))
	if e := st.entities[id]; e != nil {
		for _, ids := range e.External {
			for _, g := range ids {
				if st.groups[g] != nil {
					out = append(out, g)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ancestors returns every group reachable upwards from start (start
// included), each once, whatever cycles storage may hold.
func (st *state) ancestors(start []string) []string {
	seen := make(set, len(start))
	queue := slices.Clone(start)
	var out []string
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		if _, ok := seen[g]; ok || st.groups[g] == nil {
			continue
		}
		seen[g] = struct{}{}
		out = append(out, g)
		for p := range st.parents[g] {
			queue = append(queue, p)
		}
	}
	return out
}

// entitiesUnder returns the entities that are members of group id or of
// any group nested in it: those whose Principal a change of id affects.
func (st *state) entitiesUnder(id string, out set) {
	seen := set{}
	queue := []string{id}
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		if _, ok := seen[g]; ok {
			continue
		}
		seen[g] = struct{}{}
		grp := st.groups[g]
		if grp == nil {
			continue
		}
		for _, e := range grp.MemberEntityIDs {
			out[e] = struct{}{}
		}
		for e := range st.externalMembers[g] {
			out[e] = struct{}{}
		}
		queue = append(queue, grp.MemberGroupIDs...)
	}
}

// principal computes entity id's Principal.
func (st *state) principal(id string) (*Principal, bool) {
	e := st.entities[id]
	if e == nil {
		return nil, false
	}
	p := &Principal{EntityID: e.ID, Name: e.Name, Type: e.Type, Disabled: e.Disabled, Metadata: e.Metadata}
	pols := slices.Clone(e.Policies)
	all := st.ancestors(st.directGroups(id))
	if len(all) > 0 {
		p.Groups = make(map[string][]string, len(all))
	}
	for _, gid := range all {
		g := st.groups[gid]
		pols = append(pols, g.Policies...)
		ps := make([]string, 0, len(st.parents[gid]))
		for pid := range st.parents[gid] {
			if pg := st.groups[pid]; pg != nil {
				ps = append(ps, pg.Name)
			}
		}
		slices.Sort(ps)
		p.Groups[g.Name] = ps
		if len(g.Metadata) > 0 {
			if p.GroupMetadata == nil {
				p.GroupMetadata = map[string]map[string]string{}
			}
			p.GroupMetadata[g.Name] = g.Metadata
		}
	}
	slices.Sort(pols)
	p.Policies = slices.Compact(pols)
	return p, true
}

// externalMemberIDs returns the sorted members of external group id.
func (st *state) externalMemberIDs(id string) []string {
	return slices.Sorted(maps.Keys(st.externalMembers[id]))
}

// parentIDs returns the sorted parents of group id.
func (st *state) parentIDs(id string) []string {
	return slices.Sorted(maps.Keys(st.parents[id]))
}
