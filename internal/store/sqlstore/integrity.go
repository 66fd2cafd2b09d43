package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/mekong-fhir/mekong/internal/store"
)

// DanglingReferences implements store.Integrity: per referring type, its
// resources updated since (the (res_type, last_updated) index), their
// reference rows, and no live target.
func (db *DB) DanglingReferences(ctx context.Context, types, targetTypes []string, since time.Time, limit int) ([]store.Dangling, error) {
	var out []store.Dangling
	if len(targetTypes) == 0 {
		return nil, nil
	}
	for _, typ := range types {
		if len(out) >= limit {
			break
		}
		b := &builder{}
		b.w("SELECT x.res_id, MIN(x.param), x.target_type, x.target_id FROM resources r JOIN search_reference x ",
			"ON x.res_type = r.res_type AND x.res_id = r.res_id WHERE r.res_type = ")
		b.a(typ)
		b.w(" AND r.last_updated >= ")
		b.a(toMicros(since))
		b.w(" AND r.deleted = ")
		b.a(false)
		b.w(" AND x.target_type IN ")
		b.list(targetTypes)
		b.w(" AND NOT EXISTS (SELECT 1 FROM resources t WHERE t.res_type = x.target_type AND t.res_id = x.target_id AND t.deleted = ")
		b.a(false)
		b.w(") GROUP BY x.res_id, x.target_type, x.target_id ORDER BY x.res_id, x.target_type, x.target_id LIMIT ")
		b.a(limit - len(out))
		rows, err := db.r.QueryContext(ctx, rebind(db.d, b.sb.String()), b.args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore.DanglingReferences: %w", err)
		}
		for rows.Next() {
			d := store.Dangling{Type: typ}
			if err := rows.Scan(&d.ID, &d.Param, &d.TargetType, &d.TargetID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore.DanglingReferences: %w", err)
			}
			out = append(out, d)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlstore.DanglingReferences: %w", err)
		}
	}
	return out, nil
}
