package rest

import (
	"encoding/json"
	"net/url"
	"sort"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

// ParseCondition reads an If-None-Exist value ("identifier=system|value&_id=x",
// https://hl7.org/fhir/R4/http.html#ccreate). It supports _id and identifier
// (token semantics, comma = OR, repetition = AND).
func ParseCondition(q string) (*store.Condition, error) {
	q = strings.TrimSpace(q)
	if i := strings.IndexByte(q, '?'); i >= 0 {
		q = q[i+1:] // tolerate "Patient?identifier=..."
	}
	values, err := url.ParseQuery(q)
	if err != nil {
		return nil, outcome.Invalid("If-None-Exist %q is not a query string: %v", q, err)
	}
	if len(values) == 0 {
		return nil, outcome.Invalid("If-None-Exist is empty; give search criteria such as identifier=system|value")
	}
	c := &store.Condition{Tokens: map[string][]store.TokenMatch{}}
	var canon []string
	for name, vals := range values {
		for _, raw := range vals {
			parts := search.SplitValues(raw)
			sort.Strings(parts)
			canon = append(canon, name+"="+strings.Join(parts, ","))
			switch name {
			case "_id":
				if len(c.IDs) > 0 {
					return nil, outcome.Invalid("If-None-Exist: _id may be given once")
				}
				for _, id := range parts {
					if !resource.ValidID(id) {
						return nil, outcome.Invalid("If-None-Exist: _id %q is not a valid FHIR id", id)
					}
					c.IDs = append(c.IDs, id)
				}
			case "identifier":
				if len(c.Tokens[name]) > 0 {
					// Repeated identifier=... is an AND of alternatives; one store
					// criterion per parameter keeps the lock key simple, so refuse
					// rather than silently OR them.
					return nil, outcome.Invalid("If-None-Exist: give identifier once (comma-separate alternatives)")
				}
				for _, p := range parts {
					tok, err := search.ParseToken(p)
					if err != nil {
						return nil, outcome.Invalid("If-None-Exist: identifier: %v", err)
					}
					c.Tokens[name] = append(c.Tokens[name], store.TokenMatch(tok))
				}
			default:
				return nil, outcome.NotSupported(400, "If-None-Exist parameter %q is not supported; use identifier=system|value and/or _id", name)
			}
		}
	}
	sort.Strings(canon)
	c.Canonical = strings.Join(canon, "&")
	return c, nil
}

// validateInput accepts a bare resource or a Parameters with "resource" and "mode".
func validateInput(body []byte) ([]byte, string, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name      string          `json:"name"`
			Resource  json.RawMessage `json:"resource"`
			ValueCode string          `json:"valueCode"`
		} `json:"parameter"`
	}
	if len(body) == 0 {
		return nil, "", outcome.Invalid("$validate needs a resource, or a Parameters with a \"resource\" parameter")
	}
	if err := json.Unmarshal(body, &head); err != nil || head.ResourceType != "Parameters" {
		return body, "", nil // let the parser explain what is wrong with it
	}
	var res []byte
	mode := ""
	for _, p := range head.Parameter {
		switch p.Name {
		case "resource":
			res = p.Resource
		case "mode":
			mode = p.ValueCode
		}
	}
	switch mode {
	case "", "create", "update":
	case "delete":
		return nil, "", outcome.NotSupported(400, "$validate mode \"delete\" applies to an instance; Mekong validates content only (modes create and update)")
	default:
		return nil, "", outcome.Invalid("$validate mode %q is not one of create, update, delete", mode).At("Parameters.parameter.valueCode")
	}
	if len(res) == 0 {
		return nil, "", outcome.Invalid("$validate Parameters has no \"resource\" parameter").At("Parameters.parameter")
	}
	return res, mode, nil
}
