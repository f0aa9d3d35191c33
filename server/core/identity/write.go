package identity

import (
	"context"

	"github.com/secretumvault/secretumvault/storage"
)

// change is one write: its storage operations, in the order they must
// reach storage, and the records to swap into memory once they have.
// Build it while holding Store.wmu and hand it to commit.
type change struct {
	ops         []*storage.Op
	putEntities []*entity
	delEntities []string
	putGroups   []*group
	delGroups   []string
}

func (c *change) saveEntity(e *entity) error {
	op, err := putOp(entityKey(e.ID), e)
	if err != nil {
		return err
	}
	c.ops = append(c.ops, op)
	c.putEntities = append(c.putEntities, e)
	return nil
}

func (c *change) saveGroup(g *group) error {
	op, err := putOp(groupKey(g.ID), g)
	if err != nil {
		return err
	}
	c.ops = append(c.ops, op)
	c.putGroups = append(c.putGroups, g)
	return nil
}

func (c *change) removeEntity(id string) {
	c.ops = append(c.ops, deleteOp(entityKey(id)))
	c.delEntities = append(c.delEntities, id)
}

func (c *change) removeGroup(id string) {
	c.ops = append(c.ops, deleteOp(groupKey(id)))
	c.delGroups = append(c.delGroups, id)
}

// commit writes c to storage and, if that succeeded, applies it to
// memory and drops the cached Principal of every entity it may affect:
// the entities it writes and every member, direct or nested, of the
// groups it writes, before and after the change. The caller holds wmu.
func (s *Store) commit(ctx context.Context, c *change) error {
	if err := s.apply(ctx, c.ops); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	affected := set{}
	s.affected(c, affected)
	for _, id := range c.delEntities {
		s.st.deleteEntity(id)
	}
	for _, id := range c.delGroups {
		s.st.deleteGroup(id)
	}
	for _, g := range c.putGroups {
		s.st.putGroup(g)
	}
	for _, e := range c.putEntities {
		s.st.putEntity(e)
	}
	s.affected(c, affected)
	for id := range affected {
		s.cache.Delete(id)
	}
	return nil
}

func (s *Store) affected(c *change, out set) {
	for _, e := range c.putEntities {
		out[e.ID] = struct{}{}
	}
	for _, id := range c.delEntities {
		out[id] = struct{}{}
	}
	for _, g := range c.putGroups {
		s.st.entitiesUnder(g.ID, out)
	}
	for _, id := range c.delGroups {
		s.st.entitiesUnder(id, out)
	}
}
