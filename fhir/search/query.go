package search

import (
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// Paging limits (https://hl7.org/fhir/R4/search.html#count).
const (
	DefaultCount = 20
	MaxCount     = 1000
)

// Query is a parsed search (https://hl7.org/fhir/R4/search.html). Criteria
// are ANDed; the values of one criterion are ORed.
type Query struct {
	Types       []string
	And         []Criterion
	Sort        []SortKey
	Count       int
	Total       string // "", "none", "estimate", "accurate"
	Summary     string // "", "true", "text", "data", "count", "false"
	Elements    []string
	Includes    []Include
	RevIncludes []Include
	Cursor      string
	// Ignored are parameters Mekong does not apply, with the reason; they
	// are reported in the Bundle, or refused under Prefer: handling=strict.
	Ignored []Ignored
	// Warnings are adjustments made to the request (e.g. _count clamped).
	Warnings []string
	// Canonical renders the criteria in a normal form: equal criteria give
	// equal strings (locks for conditional writes key on it).
	Canonical string
}

// Criterion is one search parameter occurrence.
type Criterion struct {
	// Name is the parameter as written ("subject:Patient.identifier").
	Name     string
	Param    *Param
	Modifier string
	// Missing is set for :missing.
	Missing *bool
	Values  []Value
	// Chain restricts a reference parameter to targets matching Next.
	Chain *Chain
	// Has is a reverse chain: resources referenced by a Type resource that matches Next.
	Has *Has
}

// Chain is a chained parameter (https://hl7.org/fhir/R4/search.html#chaining).
type Chain struct {
	Type string
	Next Criterion
}

// Has is a reverse chain (https://hl7.org/fhir/R4/search.html#has).
type Has struct {
	Type string
	Ref  *Param
	Next Criterion
}

// Value is one search value; the field for the parameter's type is set.
type Value struct {
	Raw      string
	Token    Token
	String   string
	Date     DateValue
	Number   NumberValue
	Quantity QuantityValue
	Ref      RefValue
	URI      string
	// Second is the second component of a composite value.
	Second *Value
}

// RefValue is a reference search value: a local Type/id (Type may be empty
// for a bare id) or an absolute URL.
type RefValue struct {
	Type, ID, URL string
}

// SortKey is one _sort key.
type SortKey struct {
	Param *Param
	Desc  bool
}

// Include is an _include or _revinclude.
type Include struct {
	SourceType string
	Param      *Param // nil for *
	TargetType string
	Iterate    bool
}

// Ignored is a parameter Mekong did not apply.
type Ignored struct {
	Name, Reason string
}

// Options are the request facts parsing needs.
type Options struct {
	// Base is this server's base URL, so absolute references to it match local ones.
	Base string
	// Strict refuses unknown parameters (Prefer: handling=strict).
	Strict bool
}

// controls are result parameters, not criteria.
var controls = map[string]bool{"_count": true, "_sort": true, "_total": true, "_summary": true, "_elements": true,
	"_include": true, "_revinclude": true, "_cursor": true, "_format": true, "_pretty": true, "_type": true}

// unsupported are defined parameters Mekong does not apply, with why.
var unsupported = map[string]string{
	"_text":          "narrative full-text search is not supported",
	"_content":       "full-text search is not supported",
	"_query":         "named queries are not supported",
	"_filter":        "_filter is not supported; use search parameters",
	"_list":          "_list is not supported",
	"_contained":     "searching contained resources is not supported",
	"_containedType": "searching contained resources is not supported",
}

// Parse reads a search for types (one type, or several for a system search)
// from query parameters. A malformed value is a 400 naming the parameter.
func (r *Registry) Parse(types []string, params url.Values, opt Options) (*Query, error) {
	q := &Query{Types: types, Count: DefaultCount}
	if len(types) == 1 {
		if _, ok := r.params[types[0]]; !ok {
			return nil, outcome.NotFound("resource type %q is not served here", types[0])
		}
	}
	if err := checkLimits(params); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	var canon []string
	for _, name := range names {
		for _, raw := range params[name] {
			if err := r.parseControl(q, name, raw, opt); err != nil {
				return nil, err
			}
			if controls[baseName(name)] {
				continue
			}
			if reason, ok := unsupported[baseName(name)]; ok {
				if err := q.ignore(name, reason, opt); err != nil {
					return nil, err
				}
				continue
			}
			c, err := r.parseCriterion(types, name, raw, opt)
			if err != nil {
				return nil, err
			}
			if c == nil {
				if err := q.ignore(name, "unknown search parameter for "+strings.Join(types, ", "), opt); err != nil {
					return nil, err
				}
				continue
			}
			q.And = append(q.And, *c)
			canon = append(canon, name+"="+raw)
		}
	}
	sort.Strings(canon)
	q.Canonical = strings.Join(canon, "&")
	return q, nil
}

func baseName(name string) string {
	if i := strings.IndexAny(name, ":."); i >= 0 {
		return name[:i]
	}
	return name
}

func (q *Query) ignore(name, reason string, opt Options) error {
	if opt.Strict {
		return outcome.Invalid("search parameter %q: %s (Prefer: handling=strict)", name, reason).At(name)
	}
	q.Ignored = append(q.Ignored, Ignored{Name: name, Reason: reason})
	return nil
}

func (r *Registry) parseControl(q *Query, name, raw string, opt Options) error {
	bad := func(format string, args ...any) error { return outcome.Invalid(name+": "+format, args...).At(name) }
	switch name {
	case "_count":
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return bad("%q is not a whole number from 0 to %d", raw, MaxCount)
		}
		if n > MaxCount {
			q.Warnings = append(q.Warnings, "_count "+raw+" is above the maximum; "+strconv.Itoa(MaxCount)+" used")
			n = MaxCount
		}
		q.Count = n
		if n == 0 {
			q.Summary = "count"
		}
	case "_total":
		switch raw {
		case "none", "estimate", "accurate":
			q.Total = raw
		default:
			return bad("%q is not one of none, estimate, accurate", raw)
		}
	case "_summary":
		switch raw {
		case "true", "text", "data", "count", "false":
			if q.Summary != "count" {
				q.Summary = raw
			}
		default:
			return bad("%q is not one of true, text, data, count, false", raw)
		}
	case "_elements":
		for _, e := range strings.Split(raw, ",") {
			e = strings.TrimSpace(e)
			if !elementName(e) {
				return bad("%q is not an element name", e)
			}
			q.Elements = append(q.Elements, e)
		}
	case "_sort":
		for _, key := range strings.Split(raw, ",") {
			desc := strings.HasPrefix(key, "-")
			code := strings.TrimPrefix(key, "-")
			var p *Param
			for _, t := range q.Types {
				if pp, ok := r.Lookup(t, code); ok {
					p = pp
				}
			}
			if p == nil || p.Type == TypeComposite {
				return bad("cannot sort by %q: not a sortable search parameter of %s", code, strings.Join(q.Types, ", "))
			}
			q.Sort = append(q.Sort, SortKey{Param: p, Desc: desc})
		}
	case "_cursor":
		q.Cursor = raw
	case "_include", "_include:iterate", "_include:recurse", "_revinclude", "_revinclude:iterate", "_revinclude:recurse":
		inc, err := r.parseInclude(name, raw)
		if err != nil {
			return err
		}
		if strings.HasPrefix(name, "_include") {
			q.Includes = append(q.Includes, inc)
		} else {
			q.RevIncludes = append(q.RevIncludes, inc)
		}
	}
	return nil
}

func elementName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// parseInclude reads "Type:param[:TargetType]" or "*"
// (https://hl7.org/fhir/R4/search.html#include).
func (r *Registry) parseInclude(name, raw string) (Include, error) {
	inc := Include{Iterate: strings.Contains(name, ":")}
	if raw == "*" {
		return inc, nil
	}
	parts := strings.Split(raw, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return inc, outcome.Invalid("%s %q must be Type:parameter or Type:parameter:TargetType", name, raw).At(name)
	}
	p, ok := r.Lookup(parts[0], parts[1])
	if !ok || p.Type != TypeReference {
		return inc, outcome.Invalid("%s %q: %s is not a reference parameter of %s", name, raw, parts[1], parts[0]).At(name)
	}
	inc.SourceType, inc.Param = parts[0], p
	if parts[1] == "*" {
		inc.Param = nil
	}
	if len(parts) == 3 {
		inc.TargetType = parts[2]
	}
	return inc, nil
}

// parseCriterion reads one parameter and its values; nil means unknown.
func (r *Registry) parseCriterion(types []string, name, raw string, opt Options) (*Criterion, error) {
	if strings.HasPrefix(name, "_has:") {
		return r.parseHas(types, name, raw, opt)
	}
	head, rest, chained := strings.Cut(name, ".")
	code, modifier, _ := strings.Cut(head, ":")
	var p *Param
	for _, t := range types {
		if pp, ok := r.Lookup(t, code); ok {
			p = pp
			break
		}
	}
	if p == nil {
		return nil, nil
	}
	c := &Criterion{Name: name, Param: p, Modifier: modifier}
	bad := func(format string, args ...any) error { return outcome.Invalid(name+": "+format, args...).At(name) }
	if chained {
		if p.Type != TypeReference {
			return nil, bad("only reference parameters can be chained; %s is a %s", code, p.Type)
		}
		target := modifier
		if target == "" {
			// Only served types can be chained into, so "patient.name" is
			// unambiguous although patient may also reference a Group.
			var served []string
			for _, t := range p.Targets {
				if _, ok := r.params[t]; ok {
					served = append(served, t)
				}
			}
			if len(served) != 1 {
				return nil, bad("%s may reference %s; name one, as in %s:%s.%s", code, strings.Join(p.Targets, ", "), code, firstOr(served, "Patient"), rest)
			}
			target = served[0]
		}
		if _, ok := r.params[target]; !ok {
			return nil, bad("chained searches into %s are not supported (served types: %s)", target, strings.Join(r.types, ", "))
		}
		next, err := r.parseCriterion([]string{target}, rest, raw, opt)
		if err != nil {
			return nil, err
		}
		if next == nil {
			return nil, bad("%s has no search parameter %q", target, rest)
		}
		c.Modifier = ""
		c.Chain = &Chain{Type: target, Next: *next}
		return c, nil
	}
	if modifier == "missing" {
		switch raw {
		case "true", "false":
			b := raw == "true"
			c.Missing = &b
			return c, nil
		}
		return nil, bad("%q must be true or false", raw)
	}
	if err := checkModifier(p, modifier, r); err != nil {
		return nil, outcome.Invalid("%s: %v", name, err).At(name)
	}
	for _, v := range SplitValues(raw) {
		val, err := r.parseValue(p, modifier, v, opt)
		if err != nil {
			return nil, bad("%v", err)
		}
		c.Values = append(c.Values, val)
	}
	return c, nil
}

func firstOr(s []string, d string) string {
	if len(s) > 0 {
		return s[0]
	}
	return d
}

// parseHas reads _has:Type:refParam:param=value, where param may itself be
// another _has.
func (r *Registry) parseHas(types []string, name, raw string, opt Options) (*Criterion, error) {
	parts := strings.SplitN(name, ":", 4)
	bad := func(format string, args ...any) error { return outcome.Invalid(name+": "+format, args...).At(name) }
	if len(parts) != 4 {
		return nil, bad("write _has:Type:referenceParameter:parameter=value")
	}
	typ, refCode, rest := parts[1], parts[2], parts[3]
	if _, ok := r.params[typ]; !ok {
		return nil, bad("%s is not served here", typ)
	}
	ref, ok := r.Lookup(typ, refCode)
	if !ok || ref.Type != TypeReference {
		return nil, bad("%s is not a reference parameter of %s", refCode, typ)
	}
	next, err := r.parseCriterion([]string{typ}, rest, raw, opt)
	if err != nil {
		return nil, err
	}
	if next == nil {
		return nil, bad("%s has no search parameter %q", typ, rest)
	}
	return &Criterion{Name: name, Has: &Has{Type: typ, Ref: ref, Next: *next}}, nil
}

type modifierError string

func (e modifierError) Error() string { return string(e) }

// checkModifier accepts the modifiers each type supports
// (https://hl7.org/fhir/R4/search.html#modifiers).
func checkModifier(p *Param, m string, r *Registry) error {
	if m == "" {
		return nil
	}
	allowed := map[string][]string{
		TypeString:    {"exact", "contains"},
		TypeToken:     {"not", "text", "of-type"},
		TypeReference: {"identifier"},
		TypeURI:       {"below", "above"},
	}
	for _, a := range allowed[p.Type] {
		if a == m {
			if m == "of-type" && p.Code != "identifier" {
				return modifierError(":of-type applies to identifier parameters only")
			}
			return nil
		}
	}
	if p.Type == TypeReference {
		for _, t := range r.types {
			if t == m {
				return nil
			}
		}
		for _, t := range p.Targets {
			if t == m {
				return nil // a valid type that is not served simply matches nothing local
			}
		}
	}
	switch m {
	case "in", "not-in", "below", "above":
		if p.Type == TypeToken {
			return modifierError(":" + m + " needs a terminology service, which Mekong does not have")
		}
	}
	return modifierError("modifier :" + m + " is not supported for " + p.Type + " parameters")
}

func (r *Registry) parseValue(p *Param, modifier, raw string, opt Options) (Value, error) {
	v := Value{Raw: raw}
	if raw == "" {
		return v, modifierError("empty value")
	}
	var err error
	switch p.Type {
	case TypeString:
		if modifier == "exact" {
			v.String = unescape(raw)
		} else {
			v.String = Normalize(unescape(raw))
		}
	case TypeToken:
		switch modifier {
		case "text":
			v.String = Normalize(unescape(raw))
		case "of-type":
			parts := splitRaw(raw, '|')
			for i := range parts {
				parts[i] = unescape(parts[i])
			}
			if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
				return v, modifierError("an :of-type value is type-system|type-code|value")
			}
			v.Token = Token{System: parts[0], Code: parts[1] + "|" + parts[2]}
		default:
			if p.Column == "id" {
				v.Token = Token{AnySystem: true, Code: unescape(raw)}
				break
			}
			v.Token, err = ParseToken(raw)
		}
	case TypeDate:
		v.Date, err = ParseDate(raw, r.Location)
	case TypeNumber:
		v.Number, err = ParseNumber(raw)
	case TypeQuantity:
		v.Quantity, err = ParseQuantity(raw)
	case TypeURI:
		v.URI = unescape(raw)
	case TypeReference:
		v.Ref, err = parseRef(p, modifier, unescape(raw), opt.Base)
		if modifier == "identifier" {
			v.Token, err = ParseToken(raw)
		}
	case TypeComposite:
		parts := splitRaw(raw, '$')
		if len(parts) != 2 {
			return v, modifierError("a composite value is first$second, e.g. http://loinc.org|8480-6$ge120")
		}
		v.Token, err = ParseToken(parts[0])
		if err != nil {
			return v, err
		}
		second, err := r.parseValue(&Param{Type: p.Components[1].Type}, "", parts[1], opt)
		if err != nil {
			return v, err
		}
		v.Second = &second
	}
	return v, err
}

// parseRef reads a reference value: Type/id, a bare id, or an absolute URL
// (one under this server's base is the same as Type/id).
func parseRef(p *Param, modifier, raw, base string) (RefValue, error) {
	if base != "" && strings.HasPrefix(raw, strings.TrimRight(base, "/")+"/") {
		raw = strings.TrimPrefix(raw, strings.TrimRight(base, "/")+"/")
	}
	if strings.Contains(raw, "://") || strings.HasPrefix(raw, "urn:") {
		if _, err := url.Parse(raw); err != nil {
			return RefValue{}, err
		}
		return RefValue{URL: raw}, nil
	}
	if typ, id, ok := LocalReference(raw); ok {
		if modifier != "" && modifier != typ {
			return RefValue{}, modifierError("the value's type " + typ + " contradicts the modifier :" + modifier)
		}
		return RefValue{Type: typ, ID: id}, nil
	}
	if strings.Contains(raw, "/") {
		return RefValue{}, modifierError("a reference value is Type/id, an id, or an absolute URL")
	}
	return RefValue{Type: modifier, ID: raw}, nil
}
