package rest

import (
	"encoding/json"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/internal/auth"
)

// Security label systems (https://hl7.org/fhir/R4/security-labels.html).
const (
	ActCode         = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	Confidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	// MekongSensitivity holds sensitivity codes the HL7 code systems lack:
	// TB (tuberculosis results; v3-ActCode has no code for them).
	MekongSensitivity = "https://mekong-fhir.github.io/CodeSystem/sensitivity"
)

// Labels as "system|code", the same strings the label permission scopes
// (auth.LabelScopes) grant.
var (
	LabelHIV        = auth.LabelScopes["HIV"]
	LabelRestricted = auth.LabelScopes["R"]
	LabelVeryRestr  = auth.LabelScopes["V"]
	LabelTB         = auth.LabelScopes["TB"]
)

// DefaultRestricted are the labels whose resources only tokens with an
// explicit permission see.
var DefaultRestricted = []string{LabelHIV, LabelRestricted, LabelVeryRestr}

// LabelRule labels the Observations whose code (or coded value) is one of
// Codes ("system|code") with Labels, when the source did not.
type LabelRule struct {
	Name   string
	Codes  []string
	Labels []string
}

// HIVRule labels HIV tests, HIV status and viral loads HIV + R (codes from
// the WHO HIV DAK and the public LOINC tables, see /work/shared/domain.md).
var HIVRule = LabelRule{
	Name: "hiv",
	Codes: []string{
		"http://loinc.org|56888-1", "http://loinc.org|75622-1", "http://loinc.org|49905-3", "http://loinc.org|55277-8",
		"http://loinc.org|20447-9", "http://loinc.org|23876-6", "http://loinc.org|45683-0",
		"http://snomed.info/sct|409788009", "http://snomed.info/sct|1268649009", // rapid HIV test, viral load test
		"http://snomed.info/sct|713742005", "http://snomed.info/sct|165816005", "http://snomed.info/sct|165815009", // HIV detected, positive, not detected
	},
	Labels: []string{LabelHIV, LabelRestricted},
}

// TBRule labels TB results R (plus Mekong's TB code, for _security
// searches). It is on by default and can be turned off in the auth config.
var TBRule = LabelRule{
	Name: "tb",
	Codes: []string{
		"http://loinc.org|45241-7", "http://loinc.org|11545-1", "http://loinc.org|11477-7", "http://loinc.org|539-7",
		"http://loinc.org|543-9", "http://loinc.org|85362-2", "http://loinc.org|38379-4", "http://loinc.org|88874-3",
		"http://loinc.org|89372-7", "http://loinc.org|46244-0", "http://loinc.org|45323-3", "http://loinc.org|71773-6",
		"http://loinc.org|71774-4", "http://loinc.org|45680-6",
		"http://snomed.info/sct|171126009", "http://snomed.info/sct|104173009", "http://snomed.info/sct|104184002", // TB screening, sputum, culture
		"http://snomed.info/sct|707307002", "http://snomed.info/sct|707308007", "http://snomed.info/sct|56717001", // TB CXR abnormal/normal, tuberculosis
		// Chest X-rays are TB screening here (the mappings give them the TB
		// screening profile); labelled by value only, an IOM "abnormal, not
		// TB" (no SNOMED CT equivalent) reached clinic staff. IOM's
		// panel-physician TB classification (no-tb, A, B1-B3) has no
		// standard code either.
		"http://loinc.org|30745-4", "https://mekong-fhir.github.io/fhir/CodeSystem/iom-test|tb-class",
	},
	Labels: []string{LabelRestricted, LabelTB},
}

// label adds the security labels the rules call for to an Observation
// before it is encoded and indexed. Every write path (create, update,
// conditional update, batch and transaction entries) goes through prepare,
// which calls it, so a labelled resource is indexed under its labels. A
// label of a system the source already used is not added twice, and a
// source's own confidentiality code is kept (v3-Confidentiality takes one
// value).
func label(res *resource.Resource, rules []LabelRule) {
	if res.Type != "Observation" || len(rules) == 0 {
		return
	}
	codes := observationCodes(res)
	have := map[string]bool{}
	conf := false
	for _, c := range res.Security() {
		have[c.System+"|"+c.Code] = true
		conf = conf || c.System == Confidentiality
	}
	var add []resource.Coding
	for _, r := range rules {
		if !matchesAny(codes, r.Codes) {
			continue
		}
		for _, l := range r.Labels {
			sys, code := splitLabel(l)
			if have[l] || (sys == Confidentiality && conf) {
				continue
			}
			have[l] = true
			conf = conf || sys == Confidentiality
			add = append(add, resource.Coding{System: sys, Code: code})
		}
	}
	res.AddSecurity(add...)
}

func observationCodes(res *resource.Resource) map[string]bool {
	var cc struct {
		Coding []resource.Coding `json:"coding"`
	}
	out := map[string]bool{}
	for _, m := range []string{"code", "valueCodeableConcept"} {
		cc.Coding = nil
		if err := json.Unmarshal(res.Member(m), &cc); err != nil {
			continue
		}
		for _, c := range cc.Coding {
			out[c.System+"|"+c.Code] = true
		}
	}
	return out
}

func matchesAny(have map[string]bool, codes []string) bool {
	for _, c := range codes {
		if have[c] {
			return true
		}
	}
	return false
}

func splitLabel(l string) (system, code string) {
	for i := len(l) - 1; i >= 0; i-- {
		if l[i] == '|' {
			return l[:i], l[i+1:]
		}
	}
	return "", l
}
