package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

var partitionNameRE = regexp.MustCompile(`^audit_log_y[0-9]{4}m[0-9]{2}$`)

// auditPartition makes sure the audit log has partition name for recorded
// times [lo, hi). Gateways starting together are serialised by an advisory
// lock. Rows the default partition took for that range meanwhile are moved
// into the new partition before it is attached, so making a month late
// never fails; their hashes do not depend on where they are stored.
func auditPartition(ctx context.Context, w *sql.DB, name string, lo, hi int64) error {
	if !partitionNameRE.MatchString(name) {
		return fmt.Errorf("postgres: invalid audit partition name %q", name)
	}
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	// The key is "mekong audit partitions", as MigrationLock's is "mekong migrate".
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7370267853561004878)`); err != nil {
		return err
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = $1 AND relkind IN ('r', 'p'))`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return tx.Commit()
	}
	// name is checked above and lo, hi are integers: nothing a client sent
	// reaches this text.
	for _, q := range []string{
		fmt.Sprintf(`CREATE TABLE %s (LIKE audit_log INCLUDING DEFAULTS)`, name),
		fmt.Sprintf(`WITH moved AS (DELETE FROM audit_log_default WHERE recorded >= %d AND recorded < %d RETURNING *) INSERT INTO %s SELECT * FROM moved`, lo, hi, name),
		fmt.Sprintf(`ALTER TABLE audit_log ATTACH PARTITION %s FOR VALUES FROM (%d) TO (%d)`, name, lo, hi),
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("postgres: audit partition %s: %w", name, err)
		}
	}
	return tx.Commit()
}

// appendAudit is the dialect's AppendAudit: the rows in one COPY, which is
// a transaction by itself (no BEGIN and COMMIT round trips). COPY costs
// PostgreSQL about a third less CPU per row than an INSERT of column
// arrays, and the gateway no array encoding.
func appendAudit(ctx context.Context, w *sql.DB, table string, cols []string, rows [][]any) error {
	conn, err := w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
}
