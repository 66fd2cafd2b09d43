package sqlstore

import (
	"context"
	"database/sql"
	"math"

	"github.com/mekong-fhir/mekong/fhir/search"
)

// indexTables are the search index tables, cleared together when a resource changes.
var indexTables = []*table{
	tbl("search_string", "res_type", cText, "res_id", cText, "param", cText, "norm", cText, "exact", cText),
	tbl("search_token", "res_type", cText, "res_id", cText, "param", cText, "system", cText, "code", cText,
		"text", cText, "dlo", cInt, "dhi", cInt),
	tbl("search_date", "res_type", cText, "res_id", cText, "param", cText, "lo", cInt, "hi", cInt),
	tbl("search_number", "res_type", cText, "res_id", cText, "param", cText, "value", cFloat),
	tbl("search_quantity", "res_type", cText, "res_id", cText, "param", cText, "value", cFloat,
		"system", cText, "code", cText, "unit", cText),
	tbl("search_reference", "res_type", cText, "res_id", cText, "param", cText, "target_type", cText,
		"target_id", cText, "url", cText),
	tbl("search_uri", "res_type", cText, "res_id", cText, "param", cText, "uri", cText),
	tbl("search_composite", "res_type", cText, "res_id", cText, "param", cText, "system", cText, "code", cText,
		"value_system", cText, "value_code", cText, "num", cFloat, "unit", cText, "lo", cInt, "hi", cInt, "str", cText),
}

// maxRowsPerInsert keeps a multi-row INSERT under both databases' limits on
// bound parameters (SQLite's default is 32766).
const maxRowsPerInsert = 500

// clearIndex removes the index rows of resources: one DELETE per table for
// the whole batch.
func (db *DB) clearIndex(ctx context.Context, tx *sql.Tx, keys []resKey) error {
	if len(keys) == 0 {
		return nil
	}
	if db.d.Arrays {
		// One statement (the keys are arrays, so one condition covers them
		// all): each table's delete a data-modifying WITH query, as in
		// insertMany.
		stmts := db.keysWhere(keys, func(where string, args []any) stmt {
			parts := make([]string, len(indexTables))
			var all []any
			for i, t := range indexTables {
				parts[i] = "DELETE FROM " + t.name + " WHERE " + where
				all = append(all, args...)
			}
			return stmt{chainWith(parts), all}
		})
		_, err := execAll(ctx, tx, "clear index", stmts)
		return err
	}
	for _, t := range indexTables {
		stmts := db.keysWhere(keys, func(where string, args []any) stmt {
			return stmt{"DELETE FROM " + t.name + " WHERE " + where, args}
		})
		if _, err := execAll(ctx, tx, "clear "+t.name, stmts); err != nil {
			return err
		}
	}
	return nil
}

// indexed is a resource whose index rows a batch writes.
type indexed struct {
	typ, id string
	ix      *search.Index
}

// insertIndex writes the index rows of a batch of resources, gathering each
// table's rows of every resource into one statement: a resource has dozens
// of rows and a transaction hundreds of resources.
// tags are access_tags rows and queued identity_queue rows written with them
// (in the same statement on PostgreSQL).
func (db *DB) insertIndex(ctx context.Context, tx *sql.Tx, items []indexed, tags, queued [][]any) error {
	rows := make([][][]any, len(indexTables))
	for _, it := range items {
		ix, t, id := it.ix, it.typ, it.id
		if ix == nil {
			continue
		}
		for _, r := range ix.Strings {
			rows[0] = append(rows[0], []any{t, id, r.Param, r.Norm, r.Exact})
		}
		for _, r := range ix.Tokens {
			lo, hi := TokenSpan(r)
			rows[1] = append(rows[1], []any{t, id, r.Param, r.System, r.Code, r.Text, lo, hi})
		}
		for _, r := range ix.Dates {
			rows[2] = append(rows[2], []any{t, id, r.Param, r.Lo, r.Hi})
		}
		for _, r := range ix.Numbers {
			rows[3] = append(rows[3], []any{t, id, r.Param, r.Value})
		}
		for _, r := range ix.Quantities {
			rows[4] = append(rows[4], []any{t, id, r.Param, r.Value, r.System, r.Code, r.Unit})
		}
		for _, r := range ix.Refs {
			rows[5] = append(rows[5], []any{t, id, r.Param, r.TargetType, r.TargetID, r.URL})
		}
		for _, r := range ix.URIs {
			rows[6] = append(rows[6], []any{t, id, r.Param, r.URI})
		}
		for _, r := range ix.Composites {
			rows[7] = append(rows[7], []any{t, id, r.Param, r.System, r.Code, r.ValueSystem, r.ValueCode, r.Num, r.Unit, r.Lo, r.Hi, r.Str})
		}
	}
	tables := append(indexTables[:len(indexTables):len(indexTables)], accessTagsTable, identityQueueTable)
	_, err := execAll(ctx, tx, "index", db.insertMany(tables, append(rows, tags, queued)))
	return err
}

// TokenSpan is the stored date span of a token row: the whole range when
// the resource has no primary date, so span filters never exclude it.
func TokenSpan(r search.TokenRow) (lo, hi int64) {
	if r.DateLo == 0 && r.DateHi == 0 {
		return math.MinInt64, math.MaxInt64
	}
	return r.DateLo, r.DateHi
}
