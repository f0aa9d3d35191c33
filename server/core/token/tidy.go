package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// tidy revokes every dead token (expired, used up, or with a dead or
// missing ancestor) together with its subtree, then drops index entries
// that point at nothing.
func (s *Store) tidy(ctx context.Context) (int, error) {
	ids, err := s.view.List(ctx, idPrefix)
	if err != nil {
		return 0, fmt.Errorf("token: tidy: list tokens: %w", err)
	}
	removed := 0
	var errs []error // per-token problems: reported, but tidy goes on
	for _, h := range ids {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		n, err := s.tidyOne(ctx, h)
		removed += n
		if err != nil {
			errs = append(errs, fmt.Errorf("token: tidy: %w", err))
		}
	}
	if err := s.tidyAccessors(ctx); err != nil {
		return removed, err
	}
	if err := s.tidyParents(ctx); err != nil {
		return removed, err
	}
	if removed > 0 {
		s.log.Info("token tidy removed tokens", "count", removed)
	}
	return removed, errors.Join(errs...)
}

// tidyOne revokes token h with its subtree when it is dead.
func (s *Store) tidyOne(ctx context.Context, h string) (int, error) {
	e, err := s.load(ctx, h)
	if err != nil || e == nil { // e == nil: already removed with an ancestor
		return 0, err
	}
	live, err := s.loadLive(ctx, h)
	if err != nil || live != nil {
		return 0, err
	}
	return s.revokeTree(ctx, h)
}

// tidyAccessors deletes accessor index entries whose token is gone.
func (s *Store) tidyAccessors(ctx context.Context) error {
	keys, err := s.view.List(ctx, accessorPrefix)
	if err != nil {
		return fmt.Errorf("token: tidy: list accessors: %w", err)
	}
	for _, ah := range keys {
		se, err := s.view.Get(ctx, accessorKey(ah))
		if err != nil {
			return fmt.Errorf("token: tidy: %w", err)
		}
		if se == nil {
			continue
		}
		var ar accessorRecord
		if json.Unmarshal(se.Value, &ar) == nil && ar.Token != "" {
			if e, err := s.load(ctx, ar.Token); err != nil || e != nil {
				if err != nil {
					return fmt.Errorf("token: tidy: %w", err)
				}
				continue
			}
		}
		if err := s.view.Delete(ctx, accessorKey(ah)); err != nil {
			return fmt.Errorf("token: tidy: delete accessor index: %w", err)
		}
	}
	return nil
}

// tidyParents deletes parent links whose child is gone. Children of a
// missing parent were revoked by tidy already (their chain is broken).
func (s *Store) tidyParents(ctx context.Context) error {
	parents, err := s.view.List(ctx, parentPrefix)
	if err != nil {
		return fmt.Errorf("token: tidy: list parents: %w", err)
	}
	for _, p := range parents {
		p = strings.TrimSuffix(p, "/")
		children, err := s.view.List(ctx, childrenPrefix(p))
		if err != nil {
			return fmt.Errorf("token: tidy: list children: %w", err)
		}
		for _, c := range children {
			e, err := s.load(ctx, c)
			if err != nil {
				return fmt.Errorf("token: tidy: %w", err)
			}
			if e != nil && e.parent == p {
				continue
			}
			if err := s.view.Delete(ctx, parentKey(p, c)); err != nil {
				return fmt.Errorf("token: tidy: delete parent link: %w", err)
			}
		}
	}
	return nil
}
