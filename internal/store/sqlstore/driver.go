package sqlstore

import (
	"github.com/mekong-fhir/mekong/fhir/search"
)

// driver picks the criterion a search is driven from, or -1.
//
// An index row matching one exact token (system|code) or one Type/id
// reference is found by an index ordered by res_id, so walking it yields
// matches already in page order: a first page reads about count/selectivity
// rows and a deep page, after the keyset, the same, however many resources
// match in all. Without a driver both databases gather every match, then
// sort, which for a code half the Observations carry means hundreds of
// thousands of rows per page.
//
// Identifiers are preferred (they name one resource), then references (one
// patient's records), then other tokens (codes, statuses).
func driver(q *search.Query) int {
	if len(q.Types) != 1 || len(q.Sort) > 0 {
		return -1
	}
	best, bestRank := -1, 0
	for i := range q.And {
		c := &q.And[i]
		if c.Chain != nil || c.Has != nil || c.Missing != nil || c.Param == nil || c.Param.Column != "" || len(c.Values) != 1 ||
			len(c.Param.StoredParams(c.Modifier)) > 1 { // a union's rows are not one ordered range
			continue
		}
		rank := 0
		switch c.Param.Type {
		case search.TypeToken:
			t := c.Values[0].Token
			if c.Modifier != "" || t.AnySystem || t.AnyCode {
				continue
			}
			rank = 1
			if c.Param.Code == "identifier" {
				rank = 3
			}
		case search.TypeReference:
			r := c.Values[0].Ref
			if (c.Modifier != "" && c.Modifier != r.Type) || r.Type == "" || r.ID == "" {
				continue
			}
			rank = 2
		default:
			continue
		}
		if rank > bestRank {
			best, bestRank = i, rank
		}
	}
	return best
}

// drive writes "FROM <index> d [JOIN resources r] WHERE <driver on d> AND
// <the other criteria>" for counting a single-type search: the other
// criteria stay set-based, since a count has no LIMIT to stop early and the
// planner should pick the join order.
func (db *DB) drive(b *builder, q *search.Query, di int, join bool) error {
	c := &q.And[di]
	b.w(" FROM ", tableOf(c.Param, c.Modifier), " d")
	if join {
		b.w(" JOIN resources r ON r.res_type = d.res_type AND r.res_id = d.res_id")
	}
	b.w(" WHERE d.res_type = ")
	b.a(q.Types[0])
	b.paramIs("d.param", c.Param, c.Modifier, false)
	b.w(" AND ")
	b.x = "d"
	err := b.value(c, &c.Values[0])
	b.x = ""
	if err != nil {
		return err
	}
	if join {
		b.w(" AND r.deleted = ")
		b.a(false)
		b.visible("r")
	}
	alias := "r"
	if !join {
		alias = "d"
	}
	for i := range q.And {
		if i == di {
			continue
		}
		b.w(" AND ")
		if err := b.criterion(q.Types[0], alias, &q.And[i]); err != nil {
			return err
		}
	}
	return nil
}

// probe writes a criterion checked per driven row: a correlated EXISTS on
// the resource's own index rows (the (res_type, res_id) index), wrapped in
// IS TRUE so PostgreSQL keeps it a per-row check instead of pulling it up
// into a join it may reorder ahead of the driver. Chains, _has and column
// criteria keep their set form, also kept in place by IS TRUE.
func (b *builder) probe(typ, alias string, c *search.Criterion) error {
	b.w("(")
	if c.Chain != nil || c.Has != nil || c.Param == nil || c.Param.Column != "" {
		if err := b.criterion(typ, alias, c); err != nil {
			return err
		}
		b.w(") IS TRUE")
		return nil
	}
	if negated(c) {
		b.w("NOT ")
	}
	b.w("EXISTS (SELECT 1 FROM ", tableOf(c.Param, c.Modifier), " x WHERE x.res_type = ")
	b.a(typ)
	b.w(" AND x.res_id = ", alias, ".res_id")
	b.paramIs("x.param", c.Param, c.Modifier, c.Missing != nil)
	if c.Missing == nil {
		if err := b.values(c); err != nil {
			return err
		}
	}
	b.w(b.fence, ")) IS TRUE")
	return nil
}

// countable reports whether a driven count can read the index alone: every
// other criterion must be expressible on res_id (index rows exist only for
// live resources, so no join to resources is needed).
func countable(q *search.Query, di int) bool {
	for i := range q.And {
		if i != di && q.And[i].Param != nil && q.And[i].Param.Column == "lastUpdated" && q.And[i].Missing == nil {
			return false
		}
	}
	return true
}
