package identity

import (
	"context"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func groupAliasFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"id":             {Type: framework.TypeString, Description: "ID of the group alias."},
		"name":           {Type: framework.TypeString, Description: "Alias of the group (the group's name as the auth mount knows it)."},
		"mount_accessor": {Type: framework.TypeString, Description: "Accessor of the auth mount the alias belongs to."},
		"canonical_id":   {Type: framework.TypeString, Description: "ID of the external group the alias belongs to."},
	}
}

func (s *Store) groupAliasPaths() []*framework.Path {
	return []*framework.Path{
		{Pattern: "group-alias", Fields: groupAliasFields(), HelpSynopsis: "Create a new group alias, or update one.",
			Operations: map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: s.handleGroupAliasUpdate}},
		{Pattern: "group-alias/id/?", HelpSynopsis: "List group aliases by id.",
			Operations: map[logical.Operation]framework.OperationHandler{logical.ListOperation: s.handleGroupAliasList}},
		{Pattern: "group-alias/id/" + idPattern, Fields: groupAliasFields(), HelpSynopsis: "Read, update or delete a group alias by id.",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: s.handleGroupAliasUpdate, logical.ReadOperation: s.handleGroupAliasRead, logical.DeleteOperation: s.handleGroupAliasDelete,
			}},
	}
}

type groupAliasInput struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	MountAccessor string `json:"mount_accessor"`
	CanonicalID   string `json:"canonical_id"`
}

// handleGroupAliasUpdate follows Vault's handleGroupAliasUpdateCommon: a
// group alias ties an external group to its name on one auth mount; an
// alias created without canonical_id gets a new external group. Moving
// an alias writes the new group before the old one.
func (s *Store) handleGroupAliasUpdate(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in groupAliasInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var old *alias
	if in.ID != "" {
		if old = s.st.groupAliases[in.ID]; old == nil {
			return nil, badRequest("invalid group alias ID")
		}
	}
	switch {
	case in.Name == "":
		return nil, badRequest("missing alias name")
	case in.MountAccessor == "":
		return nil, badRequest("missing mount_accessor")
	case old != nil && old.Name == in.Name && old.MountAccessor == in.MountAccessor && (in.CanonicalID == "" || in.CanonicalID == old.CanonicalID):
		return nil, nil
	}
	dest, err := s.aliasTargetGroup(in.CanonicalID)
	if err != nil {
		return nil, err
	}
	mi, err := s.checkAccessor(in.MountAccessor)
	if err != nil {
		return nil, err
	}
	if other := s.st.groupAliasByKey[aliasKey{in.MountAccessor, in.Name}]; other != nil && (old == nil || other.ID != old.ID) {
		return nil, badRequest("combination of mount and group alias name is already in use")
	}
	a := old.clone()
	if a == nil {
		if a, err = s.newAlias("", in.MountAccessor, in.Name); err != nil {
			return nil, err
		}
	}
	a.Name, a.MountAccessor, a.MountPath, a.MountType, a.LastUpdateTime = in.Name, in.MountAccessor, mi.Path, mi.Type, s.opts.Now()
	var prev *group
	if old != nil {
		prev = s.st.groups[old.CanonicalID]
	}
	if dest == nil {
		dest = prev
	}
	c, g, err := s.attachGroupAlias(a, dest, prev)
	if err != nil {
		return nil, err
	}
	if err := s.commit(ctx, c); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"id": a.ID, "canonical_id": g.ID}}, nil
}

// aliasTargetGroup returns the external group canonical_id names (nil
// for "").
func (s *Store) aliasTargetGroup(id string) (*group, error) {
	if id == "" {
		return nil, nil
	}
	g := s.st.groups[id]
	if g == nil {
		return nil, badRequest("invalid group ID given in 'canonical_id'")
	}
	if g.Type != GroupExternal {
		return nil, badRequest("alias can't be set on an internal group")
	}
	return g, nil
}

// attachGroupAlias returns the change that sets a as the alias of dest
// (a new external group when dest is nil, replacing any alias dest had)
// and takes it off prev when that is another group.
func (s *Store) attachGroupAlias(a *alias, dest, prev *group) (*change, *group, error) {
	g, err := s.groupFor(dest)
	if err != nil {
		return nil, nil, err
	}
	if dest == nil {
		g.Type = GroupExternal
		if g.Name, err = generateName("group", s.st.groupByName); err != nil {
			return nil, nil, err
		}
	}
	a.CanonicalID = g.ID
	g.Alias = a
	c := &change{}
	if err := c.saveGroup(g); err != nil {
		return nil, nil, err
	}
	if prev != nil && prev.ID != g.ID {
		p, err := s.groupFor(prev)
		if err != nil {
			return nil, nil, err
		}
		p.Alias = nil
		if err := c.saveGroup(p); err != nil {
			return nil, nil, err
		}
	}
	return c, g, nil
}

func (s *Store) handleGroupAliasRead(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.groupAliases[d.String("id")]
	if a == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.renderAlias(a)}, nil
}

func (s *Store) handleGroupAliasDelete(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	a := s.st.groupAliases[d.String("id")]
	if a == nil || s.st.groups[a.CanonicalID] == nil {
		return nil, nil
	}
	g, err := s.groupFor(s.st.groups[a.CanonicalID])
	if err != nil {
		return nil, err
	}
	g.Alias = nil
	var c change
	if err := c.saveGroup(g); err != nil {
		return nil, err
	}
	return nil, s.commit(ctx, &c)
}

func (s *Store) handleGroupAliasList(_ context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.aliasList(s.st.groupAliases), nil
}
