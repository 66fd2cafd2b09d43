package mapping

// Kind is what Mekong knows about one kind of result, keyed by its standard
// code: the category, the value type and the profile the Observation must
// meet. Every decoder and encoder goes through this one table, so an IOM
// sputum smear, a LABFU culture and a DHIS2 data element that carry the same
// LOINC code come out as the same Observation shape.
type Kind struct {
	Code     Coding
	Category string // observation-category code
	// Unit is set for quantitative results (UCUM code and human unit).
	Unit, UCUM string
	Profile    string
	// Sensitive results carry restricted + HIV security labels (domain.md §7.4).
	Sensitive bool
}

// Quantitative reports whether the result is a number.
func (k Kind) Quantitative() bool { return k.UCUM != "" }

// kinds lists the results the three sources record (domain.md §2.2, §7.1).
var kinds = []Kind{
	{Code: Coding{LOINC, "30745-4", "XR Chest Views"}, Category: "imaging", Profile: ProfileTBScreening},
	{Code: Coding{LOINC, "11545-1", "Mycobacterium sp identified in Specimen by Acid fast stain"}, Category: "laboratory", Profile: ProfileTBScreening},
	{Code: Coding{LOINC, "539-7", "Mycobacterium sp identified in Sputum by Organism specific culture"}, Category: "laboratory", Profile: ProfileTBScreening},
	{Code: Coding{LOINC, "85362-2", "Mycobacterium tuberculosis complex DNA [Presence] in Sputum by NAA with probe detection"}, Category: "laboratory", Profile: ProfileTBScreening},
	{Code: Coding{LOINC, "89372-7", "Mycobacterium tuberculosis complex rpoB gene rifAMPin resistance mutation [Presence] by Molecular method"}, Category: "laboratory", Profile: ProfileTBScreening},
	{Code: Coding{LOINC, "45323-3", "Mycobacterium tuberculosis tuberculin stimulated gamma interferon [Presence] in Blood"}, Category: "laboratory", Profile: ProfileTBScreening},
	{Code: Coding{IOMTest, "tb-class", "TB classification (panel physician)"}, Category: "exam"},
	{Code: Coding{LOINC, "56888-1", "HIV 1+2 Ab+HIV1 p24 Ag [Presence] in Serum or Plasma by Immunoassay"}, Category: "laboratory", Profile: ProfileHIV, Sensitive: true},
	{Code: Coding{LOINC, "49905-3", "HIV 1+2 Ab [Presence] in Serum or Plasma by Rapid immunoassay"}, Category: "laboratory", Profile: ProfileHIV, Sensitive: true},
	{Code: Coding{LOINC, "55277-8", "HIV status"}, Category: "laboratory", Profile: ProfileHIV, Sensitive: true},
	{Code: Coding{LOINC, "20447-9", "HIV 1 RNA [#/volume] (viral load) in Serum or Plasma by NAA with probe detection"}, Category: "laboratory", Unit: "copies/mL", UCUM: "{copies}/mL", Profile: ProfileHIV, Sensitive: true},
	{Code: Coding{LOINC, "94500-6", "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA with probe detection"}, Category: "laboratory", Profile: ProfileSARSCoV2},
	{Code: Coding{LOINC, "94558-4", "SARS-CoV-2 (COVID-19) Ag [Presence] in Respiratory specimen by Rapid immunoassay"}, Category: "laboratory", Profile: ProfileSARSCoV2},
	{Code: Coding{LOINC, "97097-0", "SARS-CoV-2 (COVID-19) Ag [Presence] in Upper respiratory specimen by Rapid immunoassay"}, Category: "laboratory", Profile: ProfileSARSCoV2},
}

// KindOf returns the kind of a standard code.
func KindOf(system, code string) (Kind, bool) {
	for _, k := range kinds {
		if k.Code.System == system && k.Code.Code == code {
			return k, true
		}
	}
	return Kind{}, false
}

// KindIn returns the kind of the first coding of cc that has one.
func KindIn(cc CodeableConcept) (Kind, bool) {
	for _, c := range cc.Coding {
		if k, ok := KindOf(NormalizeSystem(c.System), c.Code); ok {
			return k, true
		}
	}
	return Kind{}, false
}

// ObservationInput is what a decoder knows about one result.
type ObservationInput struct {
	ID Identifier
	// Code holds the standard coding(s) first, then the source's own coding.
	Code []Coding
	// Effective is a FHIR date or dateTime.
	Effective string
	// Status defaults to "final".
	Status string
	// Category overrides the kind's category (or "laboratory" for codes without a kind).
	Category    string
	Extension   []Extension
	Encounter   *Reference
	Performer   []Reference
	Value       *CodeableConcept
	Quantity    *Quantity
	LastUpdated string
}

// NewObservation builds the Observation, taking category, profile and
// security labels from the kind of its code.
func NewObservation(in ObservationInput) *Observation {
	o := &Observation{
		ResourceType:         "Observation",
		Extension:            in.Extension,
		Identifier:           []Identifier{in.ID},
		Encounter:            in.Encounter,
		Status:               in.Status,
		Code:                 CodeableConcept{Coding: in.Code},
		EffectiveDateTime:    in.Effective,
		Performer:            in.Performer,
		ValueCodeableConcept: in.Value,
		ValueQuantity:        in.Quantity,
	}
	if o.Status == "" {
		o.Status = "final"
	}
	meta := &Meta{LastUpdated: in.LastUpdated}
	category := "laboratory"
	if k, ok := KindIn(o.Code); ok {
		category = k.Category
		if k.Profile != "" {
			meta.Profile = []string{k.Profile}
		}
		if k.Sensitive {
			meta.Security = []Coding{
				{Confidentiality, "R", "restricted"},
				{ActCode, "HIV", "HIV/AIDS information sensitivity"},
			}
		}
	}
	if in.Category != "" {
		category = in.Category
	}
	o.Category = []CodeableConcept{{Coding: []Coding{{ObservationCategory, category, ""}}}}
	if meta.LastUpdated != "" || meta.Profile != nil || meta.Security != nil {
		o.Meta = meta
	}
	return o
}

// ClaimImmunizationProfile declares the Mekong Immunization profile when the
// resource meets it: the profile requires a CVX coding, which an untranslated
// source code does not have.
func ClaimImmunizationProfile(im *Immunization) {
	if CodeIn(&im.VaccineCode, CVX) == "" {
		return
	}
	if im.Meta == nil {
		im.Meta = &Meta{}
	}
	im.Meta.Profile = []string{ProfileImmunization}
}
