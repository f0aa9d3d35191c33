package identity

import (
	"context"
	"maps"
	"slices"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func aliasFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"id":              {Type: framework.TypeString, Description: "ID of the entity alias. If set, updates that alias."},
		"entity_id":       {Type: framework.TypeString, Description: "Deprecated: use canonical_id."},
		"canonical_id":    {Type: framework.TypeString, Description: "ID of the entity the alias belongs to."},
		"mount_accessor":  {Type: framework.TypeString, Description: "Accessor of the auth mount the alias belongs to."},
		"name":            {Type: framework.TypeString, Description: "Name of the alias, unique within its mount."},
		"custom_metadata": {Type: framework.TypeStringMap, Description: "User-provided key-value pairs."},
	}
}

func (s *Store) aliasPaths() []*framework.Path {
	return []*framework.Path{
		{Pattern: "entity-alias", Fields: aliasFields(), HelpSynopsis: "Create a new entity alias, or update one.",
			Operations: map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: s.handleAliasUpdate}},
		{Pattern: "entity-alias/id/?", HelpSynopsis: "List entity aliases by id.",
			Operations: map[logical.Operation]framework.OperationHandler{logical.ListOperation: s.handleAliasList}},
		{Pattern: "entity-alias/id/" + idPattern, Fields: aliasFields(), HelpSynopsis: "Read, update or delete an entity alias by id.",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: s.handleAliasUpdate, logical.ReadOperation: s.handleAliasRead, logical.DeleteOperation: s.handleAliasDelete,
			}},
	}
}

// aliasInput is an entity alias write.
type aliasInput struct {
	ID             string             `json:"id"`
	EntityID       string             `json:"entity_id"`
	CanonicalID    string             `json:"canonical_id"`
	MountAccessor  string             `json:"mount_accessor"`
	Name           string             `json:"name"`
	CustomMetadata *map[string]string `json:"custom_metadata"`
}

// handleAliasUpdate follows Vault's handleAliasCreateUpdate: by id an
// existing alias is updated (or moved to canonical_id); otherwise
// (mount_accessor, name) names an alias to update or create, creating
// an entity for it when canonical_id is empty.
func (s *Store) handleAliasUpdate(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in aliasInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.CanonicalID == "" {
		in.CanonicalID = in.EntityID
	}
	if in.CustomMetadata != nil {
		if err := validateMetadata("custom_metadata", *in.CustomMetadata); err != nil {
			return nil, err
		}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if in.ID != "" {
		a := s.st.aliases[in.ID]
		if a == nil {
			return nil, badRequest("invalid alias ID provided")
		}
		if in.MountAccessor == "" && in.Name == "" && in.CanonicalID == "" && in.CustomMetadata == nil {
			return nil, nil
		}
		return s.updateAlias(ctx, a, &in)
	}
	if in.MountAccessor == "" || in.Name == "" {
		return nil, badRequest("'id' or 'mount_accessor' and 'name' must be provided")
	}
	mi, err := s.checkAccessor(in.MountAccessor)
	if err != nil {
		return nil, err
	}
	if a := s.st.aliasByKey[aliasKey{in.MountAccessor, in.Name}]; a != nil {
		return s.updateAlias(ctx, a, &in)
	}
	return s.createAlias(ctx, &in, mi)
}

func (s *Store) createAlias(ctx context.Context, in *aliasInput, mi MountInfo) (*logical.Response, error) {
	var cur *entity
	if in.CanonicalID != "" {
		if cur = s.st.entities[in.CanonicalID]; cur == nil {
			return nil, badRequest("invalid canonical ID")
		}
		if cur.aliasFor(in.MountAccessor) != nil {
			return nil, badRequest("Alias already exists for requested entity and mount accessor")
		}
	}
	e, err := s.entityFor(cur)
	if err != nil {
		return nil, err
	}
	if e.Name == "" {
		if e.Name, err = generateName("entity", s.st.entityByName); err != nil {
			return nil, err
		}
	}
	a, err := s.newAlias(e.ID, in.MountAccessor, in.Name)
	if err != nil {
		return nil, err
	}
	a.MountPath, a.MountType = mi.Path, mi.Type
	if in.CustomMetadata != nil && len(*in.CustomMetadata) > 0 {
		a.CustomMetadata = *in.CustomMetadata
	}
	e.Aliases = append(e.Aliases, a)
	var c change
	if err := c.saveEntity(e); err != nil {
		return nil, err
	}
	if err := s.commit(ctx, &c); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"id": a.ID, "canonical_id": e.ID}}, nil
}

func (s *Store) newAlias(canonical, acc, name string) (*alias, error) {
	id, err := logical.NewUUID()
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	return &alias{ID: id, CanonicalID: canonical, MountAccessor: acc, Name: name, CreationTime: now, LastUpdateTime: now}, nil
}

// updateAlias renames, re-mounts, re-labels or moves alias old. A move
// writes the new owner first, so an interrupted move leaves the alias in
// both entities with the newer copy in the new one, which loading keeps.
func (s *Store) updateAlias(ctx context.Context, old *alias, in *aliasInput) (*logical.Response, error) {
	acc, name, md := in.MountAccessor, in.Name, old.CustomMetadata
	if acc == "" {
		acc = old.MountAccessor
	}
	if name == "" {
		name = old.Name
	}
	if in.CustomMetadata != nil {
		md = *in.CustomMetadata
	}
	target := in.CanonicalID
	if target == "" {
		target = old.CanonicalID
	}
	if acc == old.MountAccessor && name == old.Name && target == old.CanonicalID && maps.Equal(md, old.CustomMetadata) {
		return nil, nil
	}
	if acc != old.MountAccessor || name != old.Name {
		if _, err := s.checkAccessor(acc); err != nil {
			return nil, err
		}
		if other := s.st.aliasByKey[aliasKey{acc, name}]; other != nil && other.ID != old.ID {
			return nil, badRequest("alias with combination of mount accessor and name already exists")
		}
	}
	owner := s.st.entities[old.CanonicalID]
	dest := s.st.entities[target]
	if dest == nil {
		return nil, badRequest("given 'canonical_id' is not associated with an entity")
	}
	if clash := dest.aliasFor(acc); clash != nil && clash.ID != old.ID {
		return nil, badRequest("Alias cannot be updated as the entity already has an alias for the given 'mount_accessor'")
	}
	a := old.clone()
	a.MountAccessor, a.Name, a.CanonicalID, a.LastUpdateTime = acc, name, dest.ID, s.opts.Now()
	if acc != old.MountAccessor {
		a.MountPath, a.MountType = "", ""
		if mi, _ := s.checkAccessor(acc); mi != (MountInfo{}) {
			a.MountPath, a.MountType = mi.Path, mi.Type
		}
	}
	a.CustomMetadata = md
	if len(md) == 0 {
		a.CustomMetadata = nil
	}
	var c change
	if err := s.moveAlias(&c, a, old.MountAccessor, owner, dest); err != nil {
		return nil, err
	}
	if err := s.commit(ctx, &c); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"id": a.ID, "canonical_id": dest.ID}}, nil
}

// moveAlias records in c the write of alias a (on mount oldAcc until
// now) into dest and, when dest is not owner, its removal from owner
// (written second). The external group memberships the alias's logins
// made through oldAcc end with the move: the next login sets them again.
func (s *Store) moveAlias(c *change, a *alias, oldAcc string, owner, dest *entity) error {
	now := s.opts.Now()
	d := dest.clone()
	d.Aliases = slices.DeleteFunc(d.Aliases, func(x *alias) bool { return x.ID == a.ID })
	d.Aliases = append(d.Aliases, a)
	d.LastUpdateTime = now
	if owner != nil && owner.ID == dest.ID && oldAcc != a.MountAccessor {
		delete(d.External, oldAcc)
	}
	if err := c.saveEntity(d); err != nil {
		return err
	}
	if owner == nil || owner.ID == dest.ID {
		return nil
	}
	o := owner.clone()
	o.Aliases = slices.DeleteFunc(o.Aliases, func(x *alias) bool { return x.ID == a.ID })
	delete(o.External, oldAcc)
	o.LastUpdateTime = now
	return c.saveEntity(o)
}

func (s *Store) handleAliasRead(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.aliases[d.String("id")]
	if a == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.renderAlias(a)}, nil
}

// renderAlias is Vault's alias read answer (entity and group aliases).
func (s *Store) renderAlias(a *alias) map[string]any {
	path, typ := s.mountOf(a)
	return map[string]any{
		"id": a.ID, "canonical_id": a.CanonicalID, "mount_accessor": a.MountAccessor,
		"mount_path": path, "mount_type": typ, "name": a.Name,
		"metadata": a.Metadata, "custom_metadata": a.CustomMetadata,
		"merged_from_canonical_ids": nil, "namespace_id": "root", "local": false,
		"creation_time": timeString(a.CreationTime), "last_update_time": timeString(a.LastUpdateTime),
	}
}

func (s *Store) handleAliasDelete(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	a := s.st.aliases[d.String("id")]
	if a == nil {
		return nil, nil
	}
	owner := s.st.entities[a.CanonicalID]
	if owner == nil {
		return nil, nil
	}
	e := owner.clone()
	e.Aliases = slices.DeleteFunc(e.Aliases, func(x *alias) bool { return x.ID == a.ID })
	delete(e.External, a.MountAccessor)
	e.LastUpdateTime = s.opts.Now()
	var c change
	if err := c.saveEntity(e); err != nil {
		return nil, err
	}
	return nil, s.commit(ctx, &c)
}

func (s *Store) handleAliasList(_ context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.aliasList(s.st.aliases), nil
}

// aliasList is Vault's alias list answer.
func (s *Store) aliasList(aliases map[string]*alias) *logical.Response {
	keys := slices.Sorted(maps.Keys(aliases))
	info := make(map[string]any, len(keys))
	for _, id := range keys {
		a := aliases[id]
		path, typ := s.mountOf(a)
		info[id] = map[string]any{
			"name": a.Name, "canonical_id": a.CanonicalID, "mount_accessor": a.MountAccessor,
			"mount_path": path, "mount_type": typ, "metadata": a.Metadata,
			"custom_metadata": a.CustomMetadata, "local": false,
		}
	}
	return listResponse(keys, info)
}
