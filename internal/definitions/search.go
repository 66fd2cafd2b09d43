package definitions

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/bundle"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/rest"
)

// Parameter types of the served search parameters
// (https://hl7.org/fhir/R4/conceptmap.html#search,
// https://hl7.org/fhir/R4/operationdefinition.html#search,
// https://hl7.org/fhir/R4/structuredefinition.html#search).
var params = map[string]map[string]string{
	ConceptMap: {
		"_id": search.TypeToken, "url": search.TypeURI, "version": search.TypeToken, "name": search.TypeString,
		"title": search.TypeString, "status": search.TypeToken, "publisher": search.TypeString,
		"source": search.TypeReference, "target": search.TypeReference, "source-uri": search.TypeReference,
		"target-uri": search.TypeReference, "source-system": search.TypeURI, "target-system": search.TypeURI,
		"source-code": search.TypeToken, "target-code": search.TypeToken,
	},
	OperationDefinition: {
		"_id": search.TypeToken, "url": search.TypeURI, "version": search.TypeToken, "name": search.TypeString,
		"title": search.TypeString, "status": search.TypeToken, "publisher": search.TypeString,
		"code": search.TypeToken, "kind": search.TypeToken, "system": search.TypeToken, "type": search.TypeToken, "instance": search.TypeToken,
	},
	StructureDefinition: {
		"_id": search.TypeToken, "url": search.TypeURI, "version": search.TypeToken, "name": search.TypeString,
		"title": search.TypeString, "status": search.TypeToken, "publisher": search.TypeString,
		"kind": search.TypeToken, "type": search.TypeToken, "base": search.TypeReference,
		"derivation": search.TypeToken, "abstract": search.TypeToken,
	},
}

// SearchParams lists the search parameters of typ and their types, sorted,
// for the CapabilityStatement.
func SearchParams(typ string) [][2]string {
	var out [][2]string
	for code, t := range params[typ] {
		out = append(out, [2]string{code, t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

const (
	defaultCount = 20
	maxCount     = 1000
)

// criterion is one parameter occurrence: any of values must match (comma
// is OR); occurrences are ANDed.
type criterion struct {
	code, modifier, typ string
	values              []string
}

// Search: https://hl7.org/fhir/R4/search.html over the parameters above,
// with _count and paging by _offset (the list is small and changes only with
// a release, so offsets are stable). Unknown parameters are ignored and
// reported in an outcome entry, or refused with Prefer: handling=strict.
func (c *Catalog) Search(_ context.Context, r rest.Request) (*rest.Response, error) {
	es, ok := c.byTyp[r.Type]
	if !ok {
		return nil, outcome.NotFound("resource type %q is not served here", r.Type)
	}
	count, offset, summaryCount := defaultCount, 0, false
	var crit []criterion
	var issues []outcome.Issue
	ignore := func(name, reason string) error {
		if r.Strict {
			return outcome.Invalid("parameter %s: %s", name, reason).At(name)
		}
		issues = append(issues, outcome.Issue{Severity: outcome.Warning, Code: outcome.CodeNotSupported,
			Diagnostics: "parameter " + name + " was ignored: " + reason, Expression: []string{name}})
		return nil
	}
	keys := make([]string, 0, len(r.Query))
	for k := range r.Query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := r.Query[k]
		switch k {
		case "_format", "_pretty":
			continue
		case "_count", "_offset":
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 0 {
				return nil, outcome.Invalid("%s must be a non-negative integer, got %q", k, vs[0]).At(k)
			}
			if k == "_count" {
				count = min(n, maxCount)
			} else {
				offset = n
			}
			continue
		case "_summary":
			switch vs[0] {
			case "count":
				summaryCount = true
			case "false":
			default:
				if err := ignore(k, "only count and false are supported on "+r.Type); err != nil {
					return nil, err
				}
			}
			continue
		}
		code, mod, _ := strings.Cut(k, ":")
		typ, known := params[r.Type][code]
		if !known {
			if err := ignore(k, "not a search parameter of "+r.Type+" served here"); err != nil {
				return nil, err
			}
			continue
		}
		if mod != "" && !(typ == search.TypeString && (mod == "exact" || mod == "contains")) {
			return nil, outcome.Invalid("modifier :%s is not supported on %s (%s)", mod, code, typ).At(k)
		}
		for _, v := range vs {
			crit = append(crit, criterion{code: code, modifier: mod, typ: typ, values: splitOR(v)})
		}
	}
	var matches []*entry
	for _, e := range es {
		if matchesAll(e, crit) {
			matches = append(matches, e)
		}
	}
	total := len(matches)
	path := r.Base + "/" + r.Type
	b := bundle.Bundle{Type: "searchset", Timestamp: time.Now(), Total: &total}
	b.Links = append(b.Links, bundle.Link{Relation: "self", URL: page(path, r.Query, offset, count)})
	if len(issues) > 0 {
		b.Entries = append(b.Entries, bundle.Entry{Resource: outcome.JSON(issues), Mode: "outcome"})
	}
	if !summaryCount {
		end := min(offset+count, total)
		if offset < total {
			for _, e := range matches[offset:end] {
				b.Entries = append(b.Entries, bundle.Entry{FullURL: r.Base + "/" + r.Type + "/" + e.id, Resource: e.body, Mode: "match"})
			}
		}
		if end < total {
			b.Links = append(b.Links, bundle.Link{Relation: "next", URL: page(path, r.Query, end, count)})
		}
		if offset > 0 {
			b.Links = append(b.Links, bundle.Link{Relation: "previous", URL: page(path, r.Query, max(0, offset-count), count)})
		}
	}
	return &rest.Response{Status: http.StatusOK, Body: b.JSON()}, nil
}

func matchesAll(e *entry, crit []criterion) bool {
	for _, c := range crit {
		ok := false
		for _, want := range c.values {
			for _, have := range e.values[c.code] {
				if matchValue(c, have, want) {
					ok = true
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// matchValue applies the type's rule (https://hl7.org/fhir/R4/search.html#ptypes):
// strings are case- and accent-insensitive prefixes unless :exact or
// :contains; uris and canonical references are exact; tokens exact, with
// an optional "system|" ignored because these codes carry no system here.
func matchValue(c criterion, have, want string) bool {
	switch c.typ {
	case search.TypeString:
		switch c.modifier {
		case "exact":
			return have == want
		case "contains":
			return strings.Contains(search.Normalize(have), search.Normalize(want))
		}
		return strings.HasPrefix(search.Normalize(have), search.Normalize(want))
	case search.TypeToken:
		if i := strings.LastIndexByte(want, '|'); i >= 0 {
			want = want[i+1:]
		}
		return have == want
	case search.TypeReference:
		// A canonical may be searched with its version: url|version.
		if i := strings.IndexByte(want, '|'); i >= 0 {
			want = want[:i]
		}
	}
	return have == want
}

// splitOR splits a value on commas not escaped with a backslash
// (https://hl7.org/fhir/R4/search.html#escaping).
func splitOR(v string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			i++
			cur.WriteByte(v[i])
		case v[i] == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	return append(out, cur.String())
}

func page(path string, q url.Values, offset, count int) string {
	v := url.Values{}
	for k, vs := range q {
		if k != "_offset" && k != "_count" {
			v[k] = vs
		}
	}
	v.Set("_count", strconv.Itoa(count))
	if offset > 0 {
		v.Set("_offset", strconv.Itoa(offset))
	}
	return path + "?" + v.Encode()
}
