package search

import (
	"slices"
	"sort"
)

// Compartment is an R4 CompartmentDefinition
// (https://hl7.org/fhir/R4/compartmentdefinition.html): for each resource
// type in the compartment, the search parameters whose reference to the
// focal resource puts a resource in it. A type that is absent cannot be in
// the compartment. It is data so that every feature that needs "this
// patient's records" ($everything, bulk Patient/$export, access control)
// draws the same line.
type Compartment struct {
	// Code is the focal resource type.
	Code string
	// URL is the canonical URL of the definition.
	URL string
	// Params maps each member type to its parameters, in the definition's order.
	Params map[string][]string
}

// PatientCompartment is the R4 Patient compartment
// (https://hl7.org/fhir/R4/compartmentdefinition-patient.html), transcribed
// from CompartmentDefinition-patient.json of hl7.fhir.r4.examples@4.0.1;
// TestPatientCompartmentIsR4 checks it against that file. The focal Patient
// itself is in its compartment too; Patient's "link" adds the patients whose
// links point at it.
var PatientCompartment = Compartment{
	Code: "Patient",
	URL:  "http://hl7.org/fhir/CompartmentDefinition/patient",
	Params: map[string][]string{
		"Account":                     {"subject"},
		"AdverseEvent":                {"subject"},
		"AllergyIntolerance":          {"patient", "recorder", "asserter"},
		"Appointment":                 {"actor"},
		"AppointmentResponse":         {"actor"},
		"AuditEvent":                  {"patient"},
		"Basic":                       {"patient", "author"},
		"BodyStructure":               {"patient"},
		"CarePlan":                    {"patient", "performer"},
		"CareTeam":                    {"patient", "participant"},
		"ChargeItem":                  {"subject"},
		"Claim":                       {"patient", "payee"},
		"ClaimResponse":               {"patient"},
		"ClinicalImpression":          {"subject"},
		"Communication":               {"subject", "sender", "recipient"},
		"CommunicationRequest":        {"subject", "sender", "recipient", "requester"},
		"Composition":                 {"subject", "author", "attester"},
		"Condition":                   {"patient", "asserter"},
		"Consent":                     {"patient"},
		"Coverage":                    {"policy-holder", "subscriber", "beneficiary", "payor"},
		"CoverageEligibilityRequest":  {"patient"},
		"CoverageEligibilityResponse": {"patient"},
		"DetectedIssue":               {"patient"},
		"DeviceRequest":               {"subject", "performer"},
		"DeviceUseStatement":          {"subject"},
		"DiagnosticReport":            {"subject"},
		"DocumentManifest":            {"subject", "author", "recipient"},
		"DocumentReference":           {"subject", "author"},
		"Encounter":                   {"patient"},
		"EnrollmentRequest":           {"subject"},
		"EpisodeOfCare":               {"patient"},
		"ExplanationOfBenefit":        {"patient", "payee"},
		"FamilyMemberHistory":         {"patient"},
		"Flag":                        {"patient"},
		"Goal":                        {"patient"},
		"Group":                       {"member"},
		"ImagingStudy":                {"patient"},
		"Immunization":                {"patient"},
		"ImmunizationEvaluation":      {"patient"},
		"ImmunizationRecommendation":  {"patient"},
		"Invoice":                     {"subject", "patient", "recipient"},
		"List":                        {"subject", "source"},
		"MeasureReport":               {"patient"},
		"Media":                       {"subject"},
		"MedicationAdministration":    {"patient", "performer", "subject"},
		"MedicationDispense":          {"subject", "patient", "receiver"},
		"MedicationRequest":           {"subject"},
		"MedicationStatement":         {"subject"},
		"MolecularSequence":           {"patient"},
		"NutritionOrder":              {"patient"},
		"Observation":                 {"subject", "performer"},
		"Patient":                     {"link"},
		"Person":                      {"patient"},
		"Procedure":                   {"patient", "performer"},
		"Provenance":                  {"patient"},
		"QuestionnaireResponse":       {"subject", "author"},
		"RelatedPerson":               {"patient"},
		"RequestGroup":                {"subject", "participant"},
		"ResearchSubject":             {"individual"},
		"RiskAssessment":              {"subject"},
		"Schedule":                    {"actor"},
		"ServiceRequest":              {"subject", "performer"},
		"Specimen":                    {"subject"},
		"SupplyDelivery":              {"patient"},
		"SupplyRequest":               {"subject"},
		"VisionPrescription":          {"patient"},
	},
}

// CompartmentMember is one served type of a compartment and the reference
// parameters, served by a registry, that place its resources in it.
type CompartmentMember struct {
	Type   string
	Params []string
}

// Members lists the served types of the compartment among types (all served
// types when types is empty): the focal type first, because a client
// reading a patient's record wants the patient before the rest, then the
// others alphabetically. Parameters the registry does not serve are left
// out, since they have no index rows to find resources by.
func (r *Registry) Members(c Compartment, types []string) []CompartmentMember {
	want := map[string]bool{}
	for _, t := range types {
		want[t] = true
	}
	var out []CompartmentMember
	for _, t := range r.types {
		if len(want) > 0 && !want[t] {
			continue
		}
		params, ok := c.Params[t]
		if !ok && t != c.Code {
			continue
		}
		m := CompartmentMember{Type: t}
		for _, code := range params {
			p, ok := r.Lookup(t, code)
			if !ok || p.Type != TypeReference {
				continue
			}
			if d := p.Derived; d != nil && d.Target == c.Code {
				// Its rows are From's, pointing at the compartment's type,
				// which is what the compartment matches anyway.
				code = d.From
			}
			if !slices.Contains(m.Params, code) {
				m.Params = append(m.Params, code)
			}
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Type == c.Code && out[j].Type != c.Code })
	return out
}
