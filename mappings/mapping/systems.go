package mapping

import "strings"

// Base is the canonical base of everything Mekong itself defines: profiles,
// code systems for values that have no standard code, and identifier systems
// for keys that have no official namespace. It is the project's GitHub Pages
// address, where an implementation guide would be published.
const Base = "https://mekong-fhir.github.io/fhir"

// Standard code and identifier systems (../shared/domain.md §1, §4, §7).
const (
	LOINC   = "http://loinc.org"
	SNOMED  = "http://snomed.info/sct"
	CVX     = "http://hl7.org/fhir/sid/cvx"
	ICD11   = "http://id.who.int/icd11/mms"
	UCUM    = "http://unitsofmeasure.org"
	ISO3166 = "urn:iso:std:iso:3166"

	// PassportPrefix + ISO 3166 alpha-3 is the HL7 THO passport NamingSystem (§7.3).
	PassportPrefix = "http://hl7.org/fhir/sid/passport-"
	// ThaiCID is the Thai citizen identification number (TH Core, §4.3).
	ThaiCID = "https://terms.sil-th.org/id/th-cid"
	// ThaiPassport is TH Core's generic passport system, used when the issuing country is unknown.
	ThaiPassport = "https://terms.sil-th.org/id/passport"
	// HCode identifies a Thai health facility (HOSPCODE).
	HCode = "https://terms.sil-th.org/id/th-moph-hcode"

	// SIL-TH code systems, in the terminology IG's "core" form (§4.2); the
	// other published form is accepted on input (caution 3 in domain.md).
	THCCVaccine     = "https://terms.sil-th.org/core/CodeSystem/cs-thcc-vaccine-code"
	THCCNationality = "https://terms.sil-th.org/core/CodeSystem/cs-thcc-nationality"
	THCCSpecialPP   = "https://terms.sil-th.org/core/CodeSystem/cs-thcc-special-pp-service"
	ICD10TMLab      = "https://terms.sil-th.org/core/CodeSystem/cs-th-icd10tm-lab"
	THCC2DigitLab   = "https://terms.sil-th.org/core/CodeSystem/cs-thcc-2digit-lab"

	IdentifierType      = "http://terminology.hl7.org/CodeSystem/v2-0203"
	ObservationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
	Confidentiality     = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	ActCode             = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

	ExtLanguage    = "http://hl7.org/fhir/StructureDefinition/language"
	ExtNationality = "http://hl7.org/fhir/StructureDefinition/patient-nationality"
)

// Mekong-defined systems. Source identifiers that have no official namespace
// live under Base/sid; IOM and DHIS2 systems can be overridden by configuration.
const (
	IOMCaseNumber    = Base + "/sid/iom-case-number"
	IOMObservationID = Base + "/sid/iom-observation"
	IOMImmunization  = Base + "/sid/iom-immunization"
	KHMNationalID    = Base + "/sid/khm-national-id"
	TH43EPI          = Base + "/sid/th43-epi"
	TH43LABFU        = Base + "/sid/th43-labfu"
	TH43SPECIALPP    = Base + "/sid/th43-specialpp"
	TH43Provider     = Base + "/sid/th43-provider"

	// IOMTest codes the IOM column a result came from (cxr, smear1, ...).
	IOMTest = Base + "/CodeSystem/iom-test"
	// IOMResult codes the values of the IOM result columns.
	IOMResult = Base + "/CodeSystem/iom-result"
	// IOMTBClass codes the US panel-physician TB classification (No TB, A, B1-B3).
	IOMTBClass = Base + "/CodeSystem/iom-tb-class"
	// TH43LabResult codes the qualitative LABFU results (Mekong's convention: 0, 1, 2).
	TH43LabResult = Base + "/CodeSystem/th43-labresult"

	ExtTypeArea = Base + "/StructureDefinition/th43-typearea"
)

// Profiles the mapped resources declare in meta.profile (conformance/profiles).
const (
	ProfilePatient      = Base + "/StructureDefinition/mekong-migrant-patient"
	ProfileTBScreening  = Base + "/StructureDefinition/mekong-tb-screening-observation"
	ProfileHIV          = Base + "/StructureDefinition/mekong-hiv-observation"
	ProfileSARSCoV2     = Base + "/StructureDefinition/mekong-sars-cov-2-observation"
	ProfileImmunization = Base + "/StructureDefinition/mekong-immunization"
)

// ThaiLocal is TH Core's pattern for a facility-local identifier (HN, PID, ...).
func ThaiLocal(hcode, kind string) string {
	return "https://terms.sil-th.org/hcode/5/" + hcode + "/" + kind
}

// Passport returns the passport system of an ISO 3166 alpha-3 country.
func Passport(iso3 string) string { return PassportPrefix + iso3 }

// PassportCountry returns the ISO3 country of a passport system, or "".
func PassportCountry(system string) string {
	system = NormalizeSystem(system)
	if c, ok := strings.CutPrefix(system, PassportPrefix); ok && len(c) == 3 {
		return c
	}
	return ""
}

// NormalizeSystem folds the spellings of the same system that circulate in
// Thai and HL7 material into the one Mekong writes: the TH Core "https"
// passport alias and the SIL-TH canonicals without "/core" (domain.md cautions 2, 3).
func NormalizeSystem(s string) string {
	if rest, ok := strings.CutPrefix(s, "https://hl7.org/fhir/sid/passport-"); ok {
		return PassportPrefix + rest
	}
	if rest, ok := strings.CutPrefix(s, "https://terms.sil-th.org/CodeSystem/"); ok {
		return "https://terms.sil-th.org/core/CodeSystem/" + rest
	}
	return s
}

// CodeIn returns the code of the first coding whose (normalised) system is system.
func CodeIn(cc *CodeableConcept, system string) string {
	if cc == nil {
		return ""
	}
	for _, c := range cc.Coding {
		if NormalizeSystem(c.System) == system {
			return c.Code
		}
	}
	return ""
}
