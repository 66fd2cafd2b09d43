package rest

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
)

// ifNoneExist parses an If-None-Exist header: a query string of search
// criteria on the type being created (https://hl7.org/fhir/R4/http.html#ccreate).
// Unknown parameters are refused so a typo cannot turn the condition off.
func (s *Service) ifNoneExist(r Request) (*search.Query, error) {
	raw := strings.TrimSpace(r.IfNoneExist)
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[i+1:] // tolerate "Patient?identifier=..."
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return nil, outcome.Invalid("If-None-Exist %q is not a query string: %v", raw, err)
	}
	q, err := s.reg.Parse([]string{r.Type}, values, search.Options{Base: r.Base, Strict: true})
	if err != nil {
		if e, ok := outcome.As(err); ok {
			for i := range e.Issues {
				e.Issues[i].Diagnostics = "If-None-Exist: " + e.Issues[i].Diagnostics
			}
		}
		return nil, err
	}
	if len(q.And) == 0 {
		return nil, outcome.Invalid("If-None-Exist is empty; give search criteria such as identifier=system|value")
	}
	return q, nil
}

// validateInput accepts a bare resource or a Parameters with "resource" and "mode".
func validateInput(body []byte) ([]byte, string, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name           string          `json:"name"`
			Resource       json.RawMessage `json:"resource"`
			ValueCode      string          `json:"valueCode"`
			ValueCanonical string          `json:"valueCanonical"`
			ValueURI       string          `json:"valueUri"`
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
		case "profile":
			return nil, "", outcome.NotSupported(400, "$validate against a profile (%s) is not supported; Mekong validates against the base R4 definitions", p.ValueCanonical+p.ValueURI).At("Parameters.parameter")
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
