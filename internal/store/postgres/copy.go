package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
)

// NewResource is a resource created by a bulk load (store.NewResource).
type NewResource = store.NewResource

// CopyNew writes new resources with COPY, one transaction per call: the
// resources, their first versions and every index row. It is the bulk path
// for loads of resources known to be new (ids unique and absent); a
// duplicate id fails the whole batch.
func CopyNew(ctx context.Context, db *sqlstore.DB, batch []NewResource) error {
	return copyNew(ctx, db.Writer(), batch)
}

// copyNew is the dialect's LoadNew: store.Bulk on PostgreSQL goes through COPY.
func copyNew(ctx context.Context, w *sql.DB, batch []NewResource) error {
	conn, err := w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("postgres.CopyNew: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		return pgx.BeginFunc(ctx, pc, func(tx pgx.Tx) error {
			return copyBatch(ctx, tx, batch)
		})
	})
}

func copyBatch(ctx context.Context, tx pgx.Tx, batch []NewResource) error {
	copyRows := func(table string, cols []string, rows [][]any) error {
		if len(rows) == 0 {
			return nil
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("postgres.CopyNew: %s: %w", table, err)
		}
		return nil
	}
	var res, ver, str, tok, dat, num, qty, ref, uri, cmp, tags, queued [][]any
	for _, r := range batch {
		us := r.LastUpdated.UnixMicro()
		if r.Type == store.LinkedType && !r.Unqueued {
			queued = append(queued, []any{r.ID})
		}
		res = append(res, []any{r.Type, r.ID, int64(1), us, false, r.Tenant, r.Content})
		ver = append(ver, []any{r.Type, r.ID, int64(1), us, "PUT", false, r.Tenant, r.Content})
		for _, t := range store.AccessTags(r.Type, r.ID, r.Index) {
			tags = append(tags, []any{r.Type, r.ID, int64(1), t})
		}
		ix := r.Index
		if ix == nil {
			continue
		}
		for _, x := range ix.Strings {
			str = append(str, []any{r.Type, r.ID, x.Param, x.Norm, x.Exact})
		}
		for _, x := range ix.Tokens {
			lo, hi := sqlstore.TokenSpan(x)
			tok = append(tok, []any{r.Type, r.ID, x.Param, x.System, x.Code, x.Text, lo, hi})
		}
		for _, x := range ix.Dates {
			dat = append(dat, []any{r.Type, r.ID, x.Param, x.Lo, x.Hi})
		}
		for _, x := range ix.Numbers {
			num = append(num, []any{r.Type, r.ID, x.Param, x.Value})
		}
		for _, x := range ix.Quantities {
			qty = append(qty, []any{r.Type, r.ID, x.Param, x.Value, x.System, x.Code, x.Unit})
		}
		for _, x := range ix.Refs {
			ref = append(ref, []any{r.Type, r.ID, x.Param, x.TargetType, x.TargetID, x.URL})
		}
		for _, x := range ix.URIs {
			uri = append(uri, []any{r.Type, r.ID, x.Param, x.URI})
		}
		for _, x := range ix.Composites {
			cmp = append(cmp, []any{r.Type, r.ID, x.Param, x.System, x.Code, x.ValueSystem, x.ValueCode, x.Num, x.Unit, x.Lo, x.Hi, x.Str})
		}
	}
	steps := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"resources", []string{"res_type", "res_id", "version_id", "last_updated", "deleted", "tenant", "content"}, res},
		{"resource_versions", []string{"res_type", "res_id", "version_id", "last_updated", "method", "deleted", "tenant", "content"}, ver},
		{"search_string", []string{"res_type", "res_id", "param", "norm", "exact"}, str},
		{"search_token", []string{"res_type", "res_id", "param", "system", "code", "text", "dlo", "dhi"}, tok},
		{"search_date", []string{"res_type", "res_id", "param", "lo", "hi"}, dat},
		{"search_number", []string{"res_type", "res_id", "param", "value"}, num},
		{"search_quantity", []string{"res_type", "res_id", "param", "value", "system", "code", "unit"}, qty},
		{"search_reference", []string{"res_type", "res_id", "param", "target_type", "target_id", "url"}, ref},
		{"search_uri", []string{"res_type", "res_id", "param", "uri"}, uri},
		{"access_tags", []string{"res_type", "res_id", "version_id", "tag"}, tags},
		{"search_composite", []string{"res_type", "res_id", "param", "system", "code", "value_system", "value_code", "num", "unit", "lo", "hi", "str"}, cmp},
		{"identity_queue", []string{"res_id"}, queued},
	}
	for _, s := range steps {
		if err := copyRows(s.table, s.cols, s.rows); err != nil {
			return err
		}
	}
	return nil
}

// Analyze refreshes the planner's statistics after a bulk load, so the
// first searches are planned on the real distribution.
func Analyze(ctx context.Context, db *sqlstore.DB) error {
	_, err := db.Writer().ExecContext(ctx, `ANALYZE`)
	return err
}
