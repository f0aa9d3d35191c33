// Package storage defines the physical storage contract every backend
// (raft, inmem, postgres) and every layer above it (barrier, views) speaks.
//
// Keys are slash-separated strings. Values are opaque bytes: the barrier
// encrypts before a value reaches a physical backend, so backends never see
// plaintext secrets.
package storage

import (
	"context"
	"errors"
)

// Sentinel errors shared by all backends.
var (
	// ErrTooLarge is returned when a value or batch exceeds a backend limit.
	ErrTooLarge = errors.New("storage: value too large")
	// ErrClosed is returned by a backend after Close.
	ErrClosed = errors.New("storage: backend closed")
	// ErrInvalidKey is returned for an empty key or one with a NUL byte.
	ErrInvalidKey = errors.New("storage: invalid key")
)

// Entry is one key/value pair. Backends copy Value on Put; callers own the
// Value returned by Get and may modify it.
type Entry struct {
	Key   string
	Value []byte
}

// Backend is a physical or logical key/value store.
//
// Get returns (nil, nil) when the key does not exist. List returns the
// immediate children of prefix in lexical order: plain keys by their
// remaining name, and "directories" (keys with more segments) once each,
// with a trailing "/" — the same contract as Vault's physical.Backend.
// All methods are safe for concurrent use.
type Backend interface {
	Get(ctx context.Context, key string) (*Entry, error)
	Put(ctx context.Context, entry *Entry) error
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, prefix string) ([]string, error)
}

// OpKind says what a batched operation does.
type OpKind uint8

// Operation kinds for Transactional backends.
const (
	OpPut OpKind = iota + 1
	OpDelete
)

// Op is one operation of an atomic batch. For OpDelete only Entry.Key is used.
type Op struct {
	Kind  OpKind
	Entry *Entry
}

// Transactional is an optional power of a Backend (found by type
// assertion): Transaction applies every op or none, atomically with respect
// to concurrent readers.
type Transactional interface {
	Backend
	Transaction(ctx context.Context, ops []*Op) error
}

// ValidateKey reports ErrInvalidKey for keys no backend may store.
func ValidateKey(key string) error {
	if key == "" {
		return ErrInvalidKey
	}
	for i := 0; i < len(key); i++ {
		if key[i] == 0 {
			return ErrInvalidKey
		}
	}
	return nil
}
