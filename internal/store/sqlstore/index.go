package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/search"
)

// indexTables are the search index tables, cleared together when a resource changes.
var indexTables = []string{"search_string", "search_token", "search_date", "search_number",
	"search_quantity", "search_reference", "search_uri", "search_composite"}

// maxRowsPerInsert keeps a multi-row INSERT under both databases' limits on
// bound parameters (SQLite's default is 32766).
const maxRowsPerInsert = 500

// clearIndex removes a resource's index rows.
func (db *DB) clearIndex(ctx context.Context, tx *sql.Tx, typ, id string) error {
	for _, q := range db.q.clearIndex {
		if _, err := tx.ExecContext(ctx, q, typ, id); err != nil {
			return fmt.Errorf("sqlstore: clear index: %w", err)
		}
	}
	return nil
}

// insertIndex writes a resource's index rows: one multi-row INSERT per
// table, not one statement per row, since a resource has dozens of rows.
func (db *DB) insertIndex(ctx context.Context, tx *sql.Tx, typ, id string, ix *search.Index) error {
	return db.insertIndexes(ctx, tx, []indexed{{typ: typ, id: id, ix: ix}})
}

// indexed is one resource's index rows.
type indexed struct {
	typ, id string
	ix      *search.Index
}

// insertIndexes writes the index rows of several resources with multi-row
// INSERTs across all of them: a bulk load of 1,000 resources costs a few
// dozen statements instead of eight per resource.
func (db *DB) insertIndexes(ctx context.Context, tx *sql.Tx, all []indexed) error {
	type row struct {
		typ, id string
		vals    []any
	}
	ins := func(table string, cols []string, rows []row) error {
		for start := 0; start < len(rows); start += maxRowsPerInsert {
			end := min(len(rows), start+maxRowsPerInsert)
			var b strings.Builder
			b.WriteString("INSERT INTO " + table + " (res_type, res_id, " + strings.Join(cols, ", ") + ") VALUES ")
			args := make([]any, 0, (end-start)*(len(cols)+2))
			for i := start; i < end; i++ {
				if i > start {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?" + strings.Repeat(", ?", len(cols)) + ")")
				args = append(args, rows[i].typ, rows[i].id)
				args = append(args, rows[i].vals...)
			}
			if _, err := tx.ExecContext(ctx, rebind(db.d, b.String()), args...); err != nil {
				return fmt.Errorf("sqlstore: index %s: %w", table, err)
			}
		}
		return nil
	}
	var str, tok, dat, num, qty, ref, uri, cmp []row
	for _, r := range all {
		ix := r.ix
		if ix == nil {
			continue
		}
		add := func(rows *[]row, vals ...any) { *rows = append(*rows, row{r.typ, r.id, vals}) }
		for _, x := range ix.Strings {
			add(&str, x.Param, x.Norm, x.Exact)
		}
		for _, x := range ix.Tokens {
			lo, hi := TokenSpan(x)
			add(&tok, x.Param, x.System, x.Code, x.Text, lo, hi)
		}
		for _, x := range ix.Dates {
			add(&dat, x.Param, x.Lo, x.Hi)
		}
		for _, x := range ix.Numbers {
			add(&num, x.Param, x.Value)
		}
		for _, x := range ix.Quantities {
			add(&qty, x.Param, x.Value, x.System, x.Code, x.Unit)
		}
		for _, x := range ix.Refs {
			add(&ref, x.Param, x.TargetType, x.TargetID, x.URL)
		}
		for _, x := range ix.URIs {
			add(&uri, x.Param, x.URI)
		}
		for _, x := range ix.Composites {
			add(&cmp, x.Param, x.System, x.Code, x.ValueSystem, x.ValueCode, x.Num, x.Unit, x.Lo, x.Hi, x.Str)
		}
	}
	steps := []struct {
		table string
		cols  []string
		rows  []row
	}{
		{"search_string", []string{"param", "norm", "exact"}, str},
		{"search_token", []string{"param", "system", "code", "text", "dlo", "dhi"}, tok},
		{"search_date", []string{"param", "lo", "hi"}, dat},
		{"search_number", []string{"param", "value"}, num},
		{"search_quantity", []string{"param", "value", "system", "code", "unit"}, qty},
		{"search_reference", []string{"param", "target_type", "target_id", "url"}, ref},
		{"search_uri", []string{"param", "uri"}, uri},
		{"search_composite", []string{"param", "system", "code", "value_system", "value_code", "num", "unit", "lo", "hi", "str"}, cmp},
	}
	for _, s := range steps {
		if err := ins(s.table, s.cols, s.rows); err != nil {
			return err
		}
	}
	return nil
}

// TokenSpan is the stored date span of a token row: the whole range when
// the resource has no primary date, so span filters never exclude it.
func TokenSpan(r search.TokenRow) (lo, hi int64) {
	if r.DateLo == 0 && r.DateHi == 0 {
		return math.MinInt64, math.MaxInt64
	}
	return r.DateLo, r.DateHi
}
