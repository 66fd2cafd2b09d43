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
	if ix == nil {
		return nil
	}
	ins := func(table string, cols []string, n int, row func(i int) []any) error {
		for start := 0; start < n; start += maxRowsPerInsert {
			end := min(n, start+maxRowsPerInsert)
			var b strings.Builder
			b.WriteString("INSERT INTO " + table + " (res_type, res_id, " + strings.Join(cols, ", ") + ") VALUES ")
			args := make([]any, 0, (end-start)*(len(cols)+2))
			for i := start; i < end; i++ {
				if i > start {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?" + strings.Repeat(", ?", len(cols)) + ")")
				args = append(args, typ, id)
				args = append(args, row(i)...)
			}
			if _, err := tx.ExecContext(ctx, rebind(db.d, b.String()), args...); err != nil {
				return fmt.Errorf("sqlstore: index %s: %w", table, err)
			}
		}
		return nil
	}
	if err := ins("search_string", []string{"param", "norm", "exact"}, len(ix.Strings), func(i int) []any {
		r := ix.Strings[i]
		return []any{r.Param, r.Norm, r.Exact}
	}); err != nil {
		return err
	}
	if err := ins("search_token", []string{"param", "system", "code", "text", "dlo", "dhi"}, len(ix.Tokens), func(i int) []any {
		r := ix.Tokens[i]
		lo, hi := TokenSpan(r)
		return []any{r.Param, r.System, r.Code, r.Text, lo, hi}
	}); err != nil {
		return err
	}
	if err := ins("search_date", []string{"param", "lo", "hi"}, len(ix.Dates), func(i int) []any {
		r := ix.Dates[i]
		return []any{r.Param, r.Lo, r.Hi}
	}); err != nil {
		return err
	}
	if err := ins("search_number", []string{"param", "value"}, len(ix.Numbers), func(i int) []any {
		r := ix.Numbers[i]
		return []any{r.Param, r.Value}
	}); err != nil {
		return err
	}
	if err := ins("search_quantity", []string{"param", "value", "system", "code", "unit"}, len(ix.Quantities), func(i int) []any {
		r := ix.Quantities[i]
		return []any{r.Param, r.Value, r.System, r.Code, r.Unit}
	}); err != nil {
		return err
	}
	if err := ins("search_reference", []string{"param", "target_type", "target_id", "url"}, len(ix.Refs), func(i int) []any {
		r := ix.Refs[i]
		return []any{r.Param, r.TargetType, r.TargetID, r.URL}
	}); err != nil {
		return err
	}
	if err := ins("search_uri", []string{"param", "uri"}, len(ix.URIs), func(i int) []any {
		r := ix.URIs[i]
		return []any{r.Param, r.URI}
	}); err != nil {
		return err
	}
	return ins("search_composite", []string{"param", "system", "code", "value_system", "value_code", "num", "unit", "lo", "hi", "str"}, len(ix.Composites), func(i int) []any {
		r := ix.Composites[i]
		return []any{r.Param, r.System, r.Code, r.ValueSystem, r.ValueCode, r.Num, r.Unit, r.Lo, r.Hi, r.Str}
	})
}

// TokenSpan is the stored date span of a token row: the whole range when
// the resource has no primary date, so span filters never exclude it.
func TokenSpan(r search.TokenRow) (lo, hi int64) {
	if r.DateLo == 0 && r.DateHi == 0 {
		return math.MinInt64, math.MaxInt64
	}
	return r.DateLo, r.DateHi
}
