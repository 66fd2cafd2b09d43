package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
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

// Limits on what one page may pull in.
const (
	maxIncluded    = 5000
	maxIncludeHops = search.IncludeIterations
)

type sortKey struct {
	expr string
	args []any
	kind byte // 's' text, 'i' integer, 'f' float
	desc bool
}

// sortKeys turns _sort into SQL expressions over resources r. A resource
// without a value sorts last in either direction, via a sentinel, so keys
// are never NULL and keyset comparisons stay simple.
func sortKeys(q *search.Query) []sortKey {
	var keys []sortKey
	for _, k := range q.Sort {
		p := k.Param
		agg := "MIN"
		if k.Desc {
			agg = "MAX"
		}
		var col, table string
		var kind byte
		switch {
		case p.Column == "id":
			keys = append(keys, sortKey{expr: "r.res_id", kind: 's', desc: k.Desc})
			continue
		case p.Column == "lastUpdated":
			keys = append(keys, sortKey{expr: "r.last_updated", kind: 'i', desc: k.Desc})
			continue
		case p.Type == search.TypeString:
			col, table, kind = "norm", "search_string", 's'
		case p.Type == search.TypeToken:
			col, table, kind = "code", "search_token", 's'
		case p.Type == search.TypeDate:
			col, table, kind = "lo", "search_date", 'i'
			if k.Desc {
				col = "hi"
			}
		case p.Type == search.TypeNumber:
			col, table, kind = "value", "search_number", 'f'
		case p.Type == search.TypeQuantity:
			col, table, kind = "value", "search_quantity", 'f'
		case p.Type == search.TypeReference:
			col, table, kind = "target_id", "search_reference", 's'
		case p.Type == search.TypeURI:
			col, table, kind = "uri", "search_uri", 's'
		default:
			continue
		}
		s := sentinel(kind, k.Desc)
		sb := &builder{}
		sb.paramIs("y.param", p, "", true)
		keys = append(keys, sortKey{
			expr: "COALESCE((SELECT " + agg + "(y." + col + ") FROM " + table + " y WHERE y.res_type = r.res_type AND y.res_id = r.res_id" + sb.sb.String() + "), " + s + ")",
			args: sb.args, kind: kind, desc: k.Desc,
		})
	}
	return keys
}

// sentinel is the sort key of a resource without a value: after every real
// value in the sort direction (U+10FFFF sorts after any text in byte order).
func sentinel(kind byte, desc bool) string {
	switch {
	case kind == 's' && desc:
		return "''"
	case kind == 's':
		return "'\U0010FFFF'"
	case kind == 'i' && desc:
		return "-9223372036854775808"
	case kind == 'i':
		return "9223372036854775807"
	case desc:
		return "-1e308"
	}
	return "1e308"
}

// cursor is the opaque page token: the position after (or before) which the
// page starts, and a signature of the query it belongs to.
type cursor struct {
	Prev bool   `json:"p,omitempty"`
	Keys []any  `json:"k,omitempty"`
	Type string `json:"t"`
	ID   string `json:"i"`
	Sig  uint64 `json:"s"`
}

func signature(q *search.Query) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strings.Join(q.Types, ",") + "?" + q.Canonical))
	for _, k := range q.Sort {
		fmt.Fprintf(h, "|%s:%v", k.Param.Code, k.Desc)
	}
	return h.Sum64()
}

func encodeCursor(c cursor) string {
	b, _ := fhirjson.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, q *search.Query, keys []sortKey) (*cursor, error) {
	bad := outcome.Invalid("_cursor is not a page token of this search; follow the Bundle's links").At("_cursor")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var c cursor
	if err := dec.Decode(&c); err != nil || c.Sig != signature(q) || len(c.Keys) != len(keys) {
		return nil, bad
	}
	for i, k := range keys {
		switch k.kind {
		case 's':
			if _, ok := c.Keys[i].(string); !ok {
				return nil, bad
			}
		case 'i':
			n, ok := c.Keys[i].(json.Number)
			v, err := n.Int64()
			if !ok || err != nil {
				return nil, bad
			}
			c.Keys[i] = v
		case 'f':
			n, ok := c.Keys[i].(json.Number)
			v, err := n.Float64()
			if !ok || err != nil {
				return nil, bad
			}
			c.Keys[i] = v
		}
	}
	return &c, nil
}

// where writes the criteria of q over resources r.
func (db *DB) where(b *builder, q *search.Query) error {
	b.w(" WHERE r.deleted = ")
	b.a(false)
	b.w(" AND r.res_type IN ")
	b.list(q.Types)
	b.visible("r")
	for i := range q.And {
		c := &q.And[i]
		b.w(" AND ")
		if len(q.Types) == 1 {
			if err := b.criterion(q.Types[0], "r", c); err != nil {
				return err
			}
			continue
		}
		// A system search: the criterion per type.
		b.w("(")
		for j, t := range q.Types {
			if j > 0 {
				b.w(" OR ")
			}
			b.w("(r.res_type = ")
			b.a(t)
			b.w(" AND ")
			if err := b.criterion(t, "r", c); err != nil {
				return err
			}
			b.w(")")
		}
		b.w(")")
	}
	return nil
}

// Search implements store.Store.
func (db *DB) Search(ctx context.Context, q *search.Query) (*store.SearchResult, error) {
	acc, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	res := &store.SearchResult{Total: -1}
	keys := sortKeys(q)
	var cur *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, q, keys)
		if err != nil {
			return nil, err
		}
		cur = c
	}
	if q.Total == "accurate" || q.Total == "estimate" || q.Summary == "count" {
		n, err := db.count(ctx, q, acc)
		if err != nil {
			return nil, err
		}
		res.Total = n
	}
	if q.Summary == "count" {
		return res, nil
	}

	backwards := cur != nil && cur.Prev
	type row struct {
		v    store.Version
		keys []any
	}
	var got []row
	fetch := func(driven bool) error {
		b, err := db.searchSQL(q, keys, cur, driven, acc)
		if err != nil {
			return err
		}
		// A driven page's statement fixes its own plan (an ordered walk of one
		// index range, each row probed), so it keeps the cached plan: planning
		// it again for every page cost PostgreSQL more than running it.
		args := b.args
		if !driven {
			args = db.searchArgs(args)
		}
		rows, err := db.r.QueryContext(ctx, rebind(db.d, b.sb.String()), args...)
		if err != nil {
			return fmt.Errorf("sqlstore.Search: %w", err)
		}
		defer rows.Close()
		got = got[:0]
		for rows.Next() {
			var r row
			var updated int64
			r.keys = make([]any, len(keys))
			dest := []any{&r.v.Type, &r.v.ID, &r.v.VersionID, &updated, &r.v.Content}
			for i := range r.keys {
				dest = append(dest, &r.keys[i])
			}
			if err := rows.Scan(dest...); err != nil {
				return fmt.Errorf("sqlstore.Search: %w", err)
			}
			r.v.LastUpdated = fromMicros(updated)
			for i, k := range r.keys {
				if bs, ok := k.([]byte); ok {
					r.keys[i] = string(bs)
				}
			}
			got = append(got, r)
		}
		return rows.Err()
	}
	di := driver(q)
	if err := fetch(di >= 0); err != nil {
		return nil, err
	}
	if di >= 0 && len(got) <= q.Count {
		// A short driven page is the answer only if the driver ran out of rows;
		// if the budget ran out, another criterion is selective: let the
		// planner lead.
		done, err := db.driverExhausted(ctx, q, di, cur)
		if err != nil {
			return nil, err
		}
		if !done {
			if err := fetch(false); err != nil {
				return nil, err
			}
		}
	}
	more := len(got) > q.Count
	if more {
		got = got[:q.Count]
	}
	if backwards {
		for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
			got[i], got[j] = got[j], got[i]
		}
	}
	sig := signature(q)
	mk := func(r row, prev bool) string {
		return encodeCursor(cursor{Prev: prev, Keys: r.keys, Type: r.v.Type, ID: r.v.ID, Sig: sig})
	}
	if len(got) > 0 {
		if (!backwards && more) || (backwards && cur != nil) {
			res.Next = mk(got[len(got)-1], false)
		}
		if (backwards && more) || (!backwards && cur != nil) {
			res.Prev = mk(got[0], true)
		}
	}
	for _, r := range got {
		res.Matches = append(res.Matches, r.v)
	}
	if res.Total < 0 && cur == nil && !more {
		res.Total = len(got) // the whole result is on this page: counting is free
	}
	if err := db.include(ctx, q, res, acc); err != nil {
		return nil, err
	}
	return res, nil
}

// searchSQL builds the page query: the criteria, the sort keys, the keyset
// condition of the cursor, and LIMIT count+1 (the extra row says whether
// there is a next page).
func (db *DB) searchSQL(q *search.Query, keys []sortKey, cur *cursor, driven bool, acc *store.Access) (*builder, error) {
	if di := driver(q); driven && di >= 0 {
		return db.drivenSQL(q, di, cur, acc)
	}
	b := &builder{now: db.now(), acc: acc}
	b.w("SELECT s.res_type, s.res_id, s.version_id, s.last_updated, s.content")
	for i := range keys {
		b.w(fmt.Sprintf(", s.k%d", i))
	}
	b.w(" FROM (SELECT r.res_type, r.res_id, r.version_id, r.last_updated, r.content")
	for i, k := range keys {
		b.w(", ", k.expr, fmt.Sprintf(" AS k%d", i))
		b.args = append(b.args, k.args...)
	}
	b.w(" FROM resources r")
	if err := db.where(b, q); err != nil {
		return nil, err
	}
	b.w(") s")
	backwards := cur != nil && cur.Prev
	if cur != nil {
		b.w(" WHERE ")
		keyset(b, keys, cur, backwards)
	}
	b.w(" ORDER BY ")
	for i, k := range keys {
		b.w(fmt.Sprintf("s.k%d", i), dir(k.desc != backwards), ", ")
	}
	b.w("s.res_type", dir(backwards), ", s.res_id", dir(backwards), " LIMIT ")
	b.a(q.Count + 1)
	return b, nil
}

// driveBudget is how many driver rows a driven page may read before the
// search falls back to the planner's set-based plan: enough to fill a page
// when matches are dense, small enough (a few milliseconds) to give up early
// when another criterion is selective and the planner should lead.
func driveBudget(count int) int { return 5*(count+1) + 500 }

// drivenSQL is the page query of a search with a driver (see driver): the
// driver's index is walked in res_id order, at most driveBudget rows, and
// each row is checked against the other criteria.
func (db *DB) drivenSQL(q *search.Query, di int, cur *cursor, acc *store.Access) (*builder, error) {
	b := &builder{now: db.now(), fence: db.d.ProbeFence, acc: acc}
	backwards := cur != nil && cur.Prev
	b.w("SELECT r.res_type, r.res_id, r.version_id, r.last_updated, r.content FROM (")
	db.driverScan(b, q, di, cur)
	b.w(") d JOIN resources r ON r.res_type = d.res_type AND r.res_id = d.res_id WHERE r.deleted = ")
	b.a(false)
	b.visible("r")
	for i := range q.And {
		if i == di {
			continue
		}
		b.w(" AND ")
		if err := b.probe(q.Types[0], "r", &q.And[i]); err != nil {
			return nil, err
		}
	}
	b.w(" ORDER BY d.res_id", dir(backwards), " LIMIT ")
	b.a(q.Count + 1)
	return b, nil
}

// driverScan writes the budgeted, ordered walk of the driver's index after the cursor.
func (db *DB) driverScan(b *builder, q *search.Query, di int, cur *cursor) {
	c := &q.And[di]
	backwards := cur != nil && cur.Prev
	b.w("SELECT d.res_type, d.res_id FROM ", tableOf(c.Param, c.Modifier), " d WHERE d.res_type = ")
	b.a(q.Types[0])
	b.paramIs("d.param", c.Param, c.Modifier, false)
	b.w(" AND ")
	b.x = "d"
	_ = b.value(c, &c.Values[0]) // driver values are exact tokens and references: no error path
	b.x = ""
	if c.Param.Type == search.TypeToken {
		db.spanFilter(b, q)
	}
	if cur != nil {
		op := " > "
		if backwards {
			op = " < "
		}
		b.w(" AND d.res_id", op)
		b.a(cur.ID)
	}
	b.w(" ORDER BY d.res_id", dir(backwards), " LIMIT ")
	b.a(driveBudget(q.Count))
}

// spanFilter narrows a token driver scan by the resource date span its rows
// carry: for each criterion on the type's primary date, a condition every
// matching resource's span meets (e.g. ge X needs the span to end after X's
// start). It is necessary, not sufficient: the exact date check still runs.
func (db *DB) spanFilter(b *builder, q *search.Query) {
	primary := search.PrimaryDate(q.Types[0])
	for i := range q.And {
		c := &q.And[i]
		if primary == "" || c.Param == nil || c.Param.Code != primary || c.Chain != nil || c.Missing != nil || c.Modifier != "" {
			continue
		}
		ok := true
		for _, v := range c.Values {
			ok = ok && v.Date.Prefix != search.PrefixNe
		}
		if !ok {
			continue
		}
		b.w(" AND (")
		_ = b.ors(len(c.Values), func(j int) error {
			v := c.Values[j]
			s := v.Date.Range
			switch v.Date.Prefix {
			case search.PrefixGe:
				b.w("d.dhi > ")
				b.a(s.Lo)
			case search.PrefixGt, search.PrefixSa:
				b.w("d.dhi > ")
				b.a(s.Hi)
			case search.PrefixLe:
				b.w("d.dlo < ")
				b.a(s.Hi)
			case search.PrefixLt, search.PrefixEb:
				b.w("d.dlo < ")
				b.a(s.Lo)
			case search.PrefixAp:
				w := v.Date.ApproxRange(b.now)
				b.w("(d.dlo < ")
				b.a(w.Hi)
				b.w(" AND d.dhi > ")
				b.a(w.Lo)
				b.w(")")
			default: // eq
				b.w("(d.dlo < ")
				b.a(s.Hi)
				b.w(" AND d.dhi > ")
				b.a(s.Lo)
				b.w(")")
			}
			return nil
		})
		b.w(")")
	}
}

// driverExhausted reports whether a driven page read every driver row, so a
// short page is the whole answer rather than the budget running out.
func (db *DB) driverExhausted(ctx context.Context, q *search.Query, di int, cur *cursor) (bool, error) {
	b := &builder{now: db.now()}
	b.w("SELECT COUNT(*) FROM (")
	db.driverScan(b, q, di, cur)
	b.w(") d")
	var n int
	if err := db.r.QueryRowContext(ctx, rebind(db.d, b.sb.String()), db.searchArgs(b.args)...).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlstore.Search: %w", err)
	}
	return n < driveBudget(q.Count), nil
}

// countSQL counts the matches of q, from the driver's index alone when it can.
func (db *DB) countSQL(q *search.Query, acc *store.Access) (*builder, error) {
	b := &builder{now: db.now(), acc: acc}
	b.w("SELECT COUNT(*)")
	if di := driver(q); di >= 0 {
		// Access is checked on the resource's current version: join it,
		// unless nothing of these types is hidden from the caller.
		err := db.drive(b, q, di, restricts(acc, q.Types) || !countable(q, di))
		return b, err
	}
	b.w(" FROM resources r")
	err := db.where(b, q)
	return b, err
}

// Explain returns the database's plan for the page query of q (with the
// count query's plan when q counts), for the query plans in docs/.
func (db *DB) Explain(ctx context.Context, q *search.Query) (string, error) {
	acc, err := accessOf(ctx)
	if err != nil {
		return "", err
	}
	keys := sortKeys(q)
	var cur *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, q, keys)
		if err != nil {
			return "", err
		}
		cur = c
	}
	var b *builder
	if q.Summary == "count" {
		var err error
		if b, err = db.countSQL(q, acc); err != nil {
			return "", err
		}
	} else {
		var err error
		if b, err = db.searchSQL(q, keys, cur, true, acc); err != nil {
			return "", err
		}
	}
	plan, err := db.explain(ctx, b)
	if err != nil {
		return "", err
	}
	if di := driver(q); di >= 0 && q.Summary != "count" {
		fb, err := db.searchSQL(q, keys, cur, false, acc)
		if err != nil {
			return "", err
		}
		fallback, err := db.explain(ctx, fb)
		if err != nil {
			return "", err
		}
		plan = "-- driven by " + q.And[di].Name + " (read at most " + fmt.Sprint(driveBudget(q.Count)) + " index rows):\n" + plan +
			"-- fallback when that budget runs out before the page fills:\n" + fallback
	}
	return plan, nil
}

func (db *DB) explain(ctx context.Context, b *builder) (string, error) {
	rows, err := db.r.QueryContext(ctx, db.d.Explain+rebind(db.d, b.sb.String()), db.searchArgs(b.args)...)
	if err != nil {
		return "", fmt.Errorf("sqlstore.Explain: %w", err)
	}
	return planText(rows)
}

// planText reads an EXPLAIN's rows as text, one line per row.
func planText(rows *sql.Rows) (string, error) {
	defer rows.Close()
	cols, _ := rows.Columns()
	var out strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		// PostgreSQL gives one text column; SQLite (id, parent, notused, detail).
		fmt.Fprintln(&out, vals[len(vals)-1])
	}
	return out.String(), rows.Err()
}

func dir(desc bool) string {
	if desc {
		return " DESC"
	}
	return " ASC"
}

// keyset writes the condition "after the cursor" in the sort order
// (lexicographic over the keys, then res_type and res_id).
func keyset(b *builder, keys []sortKey, c *cursor, backwards bool) {
	cols := make([]string, 0, len(keys)+2)
	descs := make([]bool, 0, len(keys)+2)
	vals := make([]any, 0, len(keys)+2)
	for i, k := range keys {
		cols = append(cols, fmt.Sprintf("s.k%d", i))
		descs = append(descs, k.desc)
		vals = append(vals, c.Keys[i])
	}
	cols = append(cols, "s.res_type", "s.res_id")
	descs = append(descs, false, false)
	vals = append(vals, c.Type, c.ID)
	b.w("(")
	for i := range cols {
		if i > 0 {
			b.w(" OR ")
		}
		b.w("(")
		for j := 0; j < i; j++ {
			b.w(cols[j], " = ")
			b.a(vals[j])
			b.w(" AND ")
		}
		op := " > "
		if descs[i] != backwards {
			op = " < "
		}
		b.w(cols[i], op)
		b.a(vals[i])
		b.w(")")
	}
	b.w(")")
}

func (db *DB) count(ctx context.Context, q *search.Query, acc *store.Access) (int, error) {
	b, err := db.countSQL(q, acc)
	if err != nil {
		return 0, err
	}
	var n int
	if err := db.r.QueryRowContext(ctx, rebind(db.d, b.sb.String()), db.searchArgs(b.args)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore.count: %w", err)
	}
	return n, nil
}

// matchIDs returns up to limit ids matching q, inside a write's transaction.
// Hidden resources never match: a conditional write or reference cannot
// find, return or change what the caller cannot see.
func (db *DB) matchIDs(ctx context.Context, tx queryer, q *search.Query, limit int) ([]string, error) {
	acc, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	b := &builder{now: db.now(), acc: acc}
	b.w("SELECT r.res_id FROM resources r")
	if err := db.where(b, q); err != nil {
		return nil, err
	}
	b.w(" ORDER BY r.res_id LIMIT ")
	b.a(limit)
	rows, err := tx.QueryContext(ctx, rebind(db.d, b.sb.String()), db.searchArgs(b.args)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.match: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlstore.match: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
