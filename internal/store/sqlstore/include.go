package sqlstore

import (
	"context"
	"fmt"

	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

// include adds _include and _revinclude resources
// (https://hl7.org/fhir/R4/search.html#include). :iterate repeats over what
// the previous round added, up to maxIncludeHops rounds and maxIncluded
// resources; a cap reached is reported as a warning, never silently.
func (db *DB) include(ctx context.Context, q *search.Query, res *store.SearchResult, acc *store.Access) error {
	if len(q.Includes) == 0 && len(q.RevIncludes) == 0 || len(res.Matches) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, v := range res.Matches {
		seen[v.Type+"/"+v.ID] = true
	}
	frontier := res.Matches
	for hop := 0; hop < maxIncludeHops && len(frontier) > 0; hop++ {
		byType := map[string][]string{}
		for _, v := range frontier {
			byType[v.Type] = append(byType[v.Type], v.ID)
		}
		var added []store.Version
		collect := func(vs []store.Version) {
			for _, v := range vs {
				k := v.Type + "/" + v.ID
				if !seen[k] && len(res.Included) < maxIncluded {
					seen[k] = true
					res.Included = append(res.Included, v)
					added = append(added, v)
				}
			}
		}
		for _, inc := range q.Includes {
			if hop > 0 && !inc.Iterate {
				continue
			}
			for typ, ids := range byType {
				if inc.SourceType != "" && inc.SourceType != typ {
					continue
				}
				vs, err := db.included(ctx, typ, ids, inc, acc)
				if err != nil {
					return err
				}
				collect(vs)
			}
		}
		for _, inc := range q.RevIncludes {
			if hop > 0 && !inc.Iterate {
				continue
			}
			for typ, ids := range byType {
				vs, err := db.revIncluded(ctx, typ, ids, inc, acc)
				if err != nil {
					return err
				}
				collect(vs)
			}
		}
		if len(res.Included) >= maxIncluded {
			res.Warnings = append(res.Warnings, fmt.Sprintf("included resources were capped at %d; page with a smaller _count", maxIncluded))
			break
		}
		frontier = added
		if hop == maxIncludeHops-1 && len(frontier) > 0 && iterates(q) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("_include:iterate and _revinclude:iterate stop after %d rounds; resources only a further round would reach are not included", maxIncludeHops))
		}
	}
	return nil
}

func iterates(q *search.Query) bool {
	for _, inc := range append(q.Includes[:len(q.Includes):len(q.Includes)], q.RevIncludes...) {
		if inc.Iterate {
			return true
		}
	}
	return false
}

// included: resources that typ resources ids reference through inc.Param.
func (db *DB) included(ctx context.Context, typ string, ids []string, inc search.Include, acc *store.Access) ([]store.Version, error) {
	b := &builder{acc: acc}
	b.w("SELECT r.res_type, r.res_id, r.version_id, r.last_updated, r.content FROM resources r WHERE r.deleted = ")
	b.a(false)
	b.visible("r")
	b.w(" AND EXISTS (SELECT 1 FROM search_reference x WHERE x.res_type = ")
	b.a(typ)
	if inc.Param != nil {
		// A derived reference (Observation:patient) includes only its target type.
		b.paramIs("x.param", inc.Param, "", true)
	}
	if inc.TargetType != "" {
		b.w(" AND x.target_type = ")
		b.a(inc.TargetType)
	}
	b.w(" AND x.res_id IN ")
	b.list(ids)
	b.w(" AND x.target_type = r.res_type AND x.target_id = r.res_id)")
	return db.versions(ctx, b)
}

// revIncluded: inc.SourceType resources that reference typ resources ids.
func (db *DB) revIncluded(ctx context.Context, typ string, ids []string, inc search.Include, acc *store.Access) ([]store.Version, error) {
	if inc.TargetType != "" && inc.TargetType != typ {
		return nil, nil
	}
	b := &builder{acc: acc}
	b.w("SELECT r.res_type, r.res_id, r.version_id, r.last_updated, r.content FROM resources r WHERE r.deleted = ")
	b.a(false)
	b.visible("r")
	if inc.SourceType != "" {
		b.w(" AND r.res_type = ")
		b.a(inc.SourceType)
	}
	b.w(" AND EXISTS (SELECT 1 FROM search_reference x WHERE x.res_type = r.res_type AND x.res_id = r.res_id")
	if inc.Param != nil {
		b.paramIs("x.param", inc.Param, "", false)
	}
	b.w(" AND x.target_type = ")
	b.a(typ)
	b.w(" AND x.target_id IN ")
	b.list(ids)
	b.w(") ORDER BY r.res_type, r.res_id LIMIT ")
	b.a(maxIncluded + 1)
	return db.versions(ctx, b)
}

func (db *DB) versions(ctx context.Context, b *builder) ([]store.Version, error) {
	rows, err := db.r.QueryContext(ctx, rebind(db.d, b.sb.String()), db.searchArgs(b.args)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.include: %w", err)
	}
	defer rows.Close()
	var out []store.Version
	for rows.Next() {
		var v store.Version
		var updated int64
		if err := rows.Scan(&v.Type, &v.ID, &v.VersionID, &updated, &v.Content); err != nil {
			return nil, fmt.Errorf("sqlstore.include: %w", err)
		}
		v.LastUpdated = fromMicros(updated)
		out = append(out, v)
	}
	return out, rows.Err()
}
