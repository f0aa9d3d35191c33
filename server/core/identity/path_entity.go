package identity

import (
	"context"
	"maps"
	"slices"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// idPattern is the id segment of a path (Vault's GenericNameRegex is
// narrower; any segment without a slash is accepted and simply not
// found).
const idPattern = `(?P<id>[^/]+)`

func entityFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"id":         {Type: framework.TypeString, Description: "ID of the entity. If set, updates the corresponding existing entity."},
		"name":       {Type: framework.TypeString, Description: "Name of the entity (its Cedar id)."},
		"metadata":   {Type: framework.TypeStringMap, Description: "Metadata of the entity (its Cedar tags)."},
		"policies":   {Type: framework.TypeStringSlice, Description: "Policies tied to the entity."},
		"disabled":   {Type: framework.TypeBool, Description: "If true, tokens tied to the entity cannot be used (but are not revoked)."},
		"cedar_type": {Type: framework.TypeString, Description: `Cedar entity type of the entity: "User" (default) or "Service".`},
	}
}

func (s *Store) entityPaths() []*framework.Path {
	upd := s.handleEntityUpdate
	return []*framework.Path{
		{Pattern: "entity", Fields: entityFields(), HelpSynopsis: "Create a new entity, or update one by id or name.",
			Operations: map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: upd}},
		{Pattern: "entity/id/?", HelpSynopsis: "List entities by id.",
			Operations: map[logical.Operation]framework.OperationHandler{logical.ListOperation: s.handleEntityList(true)}},
		{Pattern: "entity/id/" + idPattern, Fields: entityFields(), HelpSynopsis: "Read, update or delete an entity by id.",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: upd, logical.ReadOperation: s.handleEntityRead, logical.DeleteOperation: s.handleEntityDelete,
			}},
		{Pattern: "entity/name/?", HelpSynopsis: "List entities by name.",
			Operations: map[logical.Operation]framework.OperationHandler{logical.ListOperation: s.handleEntityList(false)}},
		{Pattern: "entity/name/(?P<name>.+)", Fields: entityFields(), HelpSynopsis: "Create, read, update or delete an entity by name.",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: upd, logical.ReadOperation: s.handleEntityRead, logical.DeleteOperation: s.handleEntityDelete,
			}},
	}
}

// entityInput is an entity write; pointers tell absent from zero.
type entityInput struct {
	ID        string             `json:"id"`
	Name      string             `json:"name"`
	Metadata  *map[string]string `json:"metadata"`
	Policies  *[]string          `json:"policies"`
	Disabled  *bool              `json:"disabled"`
	CedarType *string            `json:"cedar_type"`
}

// findEntity resolves the entity a write names, as Vault does: by id
// (which must exist), else by name; nil means a new entity.
func (st *state) findEntity(id, name string) (*entity, error) {
	var e *entity
	if id != "" {
		if e = st.entities[id]; e == nil {
			return nil, badRequest("entity not found from id")
		}
	}
	if name != "" {
		byName := st.entityByName[name]
		switch {
		case byName == nil:
		case e == nil:
			e = byName
		case e.ID != byName.ID:
			return nil, badRequest("entity name is already in use")
		}
	}
	return e, nil
}

// handleEntityUpdate creates or updates an entity (entity, entity/id/:id
// and entity/name/:name). A creation answers the new id and name; an
// update answers nothing, as in Vault.
func (s *Store) handleEntityUpdate(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in entityInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	cur, err := s.st.findEntity(in.ID, in.Name)
	if err != nil {
		return nil, err
	}
	e, err := s.entityFor(cur)
	if err != nil {
		return nil, err
	}
	if in.Name != "" {
		e.Name = in.Name
	}
	if e.Name == "" {
		if e.Name, err = generateName("entity", s.st.entityByName); err != nil {
			return nil, err
		}
	}
	if err := applyEntityInput(e, &in); err != nil {
		return nil, err
	}
	var c change
	if err := c.saveEntity(e); err != nil {
		return nil, err
	}
	if err := s.commit(ctx, &c); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, nil
	}
	ids := make([]string, 0, len(e.Aliases))
	for _, a := range e.Aliases {
		ids = append(ids, a.ID)
	}
	return &logical.Response{Data: map[string]any{
		"id": e.ID, "name": e.Name, "aliases": ids,
		"cedar_type": e.Type, "cedar_uid": cedarUID(e.Type, e.Name),
	}}, nil
}

// entityFor returns a writable copy of cur, or a new entity if cur is
// nil, stamped with the current time.
func (s *Store) entityFor(cur *entity) (*entity, error) {
	now := s.opts.Now()
	if cur != nil {
		e := cur.clone()
		e.LastUpdateTime = now
		return e, nil
	}
	id, err := logical.NewUUID()
	if err != nil {
		return nil, err
	}
	return &entity{ID: id, Type: TypeUser, CreationTime: now, LastUpdateTime: now}, nil
}

func applyEntityInput(e *entity, in *entityInput) error {
	if in.Policies != nil {
		p, err := normalisePolicies(*in.Policies)
		if err != nil {
			return err
		}
		e.Policies = p
	}
	if in.Disabled != nil {
		e.Disabled = *in.Disabled
	}
	if in.Metadata != nil {
		if err := validateMetadata("metadata", *in.Metadata); err != nil {
			return err
		}
		e.Metadata = *in.Metadata
		if len(e.Metadata) == 0 {
			e.Metadata = nil
		}
	}
	if in.CedarType != nil {
		t, err := cedarType(*in.CedarType)
		if err != nil {
			return err
		}
		e.Type = t
	}
	return nil
}

// entityTarget returns the entity a read or delete path names.
func (st *state) entityTarget(d *framework.FieldData) *entity {
	if id := d.String("id"); id != "" {
		return st.entities[id]
	}
	return st.entityByName[d.String("name")]
}

func (s *Store) handleEntityRead(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.st.entityTarget(d)
	if e == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.renderEntity(e)}, nil
}

// renderEntity is Vault's entity read answer plus cedar_type and
// cedar_uid. The caller holds mu.
func (s *Store) renderEntity(e *entity) map[string]any {
	aliases := make([]any, len(e.Aliases))
	for i, a := range e.Aliases {
		aliases[i] = s.renderAlias(a)
	}
	direct := emptyIfNil(s.st.directGroups(e.ID))
	inherited := []string{}
	for _, g := range s.st.ancestors(direct) {
		if _, ok := slices.BinarySearch(direct, g); !ok {
			inherited = append(inherited, g)
		}
	}
	slices.Sort(inherited)
	return map[string]any{
		"id": e.ID, "name": e.Name, "metadata": e.Metadata, "policies": emptyIfNil(e.Policies),
		"disabled": e.Disabled, "namespace_id": "root", "merged_entity_ids": nil,
		"creation_time": timeString(e.CreationTime), "last_update_time": timeString(e.LastUpdateTime),
		"aliases": aliases, "direct_group_ids": direct, "inherited_group_ids": inherited,
		"group_ids":  append(slices.Clone(direct), inherited...),
		"cedar_type": e.Type, "cedar_uid": cedarUID(e.Type, e.Name),
	}
}

// handleEntityDelete deletes an entity and its aliases and takes it out
// of every group (the groups are written before the entity is deleted).
func (s *Store) handleEntityDelete(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	e := s.st.entityTarget(d)
	if e == nil {
		return nil, nil
	}
	var c change
	now := s.opts.Now()
	for _, gid := range slices.Sorted(maps.Keys(s.st.internalOf[e.ID])) {
		g := s.st.groups[gid].clone()
		g.MemberEntityIDs = slices.DeleteFunc(g.MemberEntityIDs, func(id string) bool { return id == e.ID })
		g.LastUpdateTime = now
		g.ModifyIndex++
		if err := c.saveGroup(g); err != nil {
			return nil, err
		}
	}
	c.removeEntity(e.ID)
	return nil, s.commit(ctx, &c)
}

func (s *Store) handleEntityList(byID bool) framework.OperationHandler {
	return func(_ context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		keys := make([]string, 0, len(s.st.entities))
		info := make(map[string]any, len(s.st.entities))
		for _, e := range s.st.entities {
			key := e.ID
			if !byID {
				key = e.Name
			}
			keys = append(keys, key)
			entry := map[string]any{"name": e.Name, "cedar_type": e.Type}
			if len(e.Aliases) > 0 {
				list := make([]any, len(e.Aliases))
				for i, a := range e.Aliases {
					path, typ := s.mountOf(a)
					list[i] = map[string]any{"id": a.ID, "name": a.Name, "mount_accessor": a.MountAccessor, "mount_path": path, "mount_type": typ}
				}
				entry["aliases"] = list
			}
			info[key] = entry
		}
		slices.Sort(keys)
		return listResponse(keys, info), nil
	}
}
