// Package sqlstore is the SQL engine behind both stores. The write algorithm
// (version locking, conditional create, index rows in the same transaction)
// lives here once; a Dialect supplies what differs between PostgreSQL and
// SQLite, so the two backends cannot drift apart.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/internal/store"
)

// Dialect is what differs between databases.
type Dialect struct {
	Name string
	// Numbered placeholders ($1) instead of "?".
	Numbered bool
	// ForUpdate is appended to the current-version lookup of a write.
	ForUpdate string
	// Arrays binds a batch's columns and id lists as arrays (unnest, = ANY):
	// one statement text whatever the batch size, so it stays prepared on
	// the connection (PostgreSQL). Without it, multi-row VALUES and IN lists.
	Arrays bool
	// Lock takes a transaction-scoped lock on key (conditional create); nil
	// when writes are already serialised (SQLite).
	Lock func(ctx context.Context, tx *sql.Tx, key int64) error
	// IsUniqueViolation reports a duplicate key error.
	IsUniqueViolation func(error) bool
	// IsTransient reports an error worth retrying the transaction for
	// (serialisation failure, deadlock, busy database).
	IsTransient func(error) bool
	// Migrations holds NNNN_name.sql files applied in order.
	Migrations fs.FS
	// ProbeFence ends a per-row probe subquery so the planner keeps it per
	// row. PostgreSQL otherwise may turn a correlated EXISTS into a hashed
	// subplan that reads every matching row of the index (36,938 rows to
	// check 3 Immunizations); OFFSET 0 blocks that rewrite. SQLite always
	// runs correlated subqueries per row.
	ProbeFence string
	// Explain prefixes a query to get its plan.
	Explain string
	// MigrationLock serialises migrations from several gateway instances.
	MigrationLock func(ctx context.Context, tx *sql.Tx) error
	// LoadNew, when set, is the dialect's fast path for store.Bulk.LoadNew
	// (COPY on PostgreSQL); nil uses multi-row INSERTs in one transaction.
	LoadNew func(ctx context.Context, w *sql.DB, batch []store.NewResource) error
	// AuditPartition, when set, makes sure the audit log's partition name
	// holds recorded times [lo, hi) (PostgreSQL's monthly partitions); nil
	// when the log is one table.
	AuditPartition func(ctx context.Context, w *sql.DB, name string, lo, hi int64) error
	// AppendAudit, when set, appends audit log rows (in auditTable's column
	// order) to table (the log or one of its partitions) in a transaction
	// of its own: COPY on PostgreSQL. nil uses batched INSERTs.
	AppendAudit func(ctx context.Context, w *sql.DB, table string, cols []string, rows [][]any) error
	// SearchArgs, prepended to the arguments of a search statement, makes
	// the driver plan it with its values every time (PostgreSQL: pgx's
	// QueryExecModeExec, an unnamed statement): a search's selectivity
	// depends on its values (one patient's Observations, or a code half
	// the table has), and a cached generic plan was seen to walk a whole
	// index for 15 rows. Every other statement (the fixed batched inserts,
	// reads by id) keeps its prepared, cached plan.
	SearchArgs []any
	// Instr names the function returning the position of a substring
	// (strpos, instr): the audit log's coding lists are searched with it.
	Instr string
	// PrepareReads keeps reads by id prepared on the read pool (stmtCache),
	// for a driver that parses every statement it is not asked to prepare.
	PrepareReads bool
}

// DB is a store over database/sql.
type DB struct {
	d Dialect
	// w takes writes; r takes reads. They are the same pool on PostgreSQL;
	// SQLite gets one writer connection so writers queue in Go instead of
	// spinning on SQLITE_BUSY.
	w, r *sql.DB
	// rq runs reads by id: r, or r through a statement cache (PrepareReads).
	rq  queryer
	q   queries
	now func() time.Time
	// unqueued turns the identity queue off (SetIdentityQueue).
	unqueued bool
	// audit holds the audit log's hash chain lanes (auditlog.go).
	audit auditState
}

// SetIdentityQueue turns the identity queue (store.Identity) on, as it is
// by default, or off: then no write queues a Patient for the linker. Off is
// for measuring what identity linking costs a write path, never for a
// database whose Patients are linked: a write missing from the queue is
// never linked. Call it before the store is used.
func (db *DB) SetIdentityQueue(on bool) { db.unqueued = !on }

// New wraps open pools. Call Migrate before use.
func New(d Dialect, writer, reader *sql.DB) *DB {
	db := &DB{d: d, w: writer, r: reader, rq: reader, q: prepareQueries(d), now: time.Now}
	if d.PrepareReads {
		db.rq = newStmtCache(reader)
	}
	return db
}

// SetClock replaces the clock (tests).
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// Writer exposes the write pool to dialect packages (bulk paths).
func (db *DB) Writer() *sql.DB { return db.w }

// Pools returns the write and read pools (the same pool on PostgreSQL), so
// their statistics can be exported as metrics.
func (db *DB) Pools() (writer, reader *sql.DB) { return db.w, db.r }

// AuditCommitters implements store.AuditCommitters: two audit commits in
// flight, so that one gathers its batch while the other waits for its
// fsync, unless the database has a single writer connection (SQLite),
// where a second commit only waits for the first with a smaller batch
// (measured with 32 clients reading: 11,022 audited reads/s with one,
// 9,777 with two).
func (db *DB) AuditCommitters() int {
	if db.w.Stats().MaxOpenConnections == 1 {
		return 1
	}
	return 2
}

// Ping implements store.Store.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore.Ping: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (db *DB) Close() error {
	var err error
	if c, ok := db.rq.(*stmtCache); ok {
		err = c.Close()
	}
	if st := db.audit.insert.Load(); st != nil {
		err = errors.Join(err, st.Close())
	}
	err = errors.Join(err, db.w.Close())
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// rebind turns "?" placeholders into "$n" for numbered dialects.
func rebind(d Dialect, q string) string {
	if !d.Numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

type queries struct {
	readCurrent, readVersion                            string
	historyAll, historyType, historyInstance            string
	historyAllSince, historyTypeSince, historyInstSince string
}

const versionCols = `res_type, res_id, version_id, last_updated, method, deleted, content, seq`

func prepareQueries(d Dialect) queries {
	r := func(q string) string { return rebind(d, q) }
	hist := func(where string) string {
		return r(`SELECT ` + versionCols + ` FROM resource_versions WHERE seq < ?` + where + ` ORDER BY seq DESC LIMIT ?`)
	}
	return queries{
		readCurrent:      r(`SELECT version_id, last_updated, deleted, content FROM resources WHERE res_type = ? AND res_id = ?`),
		readVersion:      r(`SELECT ` + versionCols + ` FROM resource_versions WHERE res_type = ? AND res_id = ? AND version_id = ?`),
		historyAll:       hist(``),
		historyType:      hist(` AND res_type = ?`),
		historyInstance:  hist(` AND res_type = ? AND res_id = ?`),
		historyAllSince:  hist(` AND last_updated >= ?`),
		historyTypeSince: hist(` AND res_type = ? AND last_updated >= ?`),
		historyInstSince: hist(` AND res_type = ? AND res_id = ? AND last_updated >= ?`),
	}
}

// Times are stored as microseconds since the Unix epoch: sortable, exact and
// the same on both databases.
func toMicros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// searchArgs are a search statement's arguments with the dialect's
// per-execution planning option first (Dialect.SearchArgs).
func (db *DB) searchArgs(args []any) []any {
	if len(db.d.SearchArgs) == 0 {
		return args
	}
	return append(append(make([]any, 0, len(args)+len(db.d.SearchArgs)), db.d.SearchArgs...), args...)
}
