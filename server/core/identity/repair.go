package identity

import (
	"slices"
)

// repair makes loaded records consistent before they are indexed: it
// drops references to objects that do not exist (what an interrupted
// delete leaves), keeps an alias found in two owners only in the one that
// updated it last (what an interrupted move leaves), and warns about
// duplicated names. It changes the records in memory only; the next
// write of a record persists the repair.
func (s *Store) repair(entities []*entity, groups []*group) {
	gByID := make(map[string]*group, len(groups))
	for _, g := range groups {
		gByID[g.ID] = g
	}
	eByID := make(map[string]*entity, len(entities))
	for _, e := range entities {
		eByID[e.ID] = e
	}
	for _, g := range groups {
		s.repairGroup(g, gByID, eByID)
	}
	for _, e := range entities {
		s.repairEntity(e, gByID)
	}
	s.dedupeEntityAliases(entities)
	s.dedupeGroupAliases(groups)
	warnDuplicateNames(s, "group", groups, func(g *group) string { return g.Name })
	warnDuplicateNames(s, "entity", entities, func(e *entity) string { return e.Name })
}

func (s *Store) repairGroup(g *group, gByID map[string]*group, eByID map[string]*entity) {
	if g.Type != GroupExternal {
		g.Type = GroupInternal
	}
	keep := func(ids []string, exists func(string) bool, what string) []string {
		out := ids[:0:0]
		for _, id := range ids {
			if exists(id) {
				out = append(out, id)
			} else {
				s.log.Warn("identity: dropped a reference to a missing "+what, "group_id", g.ID, "missing_id", id)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	g.MemberGroupIDs = keep(g.MemberGroupIDs, func(id string) bool { return id != g.ID && gByID[id] != nil }, "group")
	g.MemberEntityIDs = keep(g.MemberEntityIDs, func(id string) bool { return eByID[id] != nil }, "entity")
	if g.Type == GroupExternal {
		g.MemberEntityIDs, g.MemberGroupIDs = nil, nil
	}
	if g.Alias != nil {
		g.Alias.CanonicalID = g.ID
	}
}

func (s *Store) repairEntity(e *entity, gByID map[string]*group) {
	if e.Type != TypeService {
		e.Type = TypeUser
	}
	for acc, ids := range e.External {
		out := ids[:0:0]
		for _, id := range ids {
			if g := gByID[id]; g != nil && g.Type == GroupExternal {
				out = append(out, id)
			}
		}
		if len(out) == 0 {
			delete(e.External, acc)
		} else {
			e.External[acc] = out
		}
	}
	for _, a := range e.Aliases {
		a.CanonicalID = e.ID
	}
}

// dedupeEntityAliases keeps each alias id and each (accessor, name) in
// one entity only: the one whose copy was updated last.
func (s *Store) dedupeEntityAliases(entities []*entity) {
	winner := map[string]*alias{}
	byKey := map[aliasKey]*alias{}
	for _, e := range entities {
		for _, a := range e.Aliases {
			pick(winner, a.ID, a)
			pick(byKey, aliasKey{a.MountAccessor, a.Name}, a)
		}
	}
	for _, e := range entities {
		kept := e.Aliases[:0:0]
		for _, a := range e.Aliases {
			if winner[a.ID] == a && byKey[aliasKey{a.MountAccessor, a.Name}] == a {
				kept = append(kept, a)
			} else {
				s.log.Warn("identity: dropped a duplicate alias left by an interrupted write", "entity_id", e.ID, "alias_id", a.ID)
			}
		}
		e.Aliases = kept
	}
}

// dedupeGroupAliases does for group aliases what dedupeEntityAliases
// does for entity aliases.
func (s *Store) dedupeGroupAliases(groups []*group) {
	winner := map[string]*alias{}
	byKey := map[aliasKey]*alias{}
	for _, g := range groups {
		if a := g.Alias; a != nil {
			pick(winner, a.ID, a)
			pick(byKey, aliasKey{a.MountAccessor, a.Name}, a)
		}
	}
	for _, g := range groups {
		if a := g.Alias; a != nil && (winner[a.ID] != a || byKey[aliasKey{a.MountAccessor, a.Name}] != a) {
			s.log.Warn("identity: dropped a duplicate group alias left by an interrupted write", "group_id", g.ID, "alias_id", a.ID)
			g.Alias = nil
		}
	}
}

// pick records a in m[k] unless the recorded alias was updated later.
func pick[K comparable](m map[K]*alias, k K, a *alias) {
	if cur := m[k]; cur == nil || a.LastUpdateTime.After(cur.LastUpdateTime) {
		m[k] = a
	}
}

func warnDuplicateNames[T any](s *Store, kind string, recs []T, name func(T) string) {
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		n := name(r)
		if seen[n] {
			s.log.Warn("identity: duplicate name on load; the record listed first keeps it", "kind", kind, "name", n)
		}
		seen[n] = true
	}
}
