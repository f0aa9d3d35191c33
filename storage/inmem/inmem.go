// Package inmem is an in-memory storage.Backend for unit tests. It keeps a
// sorted key index so List is proportional to the result, not the store.
package inmem

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/secretumvault/secretumvault/storage"
)

// Backend is an in-memory, transactional storage.Backend.
type Backend struct {
	mu   sync.RWMutex
	data map[string][]byte
	keys []string // sorted
}

var _ storage.Transactional = (*Backend)(nil)

// New returns an empty Backend.
func New() *Backend {
	return &Backend{data: make(map[string][]byte)}
}

// Get implements storage.Backend.
func (b *Backend) Get(ctx context.Context, key string) (*storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	v, ok := b.data[key]
	if !ok {
		return nil, nil
	}
	return &storage.Entry{Key: key, Value: slices.Clone(v)}, nil
}

// Put implements storage.Backend.
func (b *Backend) Put(ctx context.Context, e *storage.Entry) error {
	return b.Transaction(ctx, []*storage.Op{{Kind: storage.OpPut, Entry: e}})
}

// Delete implements storage.Backend.
func (b *Backend) Delete(ctx context.Context, key string) error {
	return b.Transaction(ctx, []*storage.Op{{Kind: storage.OpDelete, Entry: &storage.Entry{Key: key}}})
}

// List implements storage.Backend.
func (b *Backend) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	i := sort.SearchStrings(b.keys, prefix)
	j := i
	for j < len(b.keys) && strings.HasPrefix(b.keys[j], prefix) {
		j++
	}
	return storage.ListChildren(prefix, b.keys[i:j]), nil
}

// Transaction implements storage.Transactional.
func (b *Backend) Transaction(ctx context.Context, ops []*storage.Op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, op := range ops {
		if err := storage.ValidateKey(op.Entry.Key); err != nil {
			return err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, op := range ops {
		k := op.Entry.Key
		switch op.Kind {
		case storage.OpPut:
			if _, ok := b.data[k]; !ok {
				i := sort.SearchStrings(b.keys, k)
				b.keys = slices.Insert(b.keys, i, k)
			}
			b.data[k] = slices.Clone(op.Entry.Value)
		case storage.OpDelete:
			if _, ok := b.data[k]; ok {
				delete(b.data, k)
				i := sort.SearchStrings(b.keys, k)
				b.keys = slices.Delete(b.keys, i, i+1)
			}
		}
	}
	return nil
}
