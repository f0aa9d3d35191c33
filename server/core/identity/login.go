package identity

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Login resolves what an auth method vouched for to an entity, creating
// what is missing, and returns the entity's id:
//
//   - the alias (MountAccessor, Name) and its entity, else a new entity
//     named EntityName (default Name; "<name>@<mount path>" and then
//     "<name>@<mount path>-2", "-3"... when another entity has the name)
//     of type EntityType (default User) holding a new alias;
//   - the alias takes Metadata and the mount's current path and type;
//   - each of GroupNames names the external group aliased to it on this
//     mount, else the external group of that name, else a new external
//     group of that name; an internal group of that name is never joined
//     (the skip is logged). The entity's external memberships through
//     this mount become exactly that set.
//
// A disabled entity is refused with an error wrapping
// logical.ErrPermissionDenied. A login that changes nothing writes
// nothing and takes no write lock; concurrent first logins of one alias
// make one entity.
func (s *Store) Login(ctx context.Context, l LoginAlias) (string, error) {
	if !s.ready.Load() {
		return "", ErrNotSetup
	}
	if l.MountAccessor == "" || l.Name == "" {
		return "", logical.InvalidRequest("alias", "a login needs a mount accessor and an alias name")
	}
	typ, err := cedarType(l.EntityType)
	if err != nil {
		return "", fmt.Errorf("identity: login: %w", err)
	}
	if len(l.Metadata) == 0 {
		l.Metadata = nil
	}
	names := dedupe(l.GroupNames)
	if id, done, err := s.loginUnchanged(l, names); done {
		return id, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.loginWrite(ctx, l, typ, names)
}

// loginUnchanged answers a login that would change nothing, under the
// read lock only; done is false when the login has something to write.
func (s *Store) loginUnchanged(l LoginAlias, names []string) (id string, done bool, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.aliasByKey[aliasKey{l.MountAccessor, l.Name}]
	if a == nil {
		return "", false, nil
	}
	e := s.st.entities[a.CanonicalID]
	switch {
	case e == nil:
		return "", false, nil
	case e.Disabled:
		return "", true, ErrEntityDisabled
	case !maps.Equal(a.Metadata, l.Metadata) || a.MountPath != l.MountPath || a.MountType != l.MountType:
		return "", false, nil
	}
	ids, missing := s.resolveGroups(l.MountAccessor, names, false)
	if len(missing) > 0 || !slices.Equal(ids, e.External[l.MountAccessor]) {
		return "", false, nil
	}
	return e.ID, true, nil
}

// loginWrite is Login's write path; the caller holds wmu.
func (s *Store) loginWrite(ctx context.Context, l LoginAlias, typ string, names []string) (string, error) {
	var cur *entity
	a := s.st.aliasByKey[aliasKey{l.MountAccessor, l.Name}]
	if a != nil {
		cur = s.st.entities[a.CanonicalID]
	}
	if cur != nil && cur.Disabled {
		return "", ErrEntityDisabled
	}
	e, err := s.entityFor(cur)
	if err != nil {
		return "", err
	}
	if cur == nil {
		e.Type, e.Name = typ, s.loginName(l)
	}
	if err := s.loginAlias(e, l); err != nil {
		return "", err
	}
	var c change
	ids, missing := s.resolveGroups(l.MountAccessor, names, true)
	for _, name := range missing {
		g, err := s.groupFor(nil)
		if err != nil {
			return "", err
		}
		g.Name, g.Type = name, GroupExternal
		if err := c.saveGroup(g); err != nil {
			return "", err
		}
		ids = append(ids, g.ID)
	}
	slices.Sort(ids)
	if e.External == nil {
		e.External = map[string][]string{}
	}
	if len(ids) == 0 {
		delete(e.External, l.MountAccessor)
	} else {
		e.External[l.MountAccessor] = ids
	}
	// The new groups go first: the entity never names a group storage
	// lacks.
	if err := c.saveEntity(e); err != nil {
		return "", err
	}
	if err := s.commit(ctx, &c); err != nil {
		return "", fmt.Errorf("identity: login: %w", err)
	}
	return e.ID, nil
}

// loginAlias updates e's alias for l, or gives e a new one.
func (s *Store) loginAlias(e *entity, l LoginAlias) error {
	for _, a := range e.Aliases {
		if a.MountAccessor == l.MountAccessor && a.Name == l.Name {
			a.Metadata, a.MountPath, a.MountType, a.LastUpdateTime = maps.Clone(l.Metadata), l.MountPath, l.MountType, s.opts.Now()
			return nil
		}
	}
	a, err := s.newAlias(e.ID, l.MountAccessor, l.Name)
	if err != nil {
		return err
	}
	a.Metadata, a.MountPath, a.MountType = maps.Clone(l.Metadata), l.MountPath, l.MountType
	e.Aliases = append(e.Aliases, a)
	return nil
}

// loginName picks the name of the entity a first login creates.
func (s *Store) loginName(l LoginAlias) string {
	base := l.EntityName
	if base == "" {
		base = l.Name
	}
	if s.st.entityByName[base] == nil {
		return base
	}
	mount := strings.TrimSuffix(l.MountPath, "/")
	if mount == "" {
		mount = l.MountAccessor
	}
	name := base + "@" + mount
	for n := 2; s.st.entityByName[name] != nil; n++ {
		name = base + "@" + mount + "-" + strconv.Itoa(n)
	}
	return name
}

// resolveGroups maps the group names a login through mount acc asserts
// to external group ids (sorted), and returns the names that match no
// group at all, to be created. A name held by an internal group is
// skipped; logSkips logs it.
func (s *Store) resolveGroups(acc string, names []string, logSkips bool) (ids, missing []string) {
	for _, name := range names {
		if ga := s.st.groupAliasByKey[aliasKey{acc, name}]; ga != nil && s.st.groups[ga.CanonicalID] != nil {
			ids = append(ids, ga.CanonicalID)
			continue
		}
		g := s.st.groupByName[name]
		switch {
		case g == nil:
			missing = append(missing, name)
		case g.Type == GroupExternal:
			ids = append(ids, g.ID)
		case logSkips:
			s.log.Info("identity: a login asserted an internal group; it is not joined", "group", name, "mount_accessor", acc)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), missing
}
