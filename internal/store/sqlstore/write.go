package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/store"
)

// errRetry asks Write to run the transaction again: another writer created
// or changed the resource between our read and our write.
var errRetry = store.ErrRetry

const maxAttempts = 5

// Write implements store.Store. Concurrent writers of one resource are
// serialised by the row lock (PostgreSQL) or the single writer (SQLite); a
// writer that loses a race to create the row retries, so no version is ever
// lost or duplicated, and an If-Match writer that loses gets 412.
func (db *DB) Write(ctx context.Context, w store.Write) (*store.Result, error) {
	for attempt := 1; ; attempt++ {
		res, err := db.writeOnce(ctx, w)
		if err == nil {
			return res, nil
		}
		retry := errors.Is(err, errRetry) || (db.d.IsTransient != nil && db.d.IsTransient(err))
		if !retry {
			return nil, err
		}
		if attempt == maxAttempts {
			return nil, outcome.Conflict("%s/%s is being changed by other requests; try again", w.Type, w.ID)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func (db *DB) writeOnce(ctx context.Context, w store.Write) (*store.Result, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.Write: begin: %w", err)
	}
	at := &auditTx{}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	res, err := db.writeIn(ctx, tx, at, w)
	if err != nil {
		tx.Rollback() //nolint:errcheck // the lane is released only once the rows are gone
		db.endAudit(at, false, false)
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		db.endAudit(at, false, true)
		return nil, fmt.Errorf("sqlstore.Write: commit: %w", err)
	}
	db.endAudit(at, true, false)
	return res, nil
}

// writeIn performs one write inside tx, which the caller commits: a batch
// of one, so single writes and transactions share one algorithm.
func (db *DB) writeIn(ctx context.Context, tx *sql.Tx, at *auditTx, w store.Write) (*store.Result, error) {
	res, err := db.writeBatch(ctx, tx, at, []store.Write{w})
	if err != nil {
		var be *store.BatchError
		if errors.As(err, &be) {
			return nil, be.Err
		}
		return nil, err
	}
	return res[0], nil
}
