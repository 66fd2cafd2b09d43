package profile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// node is one value in the resource with the FHIRPath-like location it was found at.
type node struct {
	v    any
	path string
}

// Check returns the ways resource fails the profile, as OperationOutcome
// issues with the location in Expression; none means it conforms (as far as
// this package checks, see the package comment).
func (p *Profile) Check(resource []byte) []outcome.Issue {
	dec := json.NewDecoder(bytes.NewReader(resource))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return []outcome.Issue{issue(outcome.CodeStructure, "", "not a JSON object: %v", err)}
	}
	if rt, _ := root["resourceType"].(string); rt != p.Type {
		return []outcome.Issue{issue(outcome.CodeProcessing, "", "profile %s applies to %s, not %s", p.URL, p.Type, rt)}
	}
	var out []outcome.Issue
	for _, e := range p.elements {
		if e.id == p.Type {
			continue
		}
		parentID, last := splitLast(e.id)
		for _, parent := range p.nodes(root, parentID) {
			out = append(out, p.checkAt(e, parent, last)...)
		}
	}
	return out
}

// Validate is Check as an error: nil, or a 422 *outcome.Error.
func (p *Profile) Validate(resource []byte) error {
	if issues := p.Check(resource); len(issues) > 0 {
		return &outcome.Error{Status: http.StatusUnprocessableEntity, Issues: issues}
	}
	return nil
}

// CheckDeclared checks a resource against every profile of the set it
// declares in meta.profile, and reports declared profiles the set does not know.
func (s *Set) CheckDeclared(resource []byte) []outcome.Issue {
	var head struct {
		Meta struct {
			Profile []string `json:"profile"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(resource, &head); err != nil {
		return []outcome.Issue{issue(outcome.CodeStructure, "", "not a JSON object: %v", err)}
	}
	var out []outcome.Issue
	for _, url := range head.Meta.Profile {
		p, ok := s.Profile(url)
		if !ok {
			out = append(out, issue(outcome.CodeNotSupported, "meta.profile", "unknown profile %s", url))
			continue
		}
		out = append(out, p.Check(resource)...)
	}
	return out
}

func (p *Profile) checkAt(e *element, parent node, last string) []outcome.Issue {
	name, slice, _ := strings.Cut(last, ":")
	values := children(parent, name)
	if slice != "" {
		values = filter(values, e)
	}
	var out []outcome.Issue
	where := parent.path + "." + name
	label := e.id
	if e.min > 0 && len(values) < e.min {
		out = append(out, issue(outcome.CodeRequired, where, "%s: at least %d required%s, found %d", label, e.min, describe(e), len(values)))
	}
	if e.max != "" && e.max != "*" {
		if n, err := strconv.Atoi(e.max); err == nil && len(values) > n {
			out = append(out, issue(outcome.CodeStructure, where, "%s: at most %s allowed, found %d", label, e.max, len(values)))
		}
	}
	for _, v := range values {
		if e.fixed != nil && !reflect.DeepEqual(e.fixed, v.v) {
			out = append(out, issue(outcome.CodeValue, v.path, "%s must be %s", label, compact(e.fixed)))
		}
		if e.pattern != nil && slice == "" && !matches(e.pattern, v.v) {
			out = append(out, issue(outcome.CodeValue, v.path, "%s must match %s", label, compact(e.pattern)))
		}
		out = append(out, checkTypes(e, name, v)...)
	}
	return out
}

// checkTypes enforces the type list of a choice element (value[x]: only the
// listed types may appear) and the target resource type of references.
func checkTypes(e *element, name string, v node) []outcome.Issue {
	if len(e.types) == 0 {
		return nil
	}
	if base, ok := strings.CutSuffix(name, "[x]"); ok {
		suffix := strings.TrimPrefix(v.path[strings.LastIndex(v.path, ".")+1:], base)
		if i := strings.IndexByte(suffix, '['); i >= 0 {
			suffix = suffix[:i]
		}
		for _, t := range e.types {
			if upperFirst(t.Code) == suffix {
				return nil
			}
		}
		var allowed []string
		for _, t := range e.types {
			allowed = append(allowed, t.Code)
		}
		return []outcome.Issue{issue(outcome.CodeStructure, v.path, "%s: type %s is not allowed (allowed: %s)", e.id, suffix, strings.Join(allowed, ", "))}
	}
	for _, t := range e.types {
		if t.Code != "Reference" || len(t.TargetProfile) == 0 {
			return nil
		}
	}
	ref, _ := v.v.(map[string]any)["reference"].(string)
	typ, _, ok := strings.Cut(ref, "/")
	if !ok || strings.Contains(typ, ":") { // urn:uuid and absolute URLs name no type here
		return nil
	}
	for _, t := range e.types {
		for _, tp := range t.TargetProfile {
			if strings.HasSuffix(tp, "/"+typ) {
				return nil
			}
		}
	}
	return []outcome.Issue{issue(outcome.CodeValue, v.path, "%s: a reference to %s is not allowed", e.id, typ)}
}

// nodes evaluates an element id from the resource root: every value it names,
// with slices narrowed to the values that match the slice's pattern.
func (p *Profile) nodes(root map[string]any, id string) []node {
	segs := strings.Split(id, ".")
	cur := []node{{root, segs[0]}}
	prefix := segs[0]
	for _, seg := range segs[1:] {
		prefix += "." + seg
		name, slice, _ := strings.Cut(seg, ":")
		var next []node
		for _, n := range cur {
			vs := children(n, name)
			if slice != "" {
				if e, ok := p.byID[prefix]; ok {
					vs = filter(vs, e)
				}
			}
			next = append(next, vs...)
		}
		cur = next
	}
	return cur
}

// children returns the values of member name of n; a "[x]" name matches any
// typed member (value[x] → valueQuantity, valueCodeableConcept ...).
func children(n node, name string) []node {
	obj, ok := n.v.(map[string]any)
	if !ok {
		return nil
	}
	var keys []string
	if base, ok := strings.CutSuffix(name, "[x]"); ok {
		for k := range obj {
			if rest, ok := strings.CutPrefix(k, base); ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' {
				keys = append(keys, k)
			}
		}
	} else if _, ok := obj[name]; ok {
		keys = []string{name}
	}
	var out []node
	for _, k := range keys {
		switch v := obj[k].(type) {
		case []any:
			for i, x := range v {
				out = append(out, node{x, fmt.Sprintf("%s.%s[%d]", n.path, k, i)})
			}
		default:
			out = append(out, node{v, n.path + "." + k})
		}
	}
	return out
}

// filter keeps the values that belong to slice e: those matching its pattern
// or fixed value (discriminator pattern or value on $this).
func filter(vs []node, e *element) []node {
	want := e.pattern
	if want == nil {
		want = e.fixed
	}
	if want == nil {
		return vs
	}
	var out []node
	for _, v := range vs {
		if matches(want, v.v) {
			out = append(out, v)
		}
	}
	return out
}

// matches implements pattern[x] semantics: every member of the pattern must
// be present with a matching value; every array item of the pattern must
// match some item of the value's array.
func matches(pattern, v any) bool {
	switch p := pattern.(type) {
	case map[string]any:
		obj, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for k, pv := range p {
			if !matches(pv, obj[k]) {
				return false
			}
		}
		return true
	case []any:
		arr, ok := v.([]any)
		if !ok {
			return false
		}
		for _, pe := range p {
			found := false
			for _, ve := range arr {
				if matches(pe, ve) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(pattern, v)
	}
}

func describe(e *element) string {
	if e.pattern != nil {
		return " matching " + compact(e.pattern)
	}
	if e.fixed != nil {
		return " equal to " + compact(e.fixed)
	}
	return ""
}

func compact(v any) string {
	b, _ := fhirjson.Marshal(v)
	return string(b)
}

func splitLast(id string) (parent, last string) {
	i := strings.LastIndexByte(id, '.')
	return id[:i], id[i+1:]
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func issue(code outcome.IssueType, expr, format string, args ...any) outcome.Issue {
	is := outcome.Issue{Severity: outcome.SevError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if expr != "" {
		is.Expression = []string{expr}
	}
	return is
}
