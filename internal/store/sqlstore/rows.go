package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// colType is what a column holds, for binding a whole column as one array.
type colType byte

const (
	cText colType = iota
	cInt
	cFloat
	cBool
	cBytes
)

var arrayType = [...]string{cText: "text[]", cInt: "bigint[]", cFloat: "float8[]", cBool: "boolean[]", cBytes: "bytea[]"}

// table describes the columns a batch inserts into one table.
type table struct {
	name  string
	cols  []string
	types []colType
}

func tbl(name string, cols ...any) *table {
	t := &table{name: name}
	for i := 0; i < len(cols); i += 2 {
		t.cols = append(t.cols, cols[i].(string))
		t.types = append(t.types, cols[i+1].(colType))
	}
	return t
}

var (
	resourcesTable = tbl("resources", "res_type", cText, "res_id", cText, "version_id", cInt,
		"last_updated", cInt, "deleted", cBool, "tenant", cText, "content", cBytes)
	versionsTable = tbl("resource_versions", "res_type", cText, "res_id", cText, "version_id", cInt,
		"last_updated", cInt, "method", cText, "deleted", cBool, "tenant", cText, "content", cBytes)
	accessTagsTable = tbl("access_tags", "res_type", cText, "res_id", cText, "version_id", cInt, "tag", cText)
	// identityQueueTable takes a row per Patient version written (store.Identity).
	identityQueueTable = tbl("identity_queue", "res_id", cText)
)

// stmt is one statement with its arguments.
type stmt struct {
	sql  string
	args []any
}

// inserts returns the statements that insert rows into t, each followed by
// suffix (ON CONFLICT, RETURNING). With column arrays (PostgreSQL) it is one
// statement whose text does not depend on the number of rows, so it stays
// prepared on the connection; otherwise multi-row VALUES of at most
// maxRowsPerInsert rows.
func (db *DB) inserts(t *table, rows [][]any, suffix string) []stmt {
	if len(rows) == 0 {
		return nil
	}
	head := "INSERT INTO " + t.name + " (" + strings.Join(t.cols, ", ") + ") "
	if db.d.Arrays {
		q, args := arrayInsert(t, rows)
		return []stmt{{rebind(db.d, q+suffix), args}}
	}
	var out []stmt
	row := "(?" + strings.Repeat(", ?", len(t.cols)-1) + ")"
	for start := 0; start < len(rows); start += maxRowsPerInsert {
		end := min(len(rows), start+maxRowsPerInsert)
		var b strings.Builder
		b.WriteString(head + "VALUES ")
		args := make([]any, 0, (end-start)*len(t.cols))
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString(row)
			args = append(args, rows[i]...)
		}
		b.WriteString(suffix)
		out = append(out, stmt{rebind(db.d, b.String()), args})
	}
	return out
}

// arrayInsert is the unnest form of an insert of rows into t, with ?
// placeholders: one array argument per column.
func arrayInsert(t *table, rows [][]any) (string, []any) {
	var b strings.Builder
	b.WriteString("INSERT INTO " + t.name + " (" + strings.Join(t.cols, ", ") + ") SELECT * FROM unnest(")
	args := make([]any, len(t.cols))
	for c, typ := range t.types {
		if c > 0 {
			b.WriteString(", ")
		}
		b.WriteString("?::" + arrayType[typ])
		args[c] = column(rows, c, typ)
	}
	b.WriteString(")")
	return b.String(), args
}

// insertMany returns the statements inserting rows[i] into ts[i] for every
// table that has rows. With arrays (PostgreSQL) that is one statement, each
// table's insert a data-modifying WITH query
// (https://www.postgresql.org/docs/15/queries-with.html#QUERIES-WITH-MODIFYING,
// always run to completion): a write's index rows cost one round trip
// instead of one per table, which is what single writes from many clients
// wait on. Otherwise a statement per table (and chunk).
func (db *DB) insertMany(ts []*table, rows [][][]any) []stmt {
	if !db.d.Arrays {
		var out []stmt
		for i, t := range ts {
			out = append(out, db.inserts(t, rows[i], "")...)
		}
		return out
	}
	var parts []string
	var args []any
	for i, t := range ts {
		if len(rows[i]) == 0 {
			continue
		}
		q, a := arrayInsert(t, rows[i])
		parts = append(parts, q)
		args = append(args, a...)
	}
	if len(parts) == 0 {
		return nil
	}
	return []stmt{{rebind(db.d, chainWith(parts)), args}}
}

// chainWith makes one statement of several data-modifying statements (no
// RETURNING): all but the last become WITH queries, which PostgreSQL runs
// to completion whether or not anything reads them.
func chainWith(parts []string) string {
	var b strings.Builder
	for i, q := range parts[:len(parts)-1] {
		if i == 0 {
			b.WriteString("WITH ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "w%d AS (%s)", i, q)
	}
	if len(parts) > 1 {
		b.WriteString(" ")
	}
	b.WriteString(parts[len(parts)-1])
	return b.String()
}

// column gathers column c of rows into a typed slice the driver sends as an array.
func column(rows [][]any, c int, typ colType) any {
	switch typ {
	case cInt:
		return gather[int64](rows, c)
	case cFloat:
		return gather[float64](rows, c)
	case cBool:
		return gather[bool](rows, c)
	case cBytes:
		return gather[[]byte](rows, c)
	}
	return gather[string](rows, c)
}

func gather[T any](rows [][]any, c int) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = r[c].(T)
	}
	return out
}

// execer runs statements: a transaction, or the pool for a statement that
// is a transaction of its own.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// execAll runs statements that return no rows.
func execAll(ctx context.Context, tx execer, what string, stmts []stmt) (int64, error) {
	var n int64
	for _, s := range stmts {
		r, err := tx.ExecContext(ctx, s.sql, s.args...)
		if err != nil {
			return 0, fmt.Errorf("sqlstore: %s: %w", what, err)
		}
		k, _ := r.RowsAffected()
		n += k
	}
	return n, nil
}

// resKey names one resource.
type resKey struct{ typ, id string }

// keysWhere returns statements selecting the rows of keys: a condition on
// (res_type, res_id) per chunk, grouped by type so each group is an index
// range, with the ids as one array on PostgreSQL.
func (db *DB) keysWhere(keys []resKey, build func(where string, args []any) stmt) []stmt {
	var out []stmt
	chunk := len(keys)
	if !db.d.Arrays {
		chunk = maxRowsPerInsert
	}
	for start := 0; start < len(keys); start += chunk {
		end := min(len(keys), start+chunk)
		byType := map[string][]string{}
		var types []string
		for _, k := range keys[start:end] {
			if byType[k.typ] == nil {
				types = append(types, k.typ)
			}
			byType[k.typ] = append(byType[k.typ], k.id)
		}
		var b strings.Builder
		var args []any
		for i, typ := range types {
			if i > 0 {
				b.WriteString(" OR ")
			}
			ids := byType[typ]
			args = append(args, typ)
			if db.d.Arrays {
				b.WriteString("(res_type = ? AND res_id = ANY(?))")
				args = append(args, ids)
				continue
			}
			b.WriteString("(res_type = ? AND res_id IN (?" + strings.Repeat(", ?", len(ids)-1) + "))")
			for _, id := range ids {
				args = append(args, id)
			}
		}
		s := build(b.String(), args)
		s.sql = rebind(db.d, s.sql)
		out = append(out, s)
	}
	return out
}
