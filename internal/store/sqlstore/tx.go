package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Transaction implements store.Store: fn's reads and writes run in one
// database transaction, committed only if fn returns nil. When the database
// reports a conflict it can resolve by retrying (a concurrent create of the
// same id, a serialisation failure) fn runs again from the start, so fn
// must not keep state between runs.
func (db *DB) Transaction(ctx context.Context, fn func(store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.transactionOnce(ctx, fn)
		if err == nil {
			return nil
		}
		retry := errors.Is(err, errRetry) || (db.d.IsTransient != nil && db.d.IsTransient(err))
		if !retry {
			return err
		}
		if attempt == maxAttempts {
			return outcome.Conflict("the transaction conflicts with other requests changing the same resources; try again")
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func (db *DB) transactionOnce(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore.Transaction: begin: %w", err)
	}
	at := &auditTx{}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(&txStore{db: db, tx: tx, at: at}); err != nil {
		tx.Rollback() //nolint:errcheck // the lane is released only once the rows are gone
		db.endAudit(at, false, false)
		return err
	}
	if err := tx.Commit(); err != nil {
		db.endAudit(at, false, true)
		return fmt.Errorf("sqlstore.Transaction: commit: %w", err)
	}
	db.endAudit(at, true, false)
	return nil
}

// txStore is the store as seen from inside a transaction.
type txStore struct {
	db *DB
	tx *sql.Tx
	at *auditTx
}

func (t *txStore) Read(ctx context.Context, typ, id string) (*store.Version, error) {
	return t.db.current(ctx, t.tx, typ, id)
}

func (t *txStore) Write(ctx context.Context, w store.Write) (*store.Result, error) {
	return t.db.writeIn(ctx, t.tx, t.at, w)
}

// Match returns up to limit ids of live resources matching q, seeing the
// transaction's own writes.
func (t *txStore) Match(ctx context.Context, q *search.Query, limit int) ([]string, error) {
	return t.db.matchIDs(ctx, t.tx, q, limit)
}

// Lock implements store.Tx.
func (t *txStore) Lock(ctx context.Context, typ string, q *search.Query) error {
	return t.db.lockCriteria(ctx, t.tx, typ, q)
}

// WriteBatch implements store.Tx.
func (t *txStore) WriteBatch(ctx context.Context, ws []store.Write) ([]*store.Result, error) {
	return t.db.writeBatch(ctx, t.tx, t.at, ws)
}
