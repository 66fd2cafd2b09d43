package sqlstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

// compartmentCursor is the opaque position of a compartment page: the
// member being read, the last id returned from it, and a signature of the
// query so a cursor cannot be replayed against another patient or filter.
type compartmentCursor struct {
	Member int    `json:"m"`
	After  string `json:"a"`
	Sig    uint64 `json:"s"`
	// Total is the first page's count, carried so deep pages do not count
	// again (10,000 index rows a page for a long record).
	Total *int `json:"n,omitempty"`
}

func compartmentSignature(q *store.CompartmentQuery) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s|%d", q.Type, strings.Join(append([]string{q.ID}, q.Also...), ","), toMicros(q.Since))
	if q.Since.IsZero() {
		h.Write([]byte("|-"))
	}
	for _, m := range q.Members {
		fmt.Fprintf(h, "|%s:%s", m.Type, strings.Join(m.Params, ","))
	}
	return h.Sum64()
}

func decodeCompartmentCursor(s string, q *store.CompartmentQuery) (compartmentCursor, error) {
	bad := outcome.Invalid("_cursor is not a page token of this request; follow the Bundle's next link").At("_cursor")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return compartmentCursor{}, bad
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c compartmentCursor
	if err := dec.Decode(&c); err != nil || c.Sig != compartmentSignature(q) || c.Member < 0 || c.Member >= len(q.Members) {
		return compartmentCursor{}, bad
	}
	return c, nil
}

// Compartment implements store.Store. Each member type is read in id order
// with keyset paging: one branch per compartment parameter walks the
// search_reference lookup index (res_type, param, target_id, target_type,
// res_id) from the cursor, so a page costs the same on the first and the
// hundredth page and nothing is loaded beyond count+1 rows a branch. A page
// that finishes a member goes on into the next.
func (db *DB) Compartment(ctx context.Context, q store.CompartmentQuery) (*store.CompartmentPage, error) {
	if q.Count < 0 {
		return nil, fmt.Errorf("sqlstore.Compartment: count %d", q.Count)
	}
	// The caller's access restriction (patient, hidden labels) applies in
	// SQL, to the page and to the total alike.
	acc, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	page := &store.CompartmentPage{Total: -1}
	cur := compartmentCursor{}
	if q.Cursor != "" {
		c, err := decodeCompartmentCursor(q.Cursor, &q)
		if err != nil {
			return nil, err
		}
		cur = c
	}
	switch {
	case q.Total && cur.Total != nil:
		page.Total = *cur.Total
	case q.Total:
		n, err := db.compartmentCount(ctx, &q, acc)
		if err != nil {
			return nil, err
		}
		page.Total = n
	}
	if q.Count == 0 {
		return page, nil
	}
	type row struct {
		v      store.Version
		member int
	}
	var got []row
	member, after := cur.Member, cur.After
	for member < len(q.Members) && len(got) <= q.Count {
		limit := q.Count + 1 - len(got)
		vs, err := db.compartmentMember(ctx, &q, acc, member, after, limit)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			got = append(got, row{v: v, member: member})
		}
		if len(vs) == limit {
			break // the page is full (with one row to spare): the member may have more
		}
		member, after = member+1, ""
	}
	if len(got) > q.Count {
		last := got[q.Count-1]
		got = got[:q.Count]
		next := compartmentCursor{Member: last.member, After: last.v.ID, Sig: compartmentSignature(&q)}
		if q.Total {
			next.Total = &page.Total
		}
		page.Next = encodeCompartmentCursor(next)
	}
	for _, r := range got {
		page.Resources = append(page.Resources, r.v)
	}
	return page, nil
}

func encodeCompartmentCursor(c compartmentCursor) string {
	b, _ := fhirjson.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// compartmentMember reads up to limit live resources of one member with ids
// after after. Each branch is limited on its own and the union is limited
// again: the first limit ids of a union are among the first limit of each
// branch, so no branch needs to be read further.
func (db *DB) compartmentMember(ctx context.Context, q *store.CompartmentQuery, acc *store.Access, member int, after string, limit int) ([]store.Version, error) {
	m := q.Members[member]
	b := &builder{now: db.now(), acc: acc}
	b.w("SELECT r.res_id, r.version_id, r.last_updated, r.content FROM resources r WHERE r.res_type = ")
	b.a(m.Type)
	b.w(" AND r.deleted = ")
	b.a(false)
	b.w(" AND r.res_id IN (")
	db.compartmentIDs(b, q, m, after, limit)
	b.w(")")
	b.visible("r")
	b.w(" ORDER BY r.res_id LIMIT ")
	b.a(limit)
	rows, err := db.r.QueryContext(ctx, rebind(db.d, b.sb.String()), db.searchArgs(b.args)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.Compartment: %w", err)
	}
	defer rows.Close()
	var out []store.Version
	for rows.Next() {
		v := store.Version{Type: m.Type}
		var updated int64
		if err := rows.Scan(&v.ID, &v.VersionID, &updated, &v.Content); err != nil {
			return nil, fmt.Errorf("sqlstore.Compartment: %w", err)
		}
		v.LastUpdated = fromMicros(updated)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore.Compartment: %w", err)
	}
	return out, nil
}

// compartmentIDs writes the UNION of the member's branches: the focal
// resource itself (for the focal type) and, per parameter, the resources
// whose index rows reference the focal resource. With limit > 0 each branch
// starts after after and stops at limit ids; with limit 0 (counting) it is
// unbounded.
func (db *DB) compartmentIDs(b *builder, q *store.CompartmentQuery, m search.CompartmentMember, after string, limit int) {
	branches := 0
	union := func() {
		if branches > 0 {
			b.w(" UNION ")
		}
		branches++
	}
	// live and since are checked inside each branch, not after the union:
	// a branch's limit must count only rows that will be returned. Index
	// rows exist only for live resources (a delete removes them), so
	// without _since a reference branch is answered from the index alone.
	live := func(alias string) {
		b.w(" AND ", alias, ".deleted = ")
		b.a(false)
		if !q.Since.IsZero() {
			b.w(" AND ", alias, ".last_updated >= ")
			b.a(toMicros(q.Since))
		}
	}
	if m.Type == q.Type {
		union()
		b.w("SELECT f.res_id FROM resources f WHERE f.res_type = ")
		b.a(q.Type)
		b.w(" AND f.res_id")
		focal(b, q)
		if after != "" {
			b.w(" AND f.res_id > ")
			b.a(after)
		}
		live("f")
	}
	for _, p := range m.Params {
		union()
		// DISTINCT keeps the branch limit a count of resources even if a
		// resource had two rows for one target; it costs nothing on the
		// ordered index walk (PostgreSQL: Unique over the index scan).
		b.w("SELECT g.res_id FROM (SELECT DISTINCT x.res_id FROM search_reference x")
		if !q.Since.IsZero() {
			b.w(" JOIN resources y ON y.res_type = x.res_type AND y.res_id = x.res_id")
		}
		b.w(" WHERE x.res_type = ")
		b.a(m.Type)
		b.w(" AND x.param = ")
		b.a(p)
		b.w(" AND x.target_id")
		focal(b, q)
		b.w(" AND x.target_type = ")
		b.a(q.Type)
		if after != "" {
			b.w(" AND x.res_id > ")
			b.a(after)
		}
		if !q.Since.IsZero() {
			live("y")
		}
		if limit > 0 {
			b.w(" ORDER BY x.res_id LIMIT ")
			b.a(limit)
		}
		b.w(") g")
	}
	if branches == 0 {
		// A member with no parameter the registry serves: nothing can be in it.
		b.w("SELECT res_id FROM resources WHERE 1 = 0")
	}
}

// compartmentCount counts the compartment's resources in one statement:
// the sum of each member's de-duplicated union.
func (db *DB) compartmentCount(ctx context.Context, q *store.CompartmentQuery, acc *store.Access) (int, error) {
	b := &builder{now: db.now(), acc: acc}
	b.w("SELECT 0")
	for _, m := range q.Members {
		if acc != nil {
			// Restricted: count only what the caller may see.
			b.w(" + (SELECT COUNT(*) FROM resources r WHERE r.res_type = ")
			b.a(m.Type)
			b.w(" AND r.deleted = ")
			b.a(false)
			b.w(" AND r.res_id IN (")
			db.compartmentIDs(b, q, m, "", 0)
			b.w(")")
			b.visible("r")
			b.w(")")
			continue
		}
		b.w(" + (SELECT COUNT(*) FROM (")
		db.compartmentIDs(b, q, m, "", 0)
		b.w(") u)")
	}
	var n int
	if err := db.r.QueryRowContext(ctx, rebind(db.d, b.sb.String()), db.searchArgs(b.args)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore.Compartment: count: %w", err)
	}
	return n, nil
}

// focal writes the condition on the focal resource's id: "= id", or
// "IN (ids)" for a linked set.
func focal(b *builder, q *store.CompartmentQuery) {
	if len(q.Also) == 0 {
		b.w(" = ")
		b.a(q.ID)
		return
	}
	b.w(" IN ")
	b.list(append([]string{q.ID}, q.Also...))
}
