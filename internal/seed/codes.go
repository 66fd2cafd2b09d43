package seed

// Every code the generator writes is declared in this file, with the section
// of ../shared/domain.md (or, where that has none, the public source) it comes
// from; the tests check that nothing else is emitted and that each code of a
// clinical system below appears in domain.md. A display is given only where
// the source prints the exact one; otherwise the CodeableConcept carries text.

import "github.com/mekong-fhir/mekong/mappings/mapping"

// Systems.
const (
	sysLOINC     = "http://loinc.org"
	sysSNOMED    = "http://snomed.info/sct"
	sysCVX       = "http://hl7.org/fhir/sid/cvx"                                   // §1.5, §7.2
	sysICD11     = "http://id.who.int/icd11/mms"                                   // §1.5
	sysTHCCVac   = "https://terms.sil-th.org/core/CodeSystem/cs-thcc-vaccine-code" // §4.2
	sysTHCCNat   = "https://terms.sil-th.org/core/CodeSystem/cs-thcc-nationality"  // §4.2
	sysObsCat    = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysV20203    = "http://terminology.hl7.org/CodeSystem/v2-0203"
	sysImmOrigin = "http://terminology.hl7.org/CodeSystem/immunization-origin"
	sysUCUM      = "http://unitsofmeasure.org"
	sysISO3166   = "urn:iso:std:iso:3166"
	sysBCP47     = "urn:ietf:bcp:47"

	// Identifier systems: passports per HL7 THO (§7.3), the Thai 13-digit
	// personal id (§4.3).
	sysPassportPrefix = "http://hl7.org/fhir/sid/passport-"
	sysThaiCID        = "https://terms.sil-th.org/id/th-cid"

	// DefaultIOMSystem is the Identifier.system of IOM case numbers when
	// Config.IOMSystem is empty: the IOM mapping's, so seeded patients and
	// ingested IOM exports match on case numbers. IOM publishes no
	// NamingSystem (§6); a deployment may replace it with its own.
	DefaultIOMSystem = mapping.IOMCaseNumber

	extNationality = "http://hl7.org/fhir/StructureDefinition/patient-nationality" // core; TH Core uses it (§4.3)
	extLanguage    = "http://hl7.org/fhir/StructureDefinition/language"            // TH Core tells name slices apart by it (§4.3)
)

// code is one coding, plus the text a CodeableConcept of it shows.
type code struct {
	System, Code, Display, Text string
}

// registry lists every declared code, for the tests.
var registry []code

func def(system, c, display, text string) code {
	x := code{System: system, Code: c, Display: display, Text: text}
	registry = append(registry, x)
	return x
}

// Observation categories (R4 core code system observation-category).
var (
	catLaboratory = def(sysObsCat, "laboratory", "Laboratory", "")
	catImaging    = def(sysObsCat, "imaging", "Imaging", "")
)

// SARS-CoV-2 tests: LOINC §7.1 (from the DDCC IG), results SNOMED §2.2.
var (
	loincCovPCRResp = def(sysLOINC, "94500-6", "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA with probe detection", "SARS-CoV-2 RT-PCR")
	loincCovPCRSpec = def(sysLOINC, "94309-2", "SARS-CoV-2 (COVID-19) RNA [Presence] in Specimen by NAA with probe detection", "SARS-CoV-2 RT-PCR")
	loincCovPCRNP   = def(sysLOINC, "94759-8", "", "SARS-CoV-2 RT-PCR, nasopharyngeal swab")
	loincCovAg      = def(sysLOINC, "94558-4", "SARS-CoV-2 (COVID-19) Ag [Presence] in Respiratory specimen by Rapid immunoassay", "SARS-CoV-2 rapid antigen test")
	loincCovAgURT   = def(sysLOINC, "97097-0", "", "SARS-CoV-2 rapid antigen test (ATK), nasal swab")

	snoDetected      = def(sysSNOMED, "260373001", "Detected", "Detected")
	snoNotDetected   = def(sysSNOMED, "260415000", "Not detected", "Not detected")
	snoIndeterminate = def(sysSNOMED, "82334004", "Indeterminate", "Indeterminate")
)

// TB screening and diagnosis: LOINC §7.1, values from the WHO TB DAK §2.2.
var (
	loincCXR       = def(sysLOINC, "24648-8", "XR Chest PA upright", "Chest X-ray")
	loincCXRViews  = def(sysLOINC, "30745-4", "XR Chest Views", "Chest X-ray")
	loincAFB       = def(sysLOINC, "11545-1", "Mycobacterium sp identified in Specimen by Acid fast stain", "Sputum smear microscopy (AFB)")
	loincAFBSputum = def(sysLOINC, "11477-7", "Microscopic observation [Identifier] in Sputum by Acid fast stain", "Sputum smear microscopy (AFB)")
	loincCulture   = def(sysLOINC, "539-7", "Mycobacterium sp identified in Sputum by Organism specific culture", "Mycobacterial culture, sputum")
	loincXpert     = def(sysLOINC, "85362-2", "", "Xpert MTB/RIF: M. tuberculosis complex DNA in sputum")
	loincXpertRIF  = def(sysLOINC, "89372-7", "", "Xpert MTB/RIF: rifampicin resistance (rpoB mutation)")
	loincIGRA      = def(sysLOINC, "45323-3", "", "Interferon-gamma release assay (QuantiFERON)")

	snoCXRNormal   = def(sysSNOMED, "707308007", "", "Chest X-ray normal")
	snoCXRAbnormal = def(sysSNOMED, "707307002", "", "Chest X-ray abnormal, suggestive of TB")
	snoTB          = def(sysSNOMED, "56717001", "Tuberculosis", "M. tuberculosis detected")
	snoNegative    = def(sysSNOMED, "260385009", "Negative", "Negative")
	snoPositive    = def(sysSNOMED, "10828004", "Positive", "Positive")
	snoInvalid     = def(sysSNOMED, "455371000124106", "", "Invalid result (error)")
	snoNTM         = def(sysSNOMED, "110379001", "", "Non-tuberculous mycobacteria")
	snoContam      = def(sysSNOMED, "123840003", "", "Contaminated")
)

// HIV: LOINC §7.1 and §2.1 (HIV DAK), values §2.1/§2.2. Keep these exactly
// as domain.md lists them: the sensitivity labelling on write (issue 5)
// recognises HIV results by these codes.
var (
	loincHIVScreen = def(sysLOINC, "56888-1", "HIV 1+2 Ab+HIV1 p24 Ag [Presence] in Serum or Plasma by Immunoassay", "HIV 1/2 Ag/Ab screening immunoassay")
	loincHIVRapid  = def(sysLOINC, "49905-3", "", "HIV rapid diagnostic test")
	loincHIVStatus = def(sysLOINC, "55277-8", "HIV status", "HIV status")
	loincHIVVL     = def(sysLOINC, "20447-9", "HIV 1 RNA [#/volume] (viral load) in Serum or Plasma by NAA with probe detection", "HIV-1 viral load")
	loincHIVVLDAK  = def(sysLOINC, "23876-6", "", "HIV-1 viral load")

	snoHIVAbDetected = def(sysSNOMED, "713742005", "", "HIV antibody detected")
	snoHIVNegative   = def(sysSNOMED, "165815009", "", "HIV not detected")
	snoHIVPositive   = def(sysSNOMED, "165816005", "", "HIV positive")

	ucumCopiesPerML = def(sysUCUM, "{copies}/mL", "copies/mL", "")
)

// COVID-19 vaccines: CVX and displays §7.2, ICD-11 §1.5, THCC letters §4.2.
// RA01 is the disease targeted (§1.5).
var icdCOVID19 = def(sysICD11, "RA01", "COVID-19", "COVID-19")

// Routine vaccines: THCC codes §4.2. domain.md gives no CVX for them; these
// come from the CDC CVX table (https://www2a.cdc.gov/vaccines/iis/iisstandards/vaccines.asp?rpt=cvx,
// also the R4 ValueSet vaccine-code): 139 Td(adult) unspecified formulation,
// 43 Hep B adult, 03 MMR, 19 BCG.
var (
	cvxTd   = def(sysCVX, "139", "Td(adult) unspecified formulation", "")
	cvxHepB = def(sysCVX, "43", "Hep B, adult", "")
	cvxMMR  = def(sysCVX, "03", "MMR", "")
	cvxBCG  = def(sysCVX, "19", "BCG", "")

	thccDT  = def(sysTHCCVac, "106", "", "")
	thccHBV = []code{def(sysTHCCVac, "041", "", ""), def(sysTHCCVac, "042", "", ""), def(sysTHCCVac, "043", "", "")}
	thccMMR = []code{def(sysTHCCVac, "061", "", ""), def(sysTHCCVac, "073", "", "")}
	thccBCG = def(sysTHCCVac, "010", "", "")
	origRec = def(sysImmOrigin, "record", "Written Record", "Transcribed from a vaccination card")
	typePPN = def(sysV20203, "PPN", "Passport number", "")
	typeNI  = def(sysV20203, "NI", "National unique individual identifier", "")
	langKhm = def(sysBCP47, "km", "Khmer", "")
	langTha = def(sysBCP47, "th", "Thai", "")
	langLao = def(sysBCP47, "lo", "Lao", "")
	langMya = def(sysBCP47, "my", "Burmese", "")
)

// Countries of nationality and address (ISO 3166-1 alpha-3, as DDCC and the
// passport systems use, §1.3, §7.3).
var (
	isoKHM = def(sysISO3166, "KHM", "", "")
	isoTHA = def(sysISO3166, "THA", "", "")
	isoLAO = def(sysISO3166, "LAO", "", "")
	isoMMR = def(sysISO3166, "MMR", "", "")
)

// Nationality in Thai registers (THCC "NATION", §4.2), which tell migrant
// workers (the labour codes) from other nationals. Every Lao and Myanmar
// patient generated works in Thailand, so only their labour codes are used.
var (
	natThai           = def(sysTHCCNat, "099", "", "")
	natCambodian      = def(sysTHCCNat, "057", "", "")
	natCambodianLabor = def(sysTHCCNat, "264", "", "")
	natLaoLabor       = def(sysTHCCNat, "266", "", "")
	natMyanmarLabor   = def(sysTHCCNat, "265", "", "")
)

// covidVaccine is one product with its codes in the three systems.
type covidVaccine struct {
	Name, Manufacturer string
	CVX, ICD11         code
	THCCLetter         string
	// Primary-series doses and the interval between them in days.
	Series         int
	MinGap, MaxGap int
	lotPrefix      string
	lotDigits      int
	thccByDose     []code
}

func vaccine(name, mfr string, cvx, cvxDisplay, icd, letter string, series, minGap, maxGap int, lotPrefix string, lotDigits int) *covidVaccine {
	v := &covidVaccine{Name: name, Manufacturer: mfr, CVX: def(sysCVX, cvx, cvxDisplay, ""), ICD11: def(sysICD11, icd, "", ""),
		THCCLetter: letter, Series: series, MinGap: minGap, MaxGap: maxGap, lotPrefix: lotPrefix, lotDigits: lotDigits}
	for d := 1; d <= 3; d++ {
		v.thccByDose = append(v.thccByDose, def(sysTHCCVac, "C"+letter+string(rune('0'+d)), "", ""))
	}
	return v
}

// Lot prefixes imitate the look of each maker's lots; they are not real lots.
var (
	vacCoronaVac = vaccine("CoronaVac (Sinovac)", "Sinovac Life Sciences", "511", "COVID-19 IV Non-US Vaccine (CoronaVac, Sinovac)", "XM7HT3", "S", 2, 21, 28, "J2021", 5)
	vacBBIBP     = vaccine("BBIBP-CorV (Sinopharm)", "Beijing Institute of Biological Products (Sinopharm)", "510", "COVID-19 IV Non-US Vaccine (BIBP, Sinopharm)", "XM8866", "I", 2, 21, 28, "2021B", 6)
	vacVaxzevria = vaccine("Vaxzevria (AstraZeneca)", "AstraZeneca", "210", "COVID-19 vaccine, vector-nr, rS-ChAdOx1, PF, 0.5 mL", "XM4YL8", "A", 2, 56, 84, "A", 4)
	vacComirnaty = vaccine("Comirnaty (Pfizer-BioNTech)", "Pfizer-BioNTech", "208", "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose", "XM8NQ0", "P", 2, 21, 42, "FF", 4)
	vacSpikevax  = vaccine("Spikevax (Moderna)", "Moderna", "207", "COVID-19, mRNA, LNP-S, PF, 100 mcg/0.5mL dose or 50 mcg/0.25mL dose", "XM3DT5", "M", 2, 28, 42, "300", 4)
	vacJanssen   = vaccine("COVID-19 Vaccine Janssen", "Janssen", "212", "COVID-19 vaccine, vector-nr, rS-Ad26, PF, 0.5 mL", "XM6QV1", "J", 1, 0, 0, "18", 5)
)
