package aws

import (
	"context"
	"errors"
	"fmt"
	"time"
)

const (
	// walMinAge is how old a pending-user record must be before Periodic
	// rolls its user back: older than any creation still in flight (as
	// Vault's minAwsUserRollbackAge).
	walMinAge = 5 * time.Minute
	// walScanEvery spaces Periodic's scans of the records.
	walScanEvery = time.Minute
)

// Periodic implements logical.Periodic: it deletes the IAM users whose
// creation failed or was interrupted (a crash, a lost answer) and whose
// pending-user record is older than walMinAge, scanning at most once a
// minute. The error joins the failed rollbacks' errors (no secret).
func (b *Backend) Periodic(ctx context.Context) error {
	if b.storage == nil {
		return nil
	}
	now := b.now()
	b.cmu.Lock()
	due := now.Sub(b.lastScan) >= walScanEvery
	if due {
		b.lastScan = now
	}
	b.cmu.Unlock()
	if !due {
		return nil
	}
	return b.rollbackPending(ctx, now)
}

// rollbackPending rolls back the users of the records older than
// walMinAge at now.
func (b *Backend) rollbackPending(ctx context.Context, now time.Time) error {
	s := b.storage
	names, err := s.List(ctx, walPrefix)
	if err != nil {
		return fmt.Errorf("aws: list %s: %w", walPrefix, err)
	}
	var errs []error
	for _, name := range names {
		var w walUser
		found, err := getJSON(ctx, s, walPrefix+name, &w)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !found || now.Sub(w.Created) < walMinAge {
			continue
		}
		if err := b.rollbackOne(ctx, w.UserName); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.Delete(ctx, walPrefix+name); err != nil {
			errs = append(errs, fmt.Errorf("aws: delete %s%s: %w", walPrefix, name, err))
			continue
		}
		b.log.InfoContext(ctx, "aws: rolled back an unfinished IAM user", "username", w.UserName)
	}
	return errors.Join(errs...)
}

func (b *Backend) rollbackOne(ctx context.Context, username string) error {
	b.root.RLock()
	defer b.root.RUnlock()
	c, err := b.clientsFor(ctx, b.storage)
	if err != nil {
		return err
	}
	if err := deleteUser(ctx, c.iam, username); err != nil {
		return fmt.Errorf("aws: roll back IAM user %q: %w", username, err)
	}
	return nil
}
