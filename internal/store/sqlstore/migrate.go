package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migrate applies the dialect's migrations that have not been applied yet,
// each in its own transaction, and returns how many it applied. Several
// gateway instances starting together are serialised by MigrationLock.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	names, err := fs.Glob(db.d.Migrations, "*.sql")
	if err != nil {
		return 0, fmt.Errorf("sqlstore.Migrate: %w", err)
	}
	sort.Strings(names)
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("sqlstore.Migrate: %w", err)
	}
	applied := 0
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return applied, fmt.Errorf("sqlstore.Migrate: migration %q must start with its number", name)
		}
		did, err := db.applyMigration(ctx, version, name)
		if err != nil {
			return applied, err
		}
		if did {
			applied++
		}
	}
	// The audit log's partitions for now and next month exist before the
	// first request is audited.
	if err := db.EnsureAuditPartitions(ctx); err != nil {
		return applied, fmt.Errorf("sqlstore.Migrate: %w", err)
	}
	return applied, nil
}

func (db *DB) applyMigration(ctx context.Context, version int, name string) (bool, error) {
	body, err := fs.ReadFile(db.d.Migrations, name)
	if err != nil {
		return false, fmt.Errorf("sqlstore.Migrate: %w", err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlstore.Migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck
	if db.d.MigrationLock != nil {
		if err := db.d.MigrationLock(ctx, tx); err != nil {
			return false, fmt.Errorf("sqlstore.Migrate: lock: %w", err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, rebind(db.d, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlstore.Migrate: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return false, fmt.Errorf("sqlstore.Migrate: %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, rebind(db.d, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), version, name, toMicros(db.now())); err != nil {
		return false, fmt.Errorf("sqlstore.Migrate: %w", err)
	}
	return true, tx.Commit()
}
