package sqlstore

import "github.com/mekong-fhir/mekong/fhir/search"

// orValues is how many values of one criterion are written as plain ORs,
// the form whose plans docs/search-plans.md records. Past it the SQL keeps
// a depth independent of the number of values: equality values go into IN
// lists (SQLite refuses expressions deeper than 1000, which 1,000 ORs in a
// row are), and range and prefix values into a balanced tree of ORs, whose
// depth grows with the logarithm of their number
// (search.MaxValuesPerParameter bounds it).
const orValues = 8

// anyValue writes the OR of vs for criterion c on index row b.x.
func (b *builder) anyValue(c *search.Criterion, vs []search.Value) error {
	if len(vs) <= orValues {
		return b.ors(len(vs), func(i int) error { return b.value(c, &vs[i]) })
	}
	groups := map[string][]search.Value{}
	var order []string
	var rest []search.Value
	for _, v := range vs {
		k := equalityForm(c, v)
		if k == "" {
			rest = append(rest, v)
			continue
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], v)
	}
	parts := make([]func() error, 0, len(order)+1)
	for _, k := range order {
		parts = append(parts, func() error { b.inList(k, groups[k]); return nil })
	}
	if len(rest) > 0 {
		parts = append(parts, func() error {
			return b.ors(len(rest), func(i int) error { return b.value(c, &rest[i]) })
		})
	}
	return b.orTree(len(parts), func(i int) error { return parts[i]() })
}

// ors writes write(0) OR ... OR write(n-1): in a row when there are few,
// as a balanced tree when there are many.
func (b *builder) ors(n int, write func(i int) error) error {
	if n > orValues {
		return b.orTree(n, write)
	}
	for i := range n {
		if i > 0 {
			b.w(" OR ")
		}
		if err := write(i); err != nil {
			return err
		}
	}
	return nil
}

// orTree writes write(0) OR ... OR write(n-1) as a balanced tree.
func (b *builder) orTree(n int, write func(i int) error) error {
	var rec func(lo, hi int) error
	rec = func(lo, hi int) error {
		if hi-lo == 1 {
			return write(lo)
		}
		mid := (lo + hi) / 2
		b.w("(")
		if err := rec(lo, mid); err != nil {
			return err
		}
		b.w(" OR ")
		if err := rec(mid, hi); err != nil {
			return err
		}
		b.w(")")
		return nil
	}
	if n == 0 {
		b.w("1 = 0")
		return nil
	}
	return rec(0, n)
}

// Equality forms: values of one form are matched by one IN list.
const (
	formCode       = "code"        // token without system
	formSystem     = "system"      // token system| (any code)
	formSystemCode = "system|code" // token system|code
	formRefURL     = "url"
	formRefTypeID  = "type/id"
	formRefID      = "id"
	formURI        = "uri"
	formExact      = "exact"
)

// equalityForm names the IN list a value can join, or "" when it is a range
// or pattern match that keeps its own condition.
func equalityForm(c *search.Criterion, v search.Value) string {
	token := func(t search.Token) string {
		switch {
		case t.AnySystem:
			return formCode
		case t.AnyCode:
			return formSystem
		}
		return formSystemCode
	}
	switch c.Param.Type {
	case search.TypeToken:
		if c.Modifier == "text" {
			return ""
		}
		return token(v.Token)
	case search.TypeReference:
		switch {
		case c.Modifier == "identifier":
			return token(v.Token)
		case v.Ref.URL != "":
			return formRefURL
		case v.Ref.Type != "":
			return formRefTypeID
		}
		return formRefID
	case search.TypeURI:
		if c.Modifier == "" {
			return formURI
		}
	case search.TypeString:
		if c.Modifier == "exact" {
			return formExact
		}
	}
	return ""
}

// inList writes one IN condition for values of one equality form.
func (b *builder) inList(form string, vs []search.Value) {
	one := func(col string, arg func(v search.Value) any) {
		b.w(b.c(col), " IN (")
		for i, v := range vs {
			if i > 0 {
				b.w(", ")
			}
			b.a(arg(v))
		}
		b.w(")")
	}
	two := func(c1, c2 string, arg func(v search.Value) (any, any)) {
		b.w("(", b.c(c1), ", ", b.c(c2), ") IN (VALUES ")
		for i, v := range vs {
			if i > 0 {
				b.w(", ")
			}
			x, y := arg(v)
			b.w("(")
			b.a(x)
			b.w(", ")
			b.a(y)
			b.w(")")
		}
		b.w(")")
	}
	switch form {
	case formCode:
		one("code", func(v search.Value) any { return v.Token.Code })
	case formSystem:
		one("system", func(v search.Value) any { return v.Token.System })
	case formSystemCode:
		two("system", "code", func(v search.Value) (any, any) { return v.Token.System, v.Token.Code })
	case formRefURL:
		one("url", func(v search.Value) any { return v.Ref.URL })
	case formRefTypeID:
		two("target_type", "target_id", func(v search.Value) (any, any) { return v.Ref.Type, v.Ref.ID })
	case formRefID:
		one("target_id", func(v search.Value) any { return v.Ref.ID })
	case formURI:
		one("uri", func(v search.Value) any { return v.URI })
	case formExact:
		one("exact", func(v search.Value) any { return v.String })
	}
}
