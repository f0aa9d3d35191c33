package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// lockFor returns the write lock stripe of a key.
func (b *Backend) lockFor(path string) *sync.RWMutex {
	h := uint32(2166136261) // FNV-1a, inline to avoid allocating a hash.Hash
	for i := 0; i < len(path); i++ {
		h ^= uint32(path[i])
		h *= 16777619
	}
	return &b.locks[h%lockStripes]
}

// validatePath rejects key paths Vault users could not mean: empty, with
// empty or ".." segments (so also a leading or trailing "/"), or with NUL.
func validatePath(path string) error {
	if path == "" {
		return logical.InvalidRequest("path", "missing path")
	}
	if strings.IndexByte(path, 0) >= 0 {
		return logical.InvalidRequest("path", "must not contain NUL bytes")
	}
	for _, seg := range strings.Split(path, "/") {
		switch seg {
		case "":
			return logical.InvalidRequest("path", "must not contain empty segments or leading or trailing slashes")
		case "..", ".":
			return logical.InvalidRequest("path", "must not contain %q segments", seg)
		}
	}
	return nil
}

// getJSON decodes the entry at key into out; found=false when absent.
// Numbers decode as json.Number so integers keep their precision.
func getJSON(ctx context.Context, s logical.Storage, key string, out any) (found bool, err error) {
	e, err := s.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("kv: read %s: %w", key, err)
	}
	if e == nil {
		return false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(e.Value))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return false, fmt.Errorf("%w: %s: %w", ErrCorrupt, key, err)
	}
	return true, nil
}

func putOp(key string, v any) (*storage.Op, error) {
	buf, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("kv: encode %s: %w", key, err)
	}
	return &storage.Op{Kind: storage.OpPut, Entry: &storage.Entry{Key: key, Value: buf}}, nil
}

func deleteOp(key string) *storage.Op {
	return &storage.Op{Kind: storage.OpDelete, Entry: &storage.Entry{Key: key}}
}

// commit applies ops atomically when the storage is Transactional.
// Otherwise it applies them in order; callers order ops so that any
// prefix of them leaves a consistent store: new version data first, then
// the metadata that points at it, then deletes of data nothing points at.
func commit(ctx context.Context, s logical.Storage, ops []*storage.Op) error {
	if tx, ok := s.(storage.Transactional); ok {
		if err := tx.Transaction(ctx, ops); err != nil {
			return fmt.Errorf("kv: commit: %w", err)
		}
		return nil
	}
	for _, op := range ops {
		var err error
		if op.Kind == storage.OpPut {
			err = s.Put(ctx, op.Entry)
		} else {
			err = s.Delete(ctx, op.Entry.Key)
		}
		if err != nil {
			return fmt.Errorf("kv: write %s: %w", op.Entry.Key, err)
		}
	}
	return nil
}

func loadConfig(ctx context.Context, s logical.Storage) (*mountConfig, error) {
	cfg := &mountConfig{}
	if _, err := getJSON(ctx, s, configKey, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// loadMetadata returns nil, nil for a key without metadata.
func loadMetadata(ctx context.Context, s logical.Storage, path string) (*keyMetadata, error) {
	key := metadataKey(path)
	e, err := s.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("kv: read %s: %w", key, err)
	}
	if e == nil {
		return nil, nil
	}
	meta, err := decodeMetadata(e.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, key, err)
	}
	return meta, nil
}

func putMetadataOp(path string, meta *keyMetadata) *storage.Op {
	return &storage.Op{Kind: storage.OpPut, Entry: &storage.Entry{Key: metadataKey(path), Value: encodeMetadata(meta)}}
}

// trim drops the oldest versions beyond limit and returns the delete ops
// for their data.
func trim(path string, meta *keyMetadata, limit int) []*storage.Op {
	excess := len(meta.Versions) - limit
	if excess <= 0 {
		return nil
	}
	ops := make([]*storage.Op, 0, excess)
	for _, vm := range meta.Versions[:excess] {
		if !vm.Destroyed {
			ops = append(ops, deleteOp(versionKey(path, vm.Version)))
		}
	}
	meta.Versions = slices.Delete(meta.Versions, 0, excess)
	meta.OldestVersion = meta.Versions[0].Version
	return ops
}
