package expiration

import (
	"context"
	"errors"
	"fmt"
)

// Tidy removes what no lease operation can use: token index entries
// whose lease is gone (or names another token), and lease records that
// do not decode or name another lease (each logged with its id before
// it is deleted). It returns how many entries it removed. It reads every
// stored lease: run it as an occasional maintenance task.
func (m *Manager) Tidy(ctx context.Context) (int, error) {
	if err := m.active(); err != nil {
		return 0, err
	}
	n, err := m.tidyRecords(ctx)
	if err != nil {
		return n, err
	}
	k, err := m.tidyTokenIndex(ctx)
	return n + k, err
}

// tidyRecords deletes corrupt lease records.
func (m *Manager) tidyRecords(ctx context.Context) (int, error) {
	n := 0
	err := walk(ctx, m.cfg.Storage, idPrefix, func(id string) error {
		removed, err := m.tidyRecord(ctx, id)
		if removed {
			n++
		}
		return err
	})
	return n, err
}

func (m *Manager) tidyRecord(ctx context.Context, id string) (bool, error) {
	defer m.locks.lock(id)()
	_, err := m.read(ctx, id)
	if !errors.Is(err, ErrCorrupt) {
		return false, err
	}
	m.cfg.Logger.Error("expiration: tidy: deleting a corrupt lease record", "lease_id", id, "error", err)
	if err := m.cfg.Storage.Delete(ctx, leaseKey(id)); err != nil {
		return false, fmt.Errorf("expiration: tidy: delete lease %s: %w", id, err)
	}
	m.forget(id)
	return true, nil
}

// tidyTokenIndex deletes token index entries that point at nothing.
func (m *Manager) tidyTokenIndex(ctx context.Context) (int, error) {
	n := 0
	err := walk(ctx, m.cfg.Storage, tokenPrefix, func(rel string) error {
		removed, err := m.tidyIndexEntry(ctx, tokenPrefix+rel)
		if removed {
			n++
		}
		return err
	})
	return n, err
}

func (m *Manager) tidyIndexEntry(ctx context.Context, key string) (bool, error) {
	se, err := m.cfg.Storage.Get(ctx, key)
	if err != nil || se == nil {
		return false, err
	}
	id := string(se.Value)
	defer m.locks.lock(id)()
	l, err := m.read(ctx, id)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return false, err
	}
	if l != nil && l.ClientTokenAccessor != "" && key == tokenKey(l.ClientTokenAccessor, id) {
		return false, nil
	}
	if err := m.cfg.Storage.Delete(ctx, key); err != nil {
		return false, fmt.Errorf("expiration: tidy: delete token index entry: %w", err)
	}
	return true, nil
}
