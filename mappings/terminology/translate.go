package terminology

import (
	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// TranslateRequest holds the inputs of ConceptMap/$translate that Mekong
// supports (https://hl7.org/fhir/R4/conceptmap-operation-translate.html):
// url, system, code, targetsystem and reverse. For the instance-level form
// the caller sets URL from the ConceptMap it read.
type TranslateRequest struct {
	URL          string
	System       string
	Code         string
	TargetSystem string
	Reverse      bool
}

// Lookup answers a $translate request. Forward, it consults the map named by
// URL (or every map) for groups whose source is System; with Reverse it
// returns every source code that maps to Code in System, whatever the
// equivalence, as the operation defines ("all the codes that might be mapped
// to this code").
func (t *Terminology) Lookup(req TranslateRequest) ([]Match, error) {
	if req.Code == "" {
		return nil, outcome.Invalid("$translate needs a code").At("code")
	}
	if req.System == "" && req.URL == "" {
		return nil, outcome.Invalid("$translate needs a system or a ConceptMap url").At("system")
	}
	if req.URL != "" {
		if _, ok := t.ConceptMap(req.URL); !ok {
			return nil, outcome.NotFound("no ConceptMap with url %q", req.URL).At("url")
		}
	}
	var out []Match
	for _, cm := range t.maps {
		if req.URL != "" && cm.URL != req.URL {
			continue
		}
		for _, g := range cm.Group {
			if !req.Reverse {
				if (req.System == "" || g.Source == req.System) && (req.TargetSystem == "" || g.Target == req.TargetSystem) {
					out = append(out, forward(cm, g, req.Code, nil)...)
				}
				continue
			}
			if (req.System == "" || g.Target == req.System) && (req.TargetSystem == "" || g.Source == req.TargetSystem) {
				for _, e := range g.Element {
					for _, tg := range e.Target {
						if tg.Code == req.Code {
							out = append(out, Match{
								Equivalence: tg.Equivalence,
								Concept:     Coding{System: g.Source, Code: e.Code, Display: e.Display},
								Product:     tg.Product,
								Source:      cm.URL,
								Comment:     tg.Comment,
							})
						}
					}
				}
			}
		}
	}
	return out, nil
}

// Parameters renders matches as the $translate output Parameters resource.
// result is true when at least one match names a concept; an "unmatched"
// match is still returned, so the client learns the map's explicit answer.
func Parameters(matches []Match) []byte {
	type param struct {
		Name         string  `json:"name"`
		ValueBoolean *bool   `json:"valueBoolean,omitempty"`
		ValueString  string  `json:"valueString,omitempty"`
		ValueCode    string  `json:"valueCode,omitempty"`
		ValueCoding  *Coding `json:"valueCoding,omitempty"`
		ValueURI     string  `json:"valueUri,omitempty"`
		Part         []param `json:"part,omitempty"`
	}
	result := false
	var params []param
	for _, m := range matches {
		if m.Mapped() {
			result = true
		}
		parts := []param{{Name: "equivalence", ValueCode: m.Equivalence}}
		if m.Mapped() {
			c := m.Concept
			parts = append(parts, param{Name: "concept", ValueCoding: &c})
		}
		for _, p := range m.Product {
			parts = append(parts, param{Name: "product", Part: []param{
				{Name: "element", ValueURI: p.Property},
				{Name: "concept", ValueCoding: &Coding{Code: p.Value}},
			}})
		}
		parts = append(parts, param{Name: "source", ValueURI: m.Source})
		params = append(params, param{Name: "match", Part: parts})
	}
	head := []param{{Name: "result", ValueBoolean: &result}}
	if !result {
		msg := "no crosswalk maps this code"
		if len(matches) > 0 {
			msg = "the crosswalk states that this code has no equivalent"
		}
		head = append(head, param{Name: "message", ValueString: msg})
	}
	b, _ := fhirjson.Marshal(struct {
		ResourceType string  `json:"resourceType"`
		Parameter    []param `json:"parameter"`
	}{"Parameters", append(head, params...)})
	return b
}
