package identity

import (
	"context"
	"slices"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func groupFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"id":                {Type: framework.TypeString, Description: "ID of the group. If set, updates the corresponding existing group."},
		"type":              {Type: framework.TypeString, Description: "Type of the group, 'internal' (default) or 'external'."},
		"name":              {Type: framework.TypeString, Description: "Name of the group (its Cedar id)."},
		"metadata":          {Type: framework.TypeStringMap, Description: "Metadata of the group (its Cedar tags)."},
		"policies":          {Type: framework.TypeStringSlice, Description: "Policies tied to the group."},
		"member_group_ids":  {Type: framework.TypeStringSlice, Description: "Group IDs to be assigned as group members."},
		"member_entity_ids": {Type: framework.TypeStringSlice, Description: "Entity IDs to be assigned as group members."},
	}
}

func (s *Store) groupPaths() []*framework.Path {
	return []*framework.Path{
		{Pattern: "group", Fields: groupFields(), HelpSynopsis: "Create a new group, or update one by id or name.",
			Operations: map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: s.handleGroupRegister}},
		{Pattern: "group/id/?", HelpSynopsis: "List groups by id.",
			Operations: map[logical.Operation]framework.OperationHandler{logical.ListOperation: s.handleGroupList(true)}},
		{Pattern: "group/id/" + idPattern, Fields: groupFields(), HelpSynopsis: "Read, update or delete a group by id.",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: s.handleGroupRegister, logical.ReadOperation: s.handleGroupRead, logical.DeleteOperation: s.handleGroupDelete,
			}},
		{Pattern: "group/name/?", HelpSynopsis: "List groups by name.",
			Operations: map[logical.Operation]framework.OperationHandler{logical.ListOperation: s.handleGroupList(false)}},
		{Pattern: "group/name/(?P<name>.+)", Fields: groupFields(), HelpSynopsis: "Create, read, update or delete a group by name.",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: s.handleGroupRegister, logical.ReadOperation: s.handleGroupRead, logical.DeleteOperation: s.handleGroupDelete,
			}},
	}
}

// groupInput is a group write; pointers tell absent from zero.
type groupInput struct {
	ID              string             `json:"id"`
	Type            *string            `json:"type"`
	Name            string             `json:"name"`
	Metadata        *map[string]string `json:"metadata"`
	Policies        *[]string          `json:"policies"`
	MemberGroupIDs  *[]string          `json:"member_group_ids"`
	MemberEntityIDs *[]string          `json:"member_entity_ids"`
}

// handleGroupRegister follows Vault's pathGroupRegister: by id an
// existing group is updated; by name a group is updated or created;
// without either a group is created. A creation answers the new id and
// name; an update answers nothing.
func (s *Store) handleGroupRegister(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in groupInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var cur *group
	switch {
	case in.ID != "":
		if cur = s.st.groups[in.ID]; cur == nil {
			return nil, badRequest("invalid group ID")
		}
	case in.Name != "":
		cur = s.st.groupByName[in.Name]
	}
	g, err := s.buildGroup(cur, &in)
	if err != nil {
		return nil, err
	}
	var c change
	if err := c.saveGroup(g); err != nil {
		return nil, err
	}
	if err := s.commit(ctx, &c); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, nil
	}
	return &logical.Response{Data: map[string]any{"id": g.ID, "name": g.Name, "cedar_uid": cedarUID(TypeGroup, g.Name)}}, nil
}

// buildGroup returns cur (or a new group) with in applied and
// validated.
func (s *Store) buildGroup(cur *group, in *groupInput) (*group, error) {
	g, err := s.groupFor(cur)
	if err != nil {
		return nil, err
	}
	if in.Policies != nil {
		if g.Policies, err = normalisePolicies(*in.Policies); err != nil {
			return nil, err
		}
	}
	if in.Type != nil {
		if cur != nil && *in.Type != cur.Type {
			return nil, badRequest("group type cannot be changed")
		}
		g.Type = *in.Type
	}
	if g.Type == "" {
		g.Type = GroupInternal
	}
	if g.Type != GroupInternal && g.Type != GroupExternal {
		return nil, badRequest("invalid group type %q", g.Type)
	}
	if in.Name != "" {
		if other := s.st.groupByName[in.Name]; other != nil && other.ID != g.ID {
			return nil, badRequest("group name is already in use")
		}
		g.Name = in.Name
	}
	if g.Name == "" {
		if g.Name, err = generateName("group", s.st.groupByName); err != nil {
			return nil, err
		}
	}
	if in.Metadata != nil {
		if err := validateMetadata("metadata", *in.Metadata); err != nil {
			return nil, err
		}
		g.Metadata = *in.Metadata
		if len(g.Metadata) == 0 {
			g.Metadata = nil
		}
	}
	if err := s.applyMembers(g, in); err != nil {
		return nil, err
	}
	return g, nil
}

// groupFor returns a writable copy of cur, or a new group, stamped.
func (s *Store) groupFor(cur *group) (*group, error) {
	now := s.opts.Now()
	if cur != nil {
		g := cur.clone()
		g.LastUpdateTime = now
		g.ModifyIndex++
		return g, nil
	}
	id, err := logical.NewUUID()
	if err != nil {
		return nil, err
	}
	return &group{ID: id, CreationTime: now, LastUpdateTime: now, ModifyIndex: 1}, nil
}

// applyMembers validates and sets the member lists in carries: members
// must exist, external groups take none by hand, and no group may end up
// inside itself.
func (s *Store) applyMembers(g *group, in *groupInput) error {
	if in.MemberEntityIDs != nil {
		if g.Type == GroupExternal {
			return badRequest("member entities can't be set manually for external groups")
		}
		ids := dedupe(*in.MemberEntityIDs)
		for _, id := range ids {
			if s.st.entities[id] == nil {
				return badRequest("invalid member entity ID %q", id)
			}
		}
		g.MemberEntityIDs = ids
	}
	if in.MemberGroupIDs == nil {
		return nil
	}
	if g.Type == GroupExternal {
		return badRequest("member groups can't be set for external groups")
	}
	ids := dedupe(*in.MemberGroupIDs)
	above := s.st.ancestors([]string{g.ID})
	for _, id := range ids {
		switch {
		case id == g.ID:
			return badRequest("member group ID %q is same as the ID of the group", id)
		case s.st.groups[id] == nil:
			return badRequest("invalid member group ID %q", id)
		case slices.Contains(above, id):
			return badRequest("cyclic relationship detected for member group ID %q", id)
		}
	}
	g.MemberGroupIDs = ids
	return nil
}

// groupTarget returns the group a read or delete path names.
func (st *state) groupTarget(d *framework.FieldData) *group {
	if id := d.String("id"); id != "" {
		return st.groups[id]
	}
	return st.groupByName[d.String("name")]
}

func (s *Store) handleGroupRead(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.st.groupTarget(d)
	if g == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.renderGroup(g)}, nil
}

// memberEntities returns g's member entities: set by hand for an
// internal group, by logins for an external one.
func (st *state) memberEntities(g *group) []string {
	if g.Type == GroupExternal {
		return st.externalMemberIDs(g.ID)
	}
	return emptyIfNil(g.MemberEntityIDs)
}

// renderGroup is Vault's group read answer plus cedar_type and
// cedar_uid. The caller holds mu.
func (s *Store) renderGroup(g *group) map[string]any {
	aliasMap := map[string]any{}
	if g.Alias != nil {
		aliasMap = s.renderAlias(g.Alias)
	}
	return map[string]any{
		"id": g.ID, "name": g.Name, "type": g.Type, "policies": emptyIfNil(g.Policies), "metadata": g.Metadata,
		"member_entity_ids": emptyIfNil(s.st.memberEntities(g)), "member_group_ids": emptyIfNil(g.MemberGroupIDs),
		"parent_group_ids": emptyIfNil(s.st.parentIDs(g.ID)), "alias": aliasMap,
		"creation_time": timeString(g.CreationTime), "last_update_time": timeString(g.LastUpdateTime),
		"modify_index": g.ModifyIndex, "namespace_id": "root",
		"cedar_type": TypeGroup, "cedar_uid": cedarUID(TypeGroup, g.Name),
	}
}

// handleGroupDelete deletes a group and its alias after taking it out of
// its parent groups and of the entities whose logins joined it.
func (s *Store) handleGroupDelete(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	g := s.st.groupTarget(d)
	if g == nil {
		return nil, nil
	}
	var c change
	now := s.opts.Now()
	for _, pid := range s.st.parentIDs(g.ID) {
		p := s.st.groups[pid].clone()
		p.MemberGroupIDs = slices.DeleteFunc(p.MemberGroupIDs, func(id string) bool { return id == g.ID })
		p.LastUpdateTime, p.ModifyIndex = now, p.ModifyIndex+1
		if err := c.saveGroup(p); err != nil {
			return nil, err
		}
	}
	for _, eid := range s.st.externalMemberIDs(g.ID) {
		e := s.st.entities[eid].clone()
		for acc, ids := range e.External {
			if ids = slices.DeleteFunc(ids, func(id string) bool { return id == g.ID }); len(ids) == 0 {
				delete(e.External, acc)
			} else {
				e.External[acc] = ids
			}
		}
		e.LastUpdateTime = now
		if err := c.saveEntity(e); err != nil {
			return nil, err
		}
	}
	c.removeGroup(g.ID)
	return nil, s.commit(ctx, &c)
}

func (s *Store) handleGroupList(byID bool) framework.OperationHandler {
	return func(_ context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		keys := make([]string, 0, len(s.st.groups))
		info := make(map[string]any, len(s.st.groups))
		for _, g := range s.st.groups {
			key := g.ID
			if !byID {
				key = g.Name
			}
			keys = append(keys, key)
			entry := map[string]any{
				"name": g.Name, "type": g.Type,
				"num_member_entities": len(s.st.memberEntities(g)), "num_parent_groups": len(s.st.parents[g.ID]),
			}
			if a := g.Alias; a != nil {
				path, typ := s.mountOf(a)
				entry["alias"] = map[string]any{"id": a.ID, "name": a.Name, "mount_accessor": a.MountAccessor, "mount_path": path, "mount_type": typ}
			}
			info[key] = entry
		}
		slices.Sort(keys)
		return listResponse(keys, info), nil
	}
}
