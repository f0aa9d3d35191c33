package expiration

import (
	"context"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/storage"
)

// read returns the stored lease id; (nil, nil) when absent.
func (m *Manager) read(ctx context.Context, id string) (*Lease, error) {
	se, err := m.cfg.Storage.Get(ctx, leaseKey(id))
	if err != nil {
		return nil, fmt.Errorf("expiration: read lease %s: %w", id, err)
	}
	if se == nil {
		return nil, nil
	}
	return decodeLease(id, se.Value)
}

// write stores l's record (its index entries already exist).
func (m *Manager) write(ctx context.Context, l *Lease) error {
	b, err := encodeLease(l)
	if err != nil {
		return err
	}
	if err := m.cfg.Storage.Put(ctx, &storage.Entry{Key: leaseKey(l.ID), Value: b}); err != nil {
		return fmt.Errorf("expiration: write lease %s: %w", l.ID, err)
	}
	return nil
}

// create stores a new lease: token index entry first, then the record.
func (m *Manager) create(ctx context.Context, l *Lease) error {
	b, err := encodeLease(l)
	if err != nil {
		return err
	}
	var ops []*storage.Op
	if l.ClientTokenAccessor != "" {
		ops = append(ops, putOp(tokenKey(l.ClientTokenAccessor, l.ID), []byte(l.ID)))
	}
	ops = append(ops, putOp(leaseKey(l.ID), b))
	if err := m.apply(ctx, ops); err != nil {
		return fmt.Errorf("expiration: store lease %s: %w", l.ID, err)
	}
	return nil
}

// remove deletes a lease: the record first, then its token index entry.
func (m *Manager) remove(ctx context.Context, l *Lease) error {
	ops := []*storage.Op{deleteOp(leaseKey(l.ID))}
	if l.ClientTokenAccessor != "" {
		ops = append(ops, deleteOp(tokenKey(l.ClientTokenAccessor, l.ID)))
	}
	if err := m.apply(ctx, ops); err != nil {
		return fmt.Errorf("expiration: delete lease %s: %w", l.ID, err)
	}
	return nil
}

// apply writes ops atomically when the storage can, else in order.
func (m *Manager) apply(ctx context.Context, ops []*storage.Op) error {
	m.mu.RLock()
	txOK := m.txOK
	m.mu.RUnlock()
	if tx, ok := m.cfg.Storage.(storage.Transactional); ok && txOK && len(ops) > 1 {
		return tx.Transaction(ctx, ops)
	}
	for _, op := range ops {
		var err error
		if op.Kind == storage.OpPut {
			err = m.cfg.Storage.Put(ctx, op.Entry)
		} else {
			err = m.cfg.Storage.Delete(ctx, op.Entry.Key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func putOp(key string, value []byte) *storage.Op {
	return &storage.Op{Kind: storage.OpPut, Entry: &storage.Entry{Key: key, Value: value}}
}

func deleteOp(key string) *storage.Op {
	return &storage.Op{Kind: storage.OpDelete, Entry: &storage.Entry{Key: key}}
}

// walk calls fn with every key under prefix, recursively, as a path
// relative to prefix ("creds/ro/abc"), folder by folder in lexical order.
// It stops at fn's first error.
func walk(ctx context.Context, b storage.Backend, prefix string, fn func(rel string) error) error {
	dirs := []string{""}
	for len(dirs) > 0 {
		dir := dirs[0]
		dirs = dirs[1:]
		keys, err := b.List(ctx, prefix+dir)
		if err != nil {
			return fmt.Errorf("expiration: list %s%s: %w", prefix, dir, err)
		}
		var sub []string
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				sub = append(sub, dir+k)
				continue
			}
			if err := fn(dir + k); err != nil {
				return err
			}
		}
		dirs = append(sub, dirs...)
	}
	return nil
}
