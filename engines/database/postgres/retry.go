package postgres

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL refuses some concurrent catalog changes instead of waiting:
// two transactions granting on one table's ACL (Vault's documented
// "GRANT SELECT ON ALL TABLES" creation statement under concurrent creds
// requests) fail with "tuple concurrently updated" (SQLSTATE XX000), and
// role changes can deadlock (40P01) or fail serialization (40001). The
// transaction was rolled back whole, so running it again is safe.

// txAttempts bounds the runs of one transaction.
const txAttempts = 6

// retryable reports a failure that a fresh run of the same transaction
// may not meet.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return true
	case "XX000": // internal_error: only the concurrent-update one
		return pe.Message == "tuple concurrently updated"
	}
	return false
}

// inTx runs commands in one transaction, committed when all succeed,
// running it again (after a short jittered wait) when PostgreSQL refused
// it for a concurrent change.
func inTx(ctx context.Context, db *sql.DB, commands []string, vars map[string]string) error {
	wait := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := inTxOnce(ctx, db, commands, vars)
		if err == nil || attempt == txAttempts || !retryable(err) {
			return err
		}
		t := time.NewTimer(wait/2 + rand.N(wait))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		}
		wait *= 2
	}
}
