package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/secretumvault/secretumvault/storage"
)

// Storage layout inside the store's view:
//
//	entity/<id>   JSON entity, its aliases and its external memberships
//	group/<id>    JSON group, its member lists and its group alias
//
// Every reference points from the record that owns it: a group lists its
// member entities and member groups, an entity lists the external groups
// its logins joined. A change that touches several records is one atomic
// batch when the view supports transactions; otherwise its writes are
// ordered so that the records that stop referencing an object are written
// before the object is deleted, and an alias moving to another owner is
// written to the new owner first. Loading then repairs what a crash can
// leave: references to missing objects are dropped, and an alias found
// in two owners is kept in the one that updated it last.
const (
	entityPrefix = "entity/"
	groupPrefix  = "group/"
)

func entityKey(id string) string { return entityPrefix + id }
func groupKey(id string) string  { return groupPrefix + id }

func putOp(key string, v any) (*storage.Op, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("identity: encode %s: %w", key, err)
	}
	return &storage.Op{Kind: storage.OpPut, Entry: &storage.Entry{Key: key, Value: b}}, nil
}

func deleteOp(key string) *storage.Op {
	return &storage.Op{Kind: storage.OpDelete, Entry: &storage.Entry{Key: key}}
}

// probeTransactions reports whether the view really supports atomic
// batches (a View over a non-transactional backend says no only when
// asked).
func (s *Store) probeTransactions(ctx context.Context) bool {
	tx, ok := s.view.(storage.Transactional)
	return ok && tx.Transaction(ctx, nil) == nil
}

// apply writes ops atomically when the view can, else in order.
func (s *Store) apply(ctx context.Context, ops []*storage.Op) error {
	if len(ops) == 0 {
		return nil
	}
	if tx, ok := s.view.(storage.Transactional); ok && s.txOK.Load() && len(ops) > 1 {
		if err := tx.Transaction(ctx, ops); err != nil {
			return fmt.Errorf("identity: write: %w", err)
		}
		return nil
	}
	for _, op := range ops {
		var err error
		switch op.Kind {
		case storage.OpPut:
			err = s.view.Put(ctx, op.Entry)
		case storage.OpDelete:
			err = s.view.Delete(ctx, op.Entry.Key)
		}
		if err != nil {
			return fmt.Errorf("identity: write %s: %w", op.Entry.Key, err)
		}
	}
	return nil
}

// load reads every record into a fresh state and repairs it.
func (s *Store) load(ctx context.Context) (*state, error) {
	var groups []*group
	if err := s.loadAll(ctx, groupPrefix, func() any { g := &group{}; groups = append(groups, g); return g }); err != nil {
		return nil, err
	}
	var entities []*entity
	if err := s.loadAll(ctx, entityPrefix, func() any { e := &entity{}; entities = append(entities, e); return e }); err != nil {
		return nil, err
	}
	s.repair(entities, groups)
	st := newState()
	for _, g := range groups {
		st.putGroup(g)
	}
	for _, e := range entities {
		st.putEntity(e)
	}
	// A name is unique by construction; should storage hold two records
	// of one name, the one listed first keeps the name index.
	for _, g := range slices.Backward(groups) {
		st.groupByName[g.Name] = g
	}
	for _, e := range slices.Backward(entities) {
		st.entityByName[e.Name] = e
	}
	return st, nil
}

// loadAll decodes every record under prefix into the value newRecord
// returns for it.
func (s *Store) loadAll(ctx context.Context, prefix string, newRecord func() any) error {
	keys, err := s.view.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("identity: list %s: %w", prefix, err)
	}
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			continue
		}
		se, err := s.view.Get(ctx, prefix+k)
		if err != nil {
			return fmt.Errorf("identity: read %s%s: %w", prefix, k, err)
		}
		if se == nil {
			continue
		}
		rec := newRecord()
		if err := json.Unmarshal(se.Value, rec); err != nil {
			return fmt.Errorf("%w: %s%s: %w", ErrCorrupt, prefix, k, err)
		}
		if id := recordID(rec); id != k {
			return fmt.Errorf("%w: %s%s holds id %q", ErrCorrupt, prefix, k, id)
		}
	}
	return nil
}

func recordID(rec any) string {
	switch r := rec.(type) {
	case *group:
		return r.ID
	case *entity:
		return r.ID
	}
	return ""
}
