package search

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirpath"
)

// Decode decodes resource JSON the way extraction needs it (numbers kept exact).
func Decode(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("search.Decode: %w", err)
	}
	return m, nil
}

// implicitSystems gives the code system of parameters over a plain code
// element, so "gender=http://hl7.org/fhir/administrative-gender|male" works
// as well as "gender=male".
var implicitSystems = map[string]string{
	"http://hl7.org/fhir/SearchParameter/individual-gender":   "http://hl7.org/fhir/administrative-gender",
	"http://hl7.org/fhir/SearchParameter/Observation-status":  "http://hl7.org/fhir/observation-status",
	"http://hl7.org/fhir/SearchParameter/Immunization-status": "http://hl7.org/fhir/event-status",
}

// Extract evaluates every parameter of typ over res and returns its index rows.
func (r *Registry) Extract(typ string, res map[string]any) (*Index, error) {
	ix := &Index{}
	for _, p := range r.Params(typ) {
		if p.expr == nil || (p.Derived != nil && len(p.Derived.Union) > 0) {
			continue // a union keeps no rows: not even evaluated
		}
		nodes, err := p.expr.Evaluate(res)
		if err != nil {
			return nil, fmt.Errorf("search.Extract %s.%s: %w", typ, p.Code, err)
		}
		for _, n := range nodes {
			r.add(ix, p, res, n)
		}
	}
	r.prune(typ, ix)
	ix.dedupe()
	ix.spanDates(PrimaryDate(typ))
	return ix, nil
}

// primaryDates are the date parameters clinics combine with a code.
var primaryDates = map[string]string{"Observation": "date", "Immunization": "date", "Patient": "birthdate"}

// PrimaryDate is the date parameter whose span token rows carry, or "".
func PrimaryDate(typ string) string { return primaryDates[typ] }

// spanDates stamps every token row with the span of param's date values.
func (ix *Index) spanDates(param string) {
	if param == "" {
		return
	}
	var lo, hi int64
	found := false
	for _, d := range ix.Dates {
		if d.Param != param {
			continue
		}
		if !found || d.Lo < lo {
			lo = d.Lo
		}
		if !found || d.Hi > hi {
			hi = d.Hi
		}
		found = true
	}
	if !found {
		return
	}
	for i := range ix.Tokens {
		ix.Tokens[i].DateLo, ix.Tokens[i].DateHi = lo, hi
	}
}

// dedupe removes repeated rows (the same code in two codings, the same
// reference reached by two paths). Unique rows let a search be driven from
// one index in id order without returning a resource twice. A repeated
// token with a different display keeps that display as a text-only row.
func (ix *Index) dedupe() {
	seen := map[TokenRow]bool{}
	tokens := ix.Tokens[:0]
	var texts []TokenRow
	for _, t := range ix.Tokens {
		key := TokenRow{Param: t.Param, System: t.System, Code: t.Code}
		if t.Code == "" {
			key.Text = t.Text
		}
		if seen[key] {
			if t.Text != "" && t.Code != "" {
				texts = append(texts, TokenRow{Param: t.Param, Text: t.Text})
			}
			continue
		}
		seen[key] = true
		tokens = append(tokens, t)
	}
	for _, t := range texts {
		if !seen[t] {
			seen[t] = true
			tokens = append(tokens, t)
		}
	}
	ix.Tokens = tokens
	ix.Strings = uniq(ix.Strings)
	ix.Dates = uniq(ix.Dates)
	ix.Numbers = uniq(ix.Numbers)
	ix.Quantities = uniq(ix.Quantities)
	ix.Refs = uniq(ix.Refs)
	ix.URIs = uniq(ix.URIs)
	ix.Composites = uniq(ix.Composites)
}

func uniq[T comparable](rows []T) []T {
	if len(rows) < 2 {
		return rows
	}
	seen := make(map[T]bool, len(rows))
	out := rows[:0]
	for _, r := range rows {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

func (r *Registry) add(ix *Index, p *Param, res map[string]any, n fhirpath.Node) {
	switch p.Type {
	case TypeString:
		for _, s := range stringsOf(n) {
			ix.Strings = append(ix.Strings, StringRow{Param: p.Code, Norm: Normalize(s), Exact: s})
		}
	case TypeToken:
		ix.Tokens = append(ix.Tokens, tokensOf(p.Code, implicitSystems[p.URL], n)...)
	case TypeDate:
		if rg, ok := IndexDate(n.Type, n.Value, r.Location); ok {
			ix.Dates = append(ix.Dates, DateRow{Param: p.Code, Lo: rg.Lo, Hi: rg.Hi})
		}
	case TypeReference:
		ref, ident, ok := refOf(n)
		if ok {
			ref.Param = p.Code
			ix.Refs = append(ix.Refs, ref)
		}
		if ident != nil {
			ix.Tokens = append(ix.Tokens, tokensOf(p.Code+":identifier", "", fhirpath.Node{Type: "Identifier", Value: ident})...)
		}
	case TypeQuantity:
		if q, ok := quantityOf(n); ok {
			q.Param = p.Code
			ix.Quantities = append(ix.Quantities, q)
		}
	case TypeNumber:
		if v, ok := number(n.Value); ok {
			ix.Numbers = append(ix.Numbers, NumberRow{Param: p.Code, Value: v})
		}
	case TypeURI:
		if s, ok := n.Value.(string); ok {
			ix.URIs = append(ix.URIs, URIRow{Param: p.Code, URI: s})
		}
	case TypeComposite:
		ix.Composites = append(ix.Composites, r.composites(p, res, n)...)
	}
}

// composites pairs every token of the first component with every value of
// the second, both evaluated on the same context node, so
// code-value-quantity matches only a code and a value of the same
// Observation (or the same component).
func (r *Registry) composites(p *Param, res map[string]any, ctx fhirpath.Node) []CompositeRow {
	codes, err := p.Components[0].expr.EvaluateNode(res, ctx)
	if err != nil {
		return nil
	}
	values, err := p.Components[1].expr.EvaluateNode(res, ctx)
	if err != nil {
		return nil
	}
	var out []CompositeRow
	for _, cn := range codes {
		for _, tok := range tokensOf("", "", cn) {
			if tok.Code == "" {
				continue
			}
			for _, vn := range values {
				c := CompositeRow{Param: p.Code, System: tok.System, Code: tok.Code, Kind: p.Components[1].Type}
				switch c.Kind {
				case TypeToken:
					for _, vt := range tokensOf("", "", vn) {
						if vt.Code == "" {
							continue
						}
						v := c
						v.ValueSystem, v.ValueCode = vt.System, vt.Code
						out = append(out, v)
					}
					continue
				case TypeQuantity:
					q, ok := quantityOf(vn)
					if !ok {
						continue
					}
					c.Num, c.ValueSystem, c.ValueCode, c.Unit = q.Value, q.System, q.Code, q.Unit
				case TypeDate:
					rg, ok := IndexDate(vn.Type, vn.Value, r.Location)
					if !ok {
						continue
					}
					c.Lo, c.Hi = rg.Lo, rg.Hi
				case TypeString:
					s, ok := vn.Value.(string)
					if !ok {
						continue
					}
					c.Str = Normalize(s)
				default:
					continue
				}
				out = append(out, c)
			}
		}
	}
	return out
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func strs(m map[string]any, k string) []string {
	arr, _ := m[k].([]any)
	out := make([]string, 0, len(arr))
	for _, v := range arr {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// stringsOf returns the searchable strings of a node
// (https://hl7.org/fhir/R4/search.html#string: HumanName and Address parts).
func stringsOf(n fhirpath.Node) []string {
	m, isMap := n.Value.(map[string]any)
	switch {
	case !isMap:
		if s, ok := n.Value.(string); ok && s != "" {
			return []string{s}
		}
		return nil
	case n.Type == "HumanName":
		out := strs(m, "given")
		out = append(out, strs(m, "prefix")...)
		out = append(out, strs(m, "suffix")...)
		for _, k := range []string{"family", "text"} {
			if s := str(m, k); s != "" {
				out = append(out, s)
			}
		}
		return out
	case n.Type == "Address":
		out := strs(m, "line")
		for _, k := range []string{"city", "district", "state", "postalCode", "country", "text"} {
			if s := str(m, k); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// tokensOf returns the token rows of a node
// (https://hl7.org/fhir/R4/search.html#token: Coding, CodeableConcept,
// Identifier, ContactPoint, code, boolean, string and uri).
func tokensOf(param, implicitSystem string, n fhirpath.Node) []TokenRow {
	switch v := n.Value.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []TokenRow{{Param: param, System: implicitSystem, Code: v}}
	case bool:
		return []TokenRow{{Param: param, Code: fmt.Sprint(v)}}
	case map[string]any:
		switch n.Type {
		case "Coding":
			return codingTokens(param, v, "")
		case "CodeableConcept":
			var out []TokenRow
			codings, _ := v["coding"].([]any)
			for _, c := range codings {
				if cm, ok := c.(map[string]any); ok {
					out = append(out, codingTokens(param, cm, "")...)
				}
			}
			if t := str(v, "text"); t != "" {
				out = append(out, TokenRow{Param: param, Text: Normalize(t)})
			}
			return out
		case "Identifier":
			value := str(v, "value")
			if value == "" {
				return nil
			}
			typ, _ := v["type"].(map[string]any)
			out := []TokenRow{{Param: param, System: str(v, "system"), Code: value, Text: Normalize(str(typ, "text"))}}
			codings, _ := typ["coding"].([]any)
			for _, c := range codings {
				if cm, ok := c.(map[string]any); ok && str(cm, "code") != "" {
					// :of-type matches type system, type code and value together.
					out = append(out, TokenRow{Param: param + ":of-type", System: str(cm, "system"), Code: str(cm, "code") + "|" + value})
				}
			}
			return out
		case "ContactPoint":
			if value := str(v, "value"); value != "" {
				return []TokenRow{{Param: param, Code: value}}
			}
		}
	}
	return nil
}

func codingTokens(param string, c map[string]any, _ string) []TokenRow {
	code := str(c, "code")
	if code == "" {
		if d := str(c, "display"); d != "" {
			return []TokenRow{{Param: param, Text: Normalize(d)}}
		}
		return nil
	}
	return []TokenRow{{Param: param, System: str(c, "system"), Code: code, Text: Normalize(str(c, "display"))}}
}

// refOf reads a Reference, canonical or uri node. It returns the reference
// row, the logical identifier (for :identifier) and whether there is a row.
func refOf(n fhirpath.Node) (RefRow, map[string]any, bool) {
	if s, ok := n.Value.(string); ok { // canonical, uri
		return RefRow{URL: s}, nil, s != ""
	}
	m, ok := n.Value.(map[string]any)
	if !ok {
		return RefRow{}, nil, false
	}
	ident, _ := m["identifier"].(map[string]any)
	ref := str(m, "reference")
	if ref == "" || strings.HasPrefix(ref, "#") {
		return RefRow{}, ident, false
	}
	if typ, id, ok := LocalReference(ref); ok {
		return RefRow{TargetType: typ, TargetID: id}, ident, true
	}
	return RefRow{URL: ref}, ident, true
}

// LocalReference splits a relative reference "Type/id" or "Type/id/_history/n".
func LocalReference(ref string) (typ, id string, ok bool) {
	parts := strings.Split(ref, "/")
	if len(parts) == 4 && parts[2] == "_history" {
		parts = parts[:2]
	}
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" || strings.Contains(parts[0], ":") {
		return "", "", false
	}
	if c := parts[0][0]; c < 'A' || c > 'Z' {
		return "", "", false
	}
	return parts[0], parts[1], true
}

func quantityOf(n fhirpath.Node) (QuantityRow, bool) {
	m, ok := n.Value.(map[string]any)
	if !ok {
		return QuantityRow{}, false
	}
	if n.Type == "SampledData" {
		m, _ = m["origin"].(map[string]any)
	}
	v, ok := number(m["value"])
	if !ok {
		return QuantityRow{}, false
	}
	return QuantityRow{Value: v, System: str(m, "system"), Code: str(m, "code"), Unit: str(m, "unit")}, true
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil && !math.IsInf(f, 0)
	case float64:
		return x, true
	}
	return 0, false
}

// Finish completes index rows built without Extract (from the values a
// resource is made of): repeated rows removed and token rows stamped with
// the primary date's span, as Extract does.
func (r *Registry) Finish(typ string, ix *Index) {
	r.prune(typ, ix)
	ix.dedupe()
	ix.spanDates(PrimaryDate(typ))
}
