package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/mekong-fhir/mekong/internal/store"
)

// Bulk paths of import and export (store.Bulk). A batch is checked with one
// query and written in one transaction, so a killed import leaves whole
// resources only and re-running it skips what is already there.

// Existing implements store.Bulk.
func (db *DB) Existing(ctx context.Context, typ string, ids []string) (map[string]*store.Version, error) {
	out := make(map[string]*store.Version, len(ids))
	for start := 0; start < len(ids); start += maxRowsPerInsert {
		chunk := ids[start:min(len(ids), start+maxRowsPerInsert)]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, typ)
		for _, id := range chunk {
			args = append(args, id)
		}
		q := `SELECT res_id, version_id, last_updated, deleted, content FROM resources WHERE res_type = ? AND res_id IN (?` +
			strings.Repeat(", ?", len(chunk)-1) + `)`
		rows, err := db.w.QueryContext(ctx, rebind(db.d, q), args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore.Existing: %w", err)
		}
		for rows.Next() {
			v := &store.Version{Type: typ}
			var updated int64
			if err := rows.Scan(&v.ID, &v.VersionID, &updated, &v.Deleted, &v.Content); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore.Existing: %w", err)
			}
			v.LastUpdated = fromMicros(updated)
			out[v.ID] = v
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlstore.Existing: %w", err)
		}
	}
	return out, nil
}

// LoadNew implements store.Bulk: the dialect's bulk path when it has one
// (COPY on PostgreSQL), else multi-row INSERTs in one transaction.
func (db *DB) LoadNew(ctx context.Context, batch []store.NewResource) error {
	if len(batch) == 0 {
		return nil
	}
	if db.unqueued {
		batch = slices.Clone(batch)
		for i := range batch {
			batch[i].Unqueued = true
		}
	}
	var err error
	if db.d.LoadNew != nil {
		err = db.d.LoadNew(ctx, db.w, batch)
	} else {
		err = db.insertNew(ctx, batch)
	}
	if err != nil && db.d.IsUniqueViolation != nil && db.d.IsUniqueViolation(err) {
		return fmt.Errorf("sqlstore.LoadNew: %w: %v", store.ErrDuplicate, err)
	}
	if err != nil && db.d.IsTransient != nil && db.d.IsTransient(err) {
		// A deadlock with a concurrent writer of the same ids: the load
		// rolled back, and the caller's careful path settles who was first.
		return fmt.Errorf("sqlstore.LoadNew: %w: %v", store.ErrDuplicate, err)
	}
	return err
}

func (db *DB) insertNew(ctx context.Context, batch []store.NewResource) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore.LoadNew: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	rows := func(table, cols string, ncol int, each func(r *store.NewResource) []any) error {
		for start := 0; start < len(batch); start += maxRowsPerInsert / 2 {
			chunk := batch[start:min(len(batch), start+maxRowsPerInsert/2)]
			var b strings.Builder
			b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
			one := "(?" + strings.Repeat(", ?", ncol-1) + ")"
			args := make([]any, 0, len(chunk)*ncol)
			for i := range chunk {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(one)
				args = append(args, each(&chunk[i])...)
			}
			if _, err := tx.ExecContext(ctx, rebind(db.d, b.String()), args...); err != nil {
				return fmt.Errorf("sqlstore.LoadNew: %s: %w", table, err)
			}
		}
		return nil
	}
	if err := rows("resources", "res_type, res_id, version_id, last_updated, deleted, tenant, content", 7, func(r *store.NewResource) []any {
		return []any{r.Type, r.ID, int64(1), toMicros(r.LastUpdated), false, r.Tenant, r.Content}
	}); err != nil {
		return err
	}
	if err := rows("resource_versions", "res_type, res_id, version_id, last_updated, method, deleted, tenant, content", 8, func(r *store.NewResource) []any {
		return []any{r.Type, r.ID, int64(1), toMicros(r.LastUpdated), string(store.MethodPut), false, r.Tenant, r.Content}
	}); err != nil {
		return err
	}
	all := make([]indexed, len(batch))
	for i := range batch {
		all[i] = indexed{typ: batch[i].Type, id: batch[i].ID, ix: batch[i].Index}
	}
	var queued [][]any
	for i := range batch {
		if batch[i].Type == store.LinkedType && !batch[i].Unqueued {
			queued = append(queued, []any{batch[i].ID})
		}
	}
	if err := db.insertIndex(ctx, tx, all, nil, queued); err != nil {
		return err
	}
	// Access tags (labels, patients) make loaded data as restricted as
	// data written one by one.
	var tags [][]any
	for i := range batch {
		r := &batch[i]
		for _, t := range store.AccessTags(r.Type, r.ID, r.Index) {
			tags = append(tags, []any{r.Type, r.ID, int64(1), t})
		}
	}
	if _, err := execAll(ctx, tx, "access tags", db.inserts(accessTagsTable, tags, "")); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore.LoadNew: commit: %w", err)
	}
	return nil
}

// ExportPage implements store.Bulk: a keyset walk of the primary key, so a
// page costs the same however deep the export is.
func (db *DB) ExportPage(ctx context.Context, q store.ExportQuery, limit int) ([]store.Version, error) {
	var b strings.Builder
	args := []any{q.Type, q.After}
	b.WriteString(`SELECT r.res_id, r.version_id, r.last_updated, r.content FROM resources r
		WHERE r.res_type = ? AND r.res_id > ? AND r.deleted = ?`)
	args = append(args, false)
	if !q.Since.IsZero() {
		b.WriteString(` AND r.last_updated >= ?`)
		args = append(args, toMicros(q.Since))
	}
	if len(q.CompartmentParams) > 0 {
		b.WriteString(` AND EXISTS (SELECT 1 FROM search_reference x WHERE x.res_type = r.res_type AND x.res_id = r.res_id
			AND x.target_type = ? AND x.param IN (?` + strings.Repeat(", ?", len(q.CompartmentParams)-1) + `))`)
		args = append(args, "Patient")
		for _, p := range q.CompartmentParams {
			args = append(args, p)
		}
	}
	b.WriteString(` ORDER BY r.res_id LIMIT ?`)
	args = append(args, limit)
	rows, err := db.r.QueryContext(ctx, rebind(db.d, b.String()), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.ExportPage: %w", err)
	}
	defer rows.Close()
	var out []store.Version
	for rows.Next() {
		v := store.Version{Type: q.Type}
		var updated int64
		if err := rows.Scan(&v.ID, &v.VersionID, &updated, &v.Content); err != nil {
			return nil, fmt.Errorf("sqlstore.ExportPage: %w", err)
		}
		v.LastUpdated = fromMicros(updated)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore.ExportPage: %w", err)
	}
	return out, nil
}

// inTx runs fn in one write transaction.
func (db *DB) inTx(ctx context.Context, name string, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", name, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", name, err)
	}
	return nil
}
