package rest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/healthcard"
	"github.com/mekong-fhir/mekong/internal/store"
)

// cardRequest is what $health-cards-issue was asked
// (OperationDefinition patient-i-health-cards-issue and its notes).
type cardRequest struct {
	// immunization and laboratory are the resource types asked for; several
	// credentialType values are AND-ed: one card holding all of them.
	immunization, laboratory bool
	// kinds is set when no resource type was named (only #covid19 or
	// #health-card): one card per kind that has data.
	kinds bool
	// covid limits the content to COVID-19 vaccines (legacy #covid19).
	covid bool
	// legacy extra vc.type values, written when the client used them.
	legacy    []string
	valueSets []func(string) bool
	claims    []string
	since     time.Time
	// none is set when a type was asked that Mekong has no cards for: the
	// answer is a Parameters without cards.
	none bool
}

// parseCardRequest reads the operation's parameters from a Parameters body
// or from the query string (GET $health-card-qr). Unknown value sets and
// identity claims are 400s naming the parameter: ignoring them would give
// a card holding more than was asked.
func parseCardRequest(body []byte, query url.Values) (*cardRequest, error) {
	vals := url.Values{}
	if len(body) > 0 {
		var p struct {
			ResourceType string `json:"resourceType"`
			Parameter    []struct {
				Name          string  `json:"name"`
				ValueURI      *string `json:"valueUri"`
				ValueString   *string `json:"valueString"`
				ValueDateTime *string `json:"valueDateTime"`
				ValueCode     *string `json:"valueCode"`
			} `json:"parameter"`
		}
		if err := json.Unmarshal(body, &p); err != nil || p.ResourceType != "Parameters" {
			return nil, outcome.Invalid("the body must be a Parameters resource").At("Parameters")
		}
		for i, x := range p.Parameter {
			var v *string
			for _, c := range []*string{x.ValueURI, x.ValueString, x.ValueDateTime, x.ValueCode} {
				if c != nil {
					v = c
				}
			}
			if v == nil {
				at := []string{fmt.Sprintf("Parameters.parameter[%d]", i)}
				if x.Name != "" {
					at = append([]string{x.Name}, at...)
				}
				return nil, outcome.Invalid("parameter %q has no value of a type $health-cards-issue reads (valueUri, valueString, valueDateTime or valueCode)", x.Name).At(at...)
			}
			vals.Add(x.Name, *v)
		}
	}
	for k, vs := range query {
		if !strings.HasPrefix(k, "_") || k == "_since" {
			vals[k] = append(vals[k], vs...)
		}
	}
	req := &cardRequest{}
	for name := range vals {
		switch name {
		case "credentialType", "credentialValueSet", "includeIdentityClaim", "_since":
		default:
			return nil, outcome.Invalid("unknown parameter %q; $health-cards-issue takes credentialType, credentialValueSet, includeIdentityClaim and _since", name).At(name)
		}
	}
	types := vals["credentialType"]
	if len(types) == 0 {
		return nil, outcome.Invalid("credentialType is required (1..*), e.g. Immunization or https://smarthealth.cards#immunization").At("credentialType")
	}
	named := false
	for _, t := range types {
		switch t {
		case "Immunization":
			req.immunization, named = true, true
		case healthcard.TypeImmunization:
			req.immunization, named = true, true
			req.legacy = append(req.legacy, t)
		case "Observation":
			req.laboratory, named = true, true
		case healthcard.TypeLaboratory:
			req.laboratory, named = true, true
			req.legacy = append(req.legacy, t)
		case healthcard.TypeCOVID19:
			req.covid = true
			req.legacy = append(req.legacy, t)
		case healthcard.TypeHealthCard:
		default:
			if t == "" || strings.ContainsAny(t, " \t\n") {
				return nil, outcome.Invalid("credentialType %q is not a uri", t).At("credentialType")
			}
			req.none = true // a type Mekong issues no cards for (DiagnosticReport, ...)
		}
	}
	req.kinds = !named
	for _, vs := range vals["credentialValueSet"] {
		f, ok := healthcard.ValueSets[vs]
		if !ok {
			known := make([]string, 0, len(healthcard.ValueSets))
			for k := range healthcard.ValueSets {
				known = append(known, k)
			}
			slices.Sort(known)
			return nil, outcome.Invalid("credentialValueSet %q is not known here; known: %s", vs, strings.Join(known, ", ")).At("credentialValueSet")
		}
		req.valueSets = append(req.valueSets, f)
	}
	for _, c := range vals["includeIdentityClaim"] {
		el, ok := strings.CutPrefix(c, "Patient.")
		if !ok || !slices.Contains(healthcard.IdentityClaims, el) {
			return nil, outcome.Invalid("includeIdentityClaim %q: a card can carry Patient.%s", c, strings.Join(healthcard.IdentityClaims, ", Patient.")).At("includeIdentityClaim")
		}
		req.claims = append(req.claims, el)
	}
	if s := vals["_since"]; len(s) > 0 {
		if len(s) > 1 {
			return nil, outcome.Invalid("_since is given %d times; it takes one dateTime", len(s)).At("_since")
		}
		t, ok := dateStart(s[0])
		if !ok {
			return nil, outcome.Invalid("_since %q is not a FHIR dateTime (YYYY, YYYY-MM, YYYY-MM-DD or a full dateTime with a timezone)", s[0]).At("_since")
		}
		req.since = t
	}
	return req, nil
}

// dateStart is the first instant of a FHIR date or dateTime (a date without
// a timezone is taken in UTC+7, Mekong's default zone).
func dateStart(v string) (time.Time, bool) {
	loc := time.FixedZone("+07:00", 7*3600)
	for _, layout := range []string{"2006", "2006-01", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, true
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func (c *cardRequest) resourceTypes() []string {
	if c.none {
		return nil
	}
	var out []string
	if c.immunization || c.kinds {
		out = append(out, "Immunization")
	}
	if c.laboratory || c.kinds {
		out = append(out, "Observation")
	}
	return out
}

// restrictedInCards are labels whose data never goes in a card, whatever
// the token may see: a card is handed to the person to show anyone.
var restrictedInCards = []string{LabelHIV, LabelTB, LabelRestricted, LabelVeryRestr}

// keep reports whether a stored resource may go in a card of this request.
func (c *cardRequest) keep(v store.Version, patients []string) bool {
	var r struct {
		Status      string           `json:"status"`
		VaccineCode *json.RawMessage `json:"vaccineCode"`
		Code        *json.RawMessage `json:"code"`
	}
	if json.Unmarshal(v.Content, &r) != nil {
		return false
	}
	for _, l := range audit.FactsOf(v.Type, v.Content).Labels {
		if slices.Contains(restrictedInCards, l.System+"|"+l.Code) {
			return false
		}
	}
	// The resource must be about one of the card's patients (an
	// Observation whose performer is the patient is in the compartment too).
	facts := audit.FactsOf(v.Type, v.Content)
	if !slices.ContainsFunc(facts.Patients, func(p string) bool { return slices.Contains(patients, p) }) {
		return false
	}
	var codes []string
	switch v.Type {
	case "Immunization":
		if r.Status != "completed" || r.VaccineCode == nil {
			return false
		}
		codes = conceptCodes(*r.VaccineCode)
		if c.covid && !slices.ContainsFunc(codes, healthcard.IsCOVIDVaccine) {
			return false
		}
	case "Observation":
		if (r.Status != "final" && r.Status != "amended" && r.Status != "corrected") || r.Code == nil {
			return false
		}
		codes = conceptCodes(*r.Code)
		if !slices.ContainsFunc(codes, healthcard.IsSARSCoV2Test) {
			return false // laboratory cards hold SARS-CoV-2 results only
		}
	default:
		return false
	}
	for _, vs := range c.valueSets {
		if !slices.ContainsFunc(codes, vs) {
			return false
		}
	}
	if !c.since.IsZero() {
		t, ok := dateStart(clinicalDate(v))
		if !ok || t.Before(c.since) {
			return false
		}
	}
	return true
}

func conceptCodes(raw json.RawMessage) []string {
	var cc struct {
		Coding []struct {
			System string `json:"system"`
			Code   string `json:"code"`
		} `json:"coding"`
	}
	_ = json.Unmarshal(raw, &cc)
	out := make([]string, 0, len(cc.Coding))
	for _, c := range cc.Coding {
		out = append(out, c.System+"|"+c.Code)
	}
	return out
}

// clinicalDate is when a vaccine was given or a sample tested.
func clinicalDate(v store.Version) string {
	var r struct {
		Occurrence string `json:"occurrenceDateTime"`
		Effective  string `json:"effectiveDateTime"`
		Period     struct {
			Start string `json:"start"`
		} `json:"effectivePeriod"`
	}
	_ = json.Unmarshal(v.Content, &r)
	switch {
	case r.Occurrence != "":
		return r.Occurrence
	case r.Effective != "":
		return r.Effective
	}
	return r.Period.Start
}

// cardGroup is the content of one card.
type cardGroup struct {
	resources []store.Version
	types     []string
	what      string
}

// cards splits the kept resources into cards: one holding every asked type
// (AND), none when a type has no data; or, when no type was named, one per
// kind with data (immunizations and results are kept apart, as the
// specification's "Granular Sharing" advises).
func (c *cardRequest) cards(rs []store.Version) []cardGroup {
	var imm, lab []store.Version
	for _, v := range rs {
		if v.Type == "Immunization" {
			imm = append(imm, v)
		} else {
			lab = append(lab, v)
		}
	}
	legacy := func(extra ...string) []string {
		if len(c.legacy) == 0 {
			return nil
		}
		out := slices.Clone(extra)
		if c.covid {
			out = append(out, healthcard.TypeCOVID19)
		}
		return out
	}
	switch {
	case c.none:
		return nil
	case c.kinds:
		var out []cardGroup
		if len(imm) > 0 {
			out = append(out, cardGroup{imm, legacy(healthcard.TypeImmunization), "vaccinations"})
		}
		if len(lab) > 0 {
			out = append(out, cardGroup{lab, legacy(healthcard.TypeLaboratory), "test results"})
		}
		return out
	case (c.immunization && len(imm) == 0) || (c.laboratory && len(lab) == 0):
		return nil
	case c.immunization && c.laboratory:
		return []cardGroup{{rs, legacy(healthcard.TypeImmunization, healthcard.TypeLaboratory), "vaccinations and test results"}}
	case c.immunization:
		return []cardGroup{{imm, legacy(healthcard.TypeImmunization), "vaccinations"}}
	}
	return []cardGroup{{lab, legacy(healthcard.TypeLaboratory), "test results"}}
}
