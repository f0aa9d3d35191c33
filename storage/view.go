package storage

import (
	"context"
	"fmt"
	"strings"
)

// View is a Backend chrooted under a key prefix: keys passed in are
// relative to the prefix and keys returned are relative too. A View cannot
// reach outside its prefix ("../" is not special; it is just part of a key).
type View struct {
	backend Backend
	prefix  string
}

var _ Transactional = (*View)(nil)

// NewView returns a view of b under prefix. prefix should end in "/".
func NewView(b Backend, prefix string) *View {
	return &View{backend: b, prefix: prefix}
}

// Prefix returns the view's prefix in the underlying backend.
func (v *View) Prefix() string { return v.prefix }

// SubView returns a view nested under this one.
func (v *View) SubView(prefix string) *View {
	return &View{backend: v.backend, prefix: v.prefix + prefix}
}

// Get implements Backend.
func (v *View) Get(ctx context.Context, key string) (*Entry, error) {
	e, err := v.backend.Get(ctx, v.prefix+key)
	if err != nil || e == nil {
		return nil, err
	}
	return &Entry{Key: key, Value: e.Value}, nil
}

// Put implements Backend.
func (v *View) Put(ctx context.Context, e *Entry) error {
	if err := ValidateKey(e.Key); err != nil {
		return err
	}
	return v.backend.Put(ctx, &Entry{Key: v.prefix + e.Key, Value: e.Value})
}

// Delete implements Backend.
func (v *View) Delete(ctx context.Context, key string) error {
	return v.backend.Delete(ctx, v.prefix+key)
}

// List implements Backend.
func (v *View) List(ctx context.Context, prefix string) ([]string, error) {
	return v.backend.List(ctx, v.prefix+prefix)
}

// Transaction implements Transactional when the underlying backend does.
func (v *View) Transaction(ctx context.Context, ops []*Op) error {
	tx, ok := v.backend.(Transactional)
	if !ok {
		return fmt.Errorf("storage: view over %T: transactions unsupported", v.backend)
	}
	prefixed := make([]*Op, len(ops))
	for i, op := range ops {
		prefixed[i] = &Op{Kind: op.Kind, Entry: &Entry{Key: v.prefix + op.Entry.Key, Value: op.Entry.Value}}
	}
	return tx.Transaction(ctx, prefixed)
}

// ListChildren computes Vault's List contract from a sorted list of full
// keys that all start with prefix: immediate children, directories once
// with a trailing "/". Backends use it to implement List.
func ListChildren(prefix string, keys []string) []string {
	out := make([]string, 0, len(keys))
	last := ""
	for _, k := range keys {
		rest := strings.TrimPrefix(k, prefix)
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i+1]
		}
		if rest == "" || rest == last {
			continue
		}
		out = append(out, rest)
		last = rest
	}
	return out
}
