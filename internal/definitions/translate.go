package definitions

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/mappings/terminology"
)

// translateInput is the subset of the $translate input parameters Mekong
// reads, from the query (GET) or a Parameters body (POST).
type translateInput struct {
	url, system, code, targetSystem, reverse string
	codings                                  []terminology.Coding
	given                                    map[string]bool
}

// Translate: ConceptMap/$translate and ConceptMap/[id]/$translate
// (https://hl7.org/fhir/R4/conceptmap-operation-translate.html). The concept
// is system+code, a coding or a codeableConcept (each of its codings is
// translated); url or the instance narrows the maps, targetsystem the
// targets; reverse=true answers which source codes map to the code. source
// and target name value sets, which Mekong's maps do not declare: they are
// accepted and do not narrow the maps. conceptMap (a map sent inline) and
// dependency are refused with 400. The answer is a Parameters with result,
// message when nothing matched, and one match per translation.
func (c *Catalog) Translate(_ context.Context, r rest.Request) (*rest.Response, error) {
	in, err := readTranslate(r)
	if err != nil {
		return nil, err
	}
	if r.ID != "" {
		e, err := c.find(ConceptMap, r.ID)
		if err != nil {
			return nil, err
		}
		var head struct {
			URL string `json:"url"`
		}
		_ = json.Unmarshal(e.body, &head)
		if in.url != "" && in.url != head.URL {
			return nil, outcome.Invalid("url %q is not the url of ConceptMap/%s (%s)", in.url, r.ID, head.URL).At("url")
		}
		in.url = head.URL
	}
	for _, p := range []string{"conceptMap", "dependency"} {
		if in.given[p] {
			return nil, outcome.NotSupported(http.StatusBadRequest, "$translate parameter %s is not supported; translate with the ConceptMaps served here", p).At(p)
		}
	}
	reverse := false
	switch in.reverse {
	case "", "false":
	case "true":
		reverse = true
	default:
		return nil, outcome.Invalid("reverse must be true or false, got %q", in.reverse).At("reverse")
	}
	// "One (and only one) of the in parameters (code, coding,
	// codeableConcept) must be provided."
	given := 0
	for _, p := range []string{"code", "coding", "codeableConcept"} {
		if in.given[p] {
			given++
		}
	}
	if given > 1 {
		return nil, outcome.Invalid("$translate takes one of code, coding and codeableConcept, not several").At("code")
	}
	if in.code != "" {
		in.codings = append(in.codings, terminology.Coding{System: in.system, Code: in.code})
	}
	if len(in.codings) == 0 {
		return nil, outcome.Invalid("$translate needs a code (with system), a coding or a codeableConcept").At("code")
	}
	var matches []terminology.Match
	for _, cd := range in.codings {
		ms, err := c.term.Lookup(terminology.TranslateRequest{URL: in.url, System: cd.System, Code: cd.Code,
			TargetSystem: in.targetSystem, Reverse: reverse})
		if err != nil {
			return nil, err
		}
		matches = append(matches, ms...)
	}
	return &rest.Response{Status: http.StatusOK, Body: terminology.Parameters(matches)}, nil
}

func readTranslate(r rest.Request) (*translateInput, error) {
	in := &translateInput{given: map[string]bool{}}
	set := func(name, v string) {
		in.given[name] = true
		switch name {
		case "url":
			in.url = v
		case "system":
			in.system = v
		case "code":
			in.code = v
		case "targetsystem":
			in.targetSystem = v
		case "reverse":
			in.reverse = v
		}
	}
	if len(r.Body) == 0 {
		for name, vs := range r.Query {
			if name == "coding" || name == "codeableConcept" {
				return nil, outcome.Invalid("%s is a complex type: send it in a Parameters body with POST", name).At(name)
			}
			set(name, vs[0])
		}
		return in, nil
	}
	var p struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name                 string              `json:"name"`
			ValueURI             string              `json:"valueUri"`
			ValueCanonical       string              `json:"valueCanonical"`
			ValueCode            string              `json:"valueCode"`
			ValueString          string              `json:"valueString"`
			ValueBoolean         *bool               `json:"valueBoolean"`
			ValueCoding          *terminology.Coding `json:"valueCoding"`
			ValueCodeableConcept *struct {
				Coding []terminology.Coding `json:"coding"`
			} `json:"valueCodeableConcept"`
			Resource json.RawMessage `json:"resource"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil || p.ResourceType != "Parameters" {
		return nil, outcome.Invalid("POST $translate takes a Parameters resource").At("Parameters")
	}
	for i, pp := range p.Parameter {
		switch {
		case pp.ValueCoding != nil:
			in.given[pp.Name] = true
			in.codings = append(in.codings, *pp.ValueCoding)
		case pp.ValueCodeableConcept != nil:
			in.given[pp.Name] = true
			in.codings = append(in.codings, pp.ValueCodeableConcept.Coding...)
		case pp.ValueBoolean != nil:
			set(pp.Name, map[bool]string{true: "true", false: "false"}[*pp.ValueBoolean])
		case len(pp.Resource) > 0:
			in.given[pp.Name] = true
		default:
			v := pp.ValueURI + pp.ValueCanonical + pp.ValueCode + pp.ValueString
			if v == "" {
				return nil, outcome.Invalid("parameter %s has no value Mekong reads", pp.Name).At("Parameters.parameter[" + strconv.Itoa(i) + "]")
			}
			set(pp.Name, v)
		}
	}
	return in, nil
}
