package sqlstore

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

// builder assembles one search statement. Every search value reaches SQL as
// a bound parameter; only table, column and operator names are written in.
type builder struct {
	sb   strings.Builder
	args []any
	now  time.Time
	// x is the alias of the index table value conditions apply to.
	x string
	// fence is the dialect's ProbeFence.
	fence string
	// acc restricts every resource the statement reads (see visible); n
	// numbers the aliases of its subqueries.
	acc *store.Access
	n   int
}

// c names column col of the index table in scope.
func (b *builder) c(col string) string {
	if b.x == "" {
		return "x." + col
	}
	return b.x + "." + col
}

func (b *builder) w(parts ...string) {
	for _, p := range parts {
		b.sb.WriteString(p)
	}
}

// a writes a placeholder for v.
func (b *builder) a(v any) {
	b.args = append(b.args, v)
	b.sb.WriteString("?")
}

func (b *builder) list(vs []string) {
	b.w("(")
	for i, v := range vs {
		if i > 0 {
			b.w(", ")
		}
		b.a(v)
	}
	b.w(")")
}

// tableOf is the index table of a parameter type.
func tableOf(p *search.Param, modifier string) string {
	switch {
	case p.Type == search.TypeReference && modifier == "identifier":
		return "search_token"
	}
	switch p.Type {
	case search.TypeString:
		return "search_string"
	case search.TypeToken:
		return "search_token"
	case search.TypeDate:
		return "search_date"
	case search.TypeNumber:
		return "search_number"
	case search.TypeQuantity:
		return "search_quantity"
	case search.TypeReference:
		return "search_reference"
	case search.TypeURI:
		return "search_uri"
	case search.TypeComposite:
		return "search_composite"
	}
	return ""
}

// indexParam is the param value index rows carry for a criterion.
func indexParam(c *search.Criterion) string { return indexParamOf(c.Param, c.Modifier) }

func indexParamOf(p *search.Param, modifier string) string {
	switch modifier {
	case "identifier":
		return p.Code + ":identifier"
	case "of-type":
		return p.Code + ":of-type"
	}
	return p.Code
}

// paramIs writes " AND <col> = <the param rows of p carry>", or IN the
// parameters a derived one is served from (search.Derivation): derived
// values are unions of other parameters' rows at query time, not stored
// twice. For a parameter derived from a reference to one target type, the
// rows that point elsewhere are left out here when no value condition
// (derivedRef) does it: :missing.
func (b *builder) paramIs(col string, p *search.Param, modifier string, missing bool) {
	names := p.StoredParams(modifier)
	if names == nil {
		names = []string{indexParamOf(p, modifier)}
	}
	if len(names) == 1 {
		b.w(" AND ", col, " = ")
		b.a(names[0])
	} else {
		b.w(" AND ", col, " IN ")
		b.list(names)
	}
	if d := p.Derived; missing && d != nil && d.Target != "" && modifier != "identifier" {
		alias, _, _ := strings.Cut(col, ".")
		b.w(" AND (", alias, ".target_type = ")
		b.a(d.Target)
		b.w(" OR ", alias, ".url LIKE ")
		b.a("%/" + search.EscapeLike(d.Target) + "/%")
		b.w(` ESCAPE '\')`)
	}
}

// derivedRef is ref for a parameter derived from a reference to one target
// type (Observation.patient is subject where a Patient): a value naming
// another type matches nothing, a bare id and a URL only that type's.
func (b *builder) derivedRef(r search.RefValue, target string) {
	switch {
	case r.URL != "" && search.ReferenceType(r.URL) != target,
		r.URL == "" && r.Type != "" && r.Type != target:
		b.w("1 = 0")
	case r.URL == "" && r.Type == "":
		b.ref(search.RefValue{Type: target, ID: r.ID})
	default:
		b.ref(r)
	}
}

// negated reports whether a criterion selects resources outside its set.
func negated(c *search.Criterion) bool {
	return c.Modifier == "not" || (c.Missing != nil && *c.Missing)
}

// criterion writes "<col> [NOT] IN (ids of typ matching c)" for the outer
// resource alias.
func (b *builder) criterion(typ, alias string, c *search.Criterion) error {
	if c.Param != nil && c.Param.Column != "" && c.Missing == nil && c.Chain == nil {
		return b.column(alias, c)
	}
	b.w(alias, ".res_id")
	if negated(c) {
		b.w(" NOT")
	}
	b.w(" IN (")
	if err := b.ids(typ, c); err != nil {
		return err
	}
	b.w(")")
	return nil
}

// column matches _id and _lastUpdated on the resources table itself.
func (b *builder) column(alias string, c *search.Criterion) error {
	if c.Param.Column == "id" && len(c.Values) > orValues {
		ids := make([]string, len(c.Values))
		for i, v := range c.Values {
			ids[i] = v.Token.Code
		}
		b.w(alias, ".res_id IN ")
		b.list(ids)
		return nil
	}
	b.w("(")
	_ = b.ors(len(c.Values), func(i int) error {
		v := c.Values[i]
		switch c.Param.Column {
		case "id":
			b.w(alias, ".res_id = ")
			b.a(v.Token.Code)
		case "lastUpdated":
			// A lastUpdated instant is a point: the range [t, t+1µs).
			b.date(alias+".last_updated", alias+".last_updated + 1", v.Date)
		}
		return nil
	})
	b.w(")")
	return nil
}

// ids writes a SELECT of the ids of live typ resources matching c.
func (b *builder) ids(typ string, c *search.Criterion) error {
	switch {
	case c.Has != nil:
		h := c.Has
		b.w("SELECT x.target_id FROM search_reference x WHERE x.res_type = ")
		b.a(h.Type)
		b.paramIs("x.param", h.Ref, "", false)
		b.w(" AND x.target_type = ")
		b.a(typ)
		b.w(" AND x.res_id")
		if negated(&h.Next) {
			b.w(" NOT")
		}
		b.w(" IN (")
		if err := b.ids(h.Type, &h.Next); err != nil {
			return err
		}
		b.w(")")
		b.visibleResource("x.res_type", "x.res_id")
		return nil
	case c.Chain != nil:
		b.w("SELECT x.res_id FROM search_reference x WHERE x.res_type = ")
		b.a(typ)
		b.paramIs("x.param", c.Param, "", false)
		b.w(" AND x.target_type = ")
		b.a(c.Chain.Type)
		b.w(" AND x.target_id")
		if negated(&c.Chain.Next) {
			b.w(" NOT")
		}
		b.w(" IN (")
		if err := b.ids(c.Chain.Type, &c.Chain.Next); err != nil {
			return err
		}
		b.w(")")
		b.visibleResource("x.target_type", "x.target_id")
		return nil
	case c.Param.Column != "":
		b.w("SELECT r2.res_id FROM resources r2 WHERE r2.res_type = ")
		b.a(typ)
		b.w(" AND r2.deleted = ")
		b.a(false)
		if c.Missing != nil {
			// _id and _lastUpdated are never missing: every live resource
			// is in the set, and the caller negates for :missing=true.
			return nil
		}
		b.w(" AND ")
		return b.column("r2", c)
	}
	b.w("SELECT x.res_id FROM ", tableOf(c.Param, c.Modifier), " x WHERE x.res_type = ")
	b.a(typ)
	b.paramIs("x.param", c.Param, c.Modifier, c.Missing != nil)
	if c.Missing != nil {
		return nil
	}
	return b.values(c)
}

// values writes " AND (v1 OR v2 ...)": a criterion's values are ORed
// (anyValue, values.go, keeps long lists shallow).
func (b *builder) values(c *search.Criterion) error {
	b.w(" AND (")
	if err := b.anyValue(c, c.Values); err != nil {
		return err
	}
	b.w(")")
	return nil
}

// value writes the condition one value puts on an index row x.
func (b *builder) value(c *search.Criterion, v *search.Value) error {
	switch c.Param.Type {
	case search.TypeString:
		b.str(c.Modifier, b.c("norm"), b.c("exact"), v.String)
	case search.TypeToken:
		if c.Modifier == "text" {
			b.w(b.c("text"), " LIKE ")
			b.a("%" + search.EscapeLike(v.String) + "%")
			b.w(` ESCAPE '\'`)
			return nil
		}
		b.token(b.c("system"), b.c("code"), v.Token)
	case search.TypeReference:
		if c.Modifier == "identifier" {
			b.token(b.c("system"), b.c("code"), v.Token)
			return nil
		}
		if d := c.Param.Derived; d != nil && d.Target != "" {
			b.derivedRef(v.Ref, d.Target)
			return nil
		}
		b.ref(v.Ref)
	case search.TypeDate:
		b.date(b.c("lo"), b.c("hi"), v.Date)
	case search.TypeNumber:
		b.number(b.c("value"), v.Number)
	case search.TypeQuantity:
		b.quantity(b.c("value"), b.c("system"), b.c("code"), b.c("unit"), v.Quantity)
	case search.TypeURI:
		b.uri(c.Modifier, v.URI)
	case search.TypeComposite:
		b.w("(")
		b.token(b.c("system"), b.c("code"), v.Token)
		b.w(" AND ")
		s := v.Second
		switch c.Param.Components[1].Type {
		case search.TypeToken:
			b.token(b.c("value_system"), b.c("value_code"), s.Token)
		case search.TypeQuantity:
			b.quantity(b.c("num"), b.c("value_system"), b.c("value_code"), b.c("unit"), s.Quantity)
		case search.TypeDate:
			b.date(b.c("lo"), b.c("hi"), s.Date)
		case search.TypeString:
			b.str("", b.c("str"), b.c("str"), s.String)
		default:
			return outcome.Invalid("%s: composite component type %s is not supported", c.Name, c.Param.Components[1].Type)
		}
		b.w(")")
	default:
		return fmt.Errorf("sqlstore: parameter type %q", c.Param.Type)
	}
	return nil
}

// str: default is a prefix match on the folded value, as an index range so
// both databases use the index (https://hl7.org/fhir/R4/search.html#string).
func (b *builder) str(modifier, norm, exact, v string) {
	switch modifier {
	case "exact":
		b.w(exact, " = ")
		b.a(v)
	case "contains":
		b.w(norm, " LIKE ")
		b.a("%" + search.EscapeLike(v) + "%")
		b.w(` ESCAPE '\'`)
	default:
		b.w("(", norm, " >= ")
		b.a(v)
		if upper, ok := search.PrefixUpperBound(v); ok {
			b.w(" AND ", norm, " < ")
			b.a(upper)
		}
		b.w(")")
	}
}

// token: code, system|code, |code, system| (https://hl7.org/fhir/R4/search.html#token).
func (b *builder) token(system, code string, t search.Token) {
	switch {
	case t.AnySystem:
		b.w(code, " = ")
		b.a(t.Code)
	case t.AnyCode:
		b.w(system, " = ")
		b.a(t.System)
	default:
		b.w("(", system, " = ")
		b.a(t.System)
		b.w(" AND ", code, " = ")
		b.a(t.Code)
		b.w(")")
	}
}

func (b *builder) ref(r search.RefValue) {
	switch {
	case r.URL != "":
		b.w(b.c("url"), " = ")
		b.a(r.URL)
	case r.Type != "":
		b.w("(", b.c("target_type"), " = ")
		b.a(r.Type)
		b.w(" AND ", b.c("target_id"), " = ")
		b.a(r.ID)
		b.w(")")
	default:
		b.w(b.c("target_id"), " = ")
		b.a(r.ID)
	}
}

func (b *builder) uri(modifier, v string) {
	switch modifier {
	case "below":
		b.w(b.c("uri"), " LIKE ")
		b.a(search.EscapeLike(v) + "%")
		b.w(` ESCAPE '\'`)
	case "above":
		// x.uri is a prefix of v.
		b.w("substr(")
		b.a(v)
		b.w(", 1, length(", b.c("uri"), ")) = ", b.c("uri"))
	default:
		b.w(b.c("uri"), " = ")
		b.a(v)
	}
}

// date writes the prefix semantics of search.MatchDate over [lo, hi)
// columns (https://hl7.org/fhir/R4/search.html#prefix).
func (b *builder) date(lo, hi string, v search.DateValue) {
	s := v.Range
	eq := func() {
		// lo < s.Hi is implied (lo < hi <= s.Hi) and bounds the lo range scan.
		b.w("(", lo, " >= ")
		b.a(s.Lo)
		b.w(" AND ", lo, " < ")
		b.a(s.Hi)
		b.w(" AND ", hi, " <= ")
		b.a(s.Hi)
		b.w(")")
	}
	switch v.Prefix {
	case search.PrefixNe:
		b.w("NOT ")
		eq()
	case search.PrefixGt:
		b.w(hi, " > ")
		b.a(s.Hi)
	case search.PrefixLt:
		b.w(lo, " < ")
		b.a(s.Lo)
	case search.PrefixGe:
		// hi > s.Lo holds in both branches; as a plain range it lets the
		// planner scan the (param, hi) index instead of every date row.
		b.w("(", hi, " > ")
		b.a(s.Lo)
		b.w(" AND (", hi, " > ")
		b.a(s.Hi)
		b.w(" OR ")
		eq()
		b.w("))")
	case search.PrefixLe:
		// Likewise lo < s.Hi, for the (param, lo) index.
		b.w("(", lo, " < ")
		b.a(s.Hi)
		b.w(" AND (", lo, " < ")
		b.a(s.Lo)
		b.w(" OR ")
		eq()
		b.w("))")
	case search.PrefixSa:
		b.w(lo, " >= ")
		b.a(s.Hi)
	case search.PrefixEb:
		b.w(hi, " <= ")
		b.a(s.Lo)
	case search.PrefixAp:
		w := v.ApproxRange(b.now)
		b.w("(", lo, " < ")
		b.a(w.Hi)
		b.w(" AND ", hi, " > ")
		b.a(w.Lo)
		b.w(")")
	default:
		eq()
	}
}

// number writes search.MatchNumber's semantics.
func (b *builder) number(col string, n search.NumberValue) {
	switch n.Prefix {
	case search.PrefixNe:
		b.w("NOT (", col, " >= ")
		b.a(n.Lo)
		b.w(" AND ", col, " < ")
		b.a(n.Hi)
		b.w(")")
	case search.PrefixGt, search.PrefixSa:
		b.w(col, " > ")
		b.a(n.Value)
	case search.PrefixLt, search.PrefixEb:
		b.w(col, " < ")
		b.a(n.Value)
	case search.PrefixGe:
		b.w(col, " >= ")
		b.a(n.Value)
	case search.PrefixLe:
		b.w(col, " <= ")
		b.a(n.Value)
	case search.PrefixAp:
		d := math.Abs(n.Value) * 0.1
		b.w("(", col, " >= ")
		b.a(n.Value - d)
		b.w(" AND ", col, " <= ")
		b.a(n.Value + d)
		b.w(")")
	default:
		b.w("(", col, " >= ")
		b.a(n.Lo)
		b.w(" AND ", col, " < ")
		b.a(n.Hi)
		b.w(")")
	}
}

// quantity: the number, and the unit when given as system|code or ||code
// (matched against code or unit).
func (b *builder) quantity(val, system, code, unit string, q search.QuantityValue) {
	b.w("(")
	b.number(val, q.Number)
	switch {
	case q.System != "" && q.Code != "":
		b.w(" AND ", system, " = ")
		b.a(q.System)
		b.w(" AND ", code, " = ")
		b.a(q.Code)
	case q.Code != "":
		b.w(" AND (", code, " = ")
		b.a(q.Code)
		b.w(" OR ", unit, " = ")
		b.a(q.Code)
		b.w(")")
	}
	b.w(")")
}
