// Package postgres is the production store: the sqlstore engine on a pgx pool.
// It is the only package that imports pgx.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	neturl "net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultMaxConns is the connection pool size when the URL does not set
// pool_max_conns. Chosen by measurement (make bench-audit
// MEKONG_BENCH_POOLS=8,16,32, interleaved runs, 32 HTTP clients, a 2-core
// machine at load 1.6-3): audited reads 11,075 / 10,811 / 10,700 per s,
// searches 4,393 / 4,345 / 4,259, creates 919 / 986 / 949 with 8 / 16 /
// 32 connections. 16 writes fastest, reads within 3% of the best, and
// leaves room beyond the requests' own connections for the audit log's two
// committers and the bulk worker.
const DefaultMaxConns = 16

// Open connects to url (postgres://...) and returns the store. It does not
// migrate. The URL's pool_max_conns query parameter (pgxpool's name for it)
// sizes the connection pool; the other parameters go to pgx.
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	url, maxConns, err := poolSize(url)
	if err != nil {
		return nil, fmt.Errorf("postgres.Open: %w", err)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres.Open: %w", err)
	}
	// Search statements are planned with their values on every execution
	// (Dialect.SearchArgs); every other statement keeps PostgreSQL's plan
	// cache. plan_cache_mode=force_custom_plan for the whole session made
	// the fixed batched inserts of every write be planned again each time
	// (about 70 µs each).
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres.Open: %w", err)
	}
	return sqlstore.New(Dialect(), db, db), nil
}

// Dialect describes PostgreSQL to the engine.
func Dialect() sqlstore.Dialect {
	sub, _ := fs.Sub(migrations, "migrations")
	return sqlstore.Dialect{
		Name:      "postgres",
		Numbered:  true,
		ForUpdate: " FOR UPDATE",
		Arrays:    true,
		Lock: func(ctx context.Context, tx *sql.Tx, key int64) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, key)
			return err
		},
		IsUniqueViolation: func(err error) bool { return sqlState(err) == "23505" },
		IsTransient: func(err error) bool {
			s := sqlState(err)
			return s == "40001" || s == "40P01"
		},
		Migrations:     sub,
		LoadNew:        copyNew,
		AuditPartition: auditPartition,
		SearchArgs:     []any{pgx.QueryExecModeExec},
		AppendAudit:    appendAudit,
		Instr:          "strpos",
		Explain:        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ",
		ProbeFence:     " OFFSET 0",
		MigrationLock: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7370267853561004877)`) // "mekong migrate"
			return err
		},
	}
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// poolSize takes pool_max_conns out of a postgres:// URL. On a small
// database server fewer connections can write faster: with 32 clients
// posting single resources to a 2-core machine, 8 connections gave about
// 230 resources/s and 32 about 170-200, the rest being context switches.
func poolSize(raw string) (string, int, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "", 0, fmt.Errorf("invalid database URL: %w", err)
	}
	q := u.Query()
	v, set := q["pool_max_conns"]
	if !set {
		return raw, DefaultMaxConns, nil
	}
	n, err := strconv.Atoi(v[len(v)-1])
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("pool_max_conns=%q in the database URL: want a positive number of connections", v[len(v)-1])
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}
