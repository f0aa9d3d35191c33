package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// JSONStore reads and writes one engine's JSON storage entries. Errors
// name the engine (Engine: "pki") and the key, never the entry's value
// (it may hold a key or a password); an entry that does not decode is an
// error wrapping Corrupt, the engine's own sentinel.
type JSONStore struct {
	Engine  string
	Corrupt error
}

// Get decodes the entry at key into out; found=false when it is absent
// or on error.
func (j JSONStore) Get(ctx context.Context, s logical.Storage, key string, out any) (found bool, err error) {
	e, err := s.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("%s: read %s: %w", j.Engine, key, err)
	}
	if e == nil {
		return false, nil
	}
	if err := json.Unmarshal(e.Value, out); err != nil {
		return false, fmt.Errorf("%w: %s", j.Corrupt, key)
	}
	return true, nil
}

// Put stores v at key.
func (j JSONStore) Put(ctx context.Context, s logical.Storage, key string, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: encode %s: %w", j.Engine, key, err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: key, Value: buf}); err != nil {
		return fmt.Errorf("%s: write %s: %w", j.Engine, key, err)
	}
	return nil
}

// Delete removes key (an absent key is not an error).
func (j JSONStore) Delete(ctx context.Context, s logical.Storage, key string) error {
	if err := s.Delete(ctx, key); err != nil {
		return fmt.Errorf("%s: delete %s: %w", j.Engine, key, err)
	}
	return nil
}

// List lists the names under prefix.
func (j JSONStore) List(ctx context.Context, s logical.Storage, prefix string) ([]string, error) {
	keys, err := s.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("%s: list %s: %w", j.Engine, prefix, err)
	}
	return keys, nil
}

// Stripes are name-hashed mutexes, for serialising the writes of one
// role or key name without a lock per name. The zero value is ready.
type Stripes [64]sync.Mutex

// Of returns the mutex of name.
func (s *Stripes) Of(name string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(name))
	return &s[h.Sum32()%uint32(len(s))]
}

// Load reads the JSON entry at key as a T: nil (and no error) when it is
// absent.
func Load[T any](ctx context.Context, j JSONStore, s logical.Storage, key string) (*T, error) {
	var v T
	if found, err := j.Get(ctx, s, key, &v); !found {
		return nil, err
	}
	return &v, nil
}
