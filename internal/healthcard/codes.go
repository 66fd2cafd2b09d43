package healthcard

import "strings"

// Code systems cards use.
const (
	SystemCVX    = "http://hl7.org/fhir/sid/cvx"
	SystemICD11  = "http://id.who.int/icd11/mms"
	SystemLOINC  = "http://loinc.org"
	SystemSNOMED = "http://snomed.info/sct"
)

// covidVaccines names the COVID-19 vaccines in words a border officer
// knows (CVX: CDC table and /work/shared/domain.md §7.2; ICD-11: WHO DDCC,
// domain.md §1.5).
var covidVaccines = map[string]string{
	SystemCVX + "|207": "Moderna (Spikevax)", SystemCVX + "|221": "Moderna (Spikevax)", SystemCVX + "|228": "Moderna (Spikevax)",
	SystemCVX + "|229": "Moderna (Spikevax, bivalent)", SystemCVX + "|230": "Moderna (Spikevax, bivalent)",
	SystemCVX + "|208": "Pfizer-BioNTech (Comirnaty)", SystemCVX + "|217": "Pfizer-BioNTech (Comirnaty)",
	SystemCVX + "|218": "Pfizer-BioNTech (Comirnaty, child dose)", SystemCVX + "|219": "Pfizer-BioNTech (Comirnaty, child dose)",
	SystemCVX + "|300": "Pfizer-BioNTech (Comirnaty, bivalent)", SystemCVX + "|301": "Pfizer-BioNTech (Comirnaty, bivalent)",
	SystemCVX + "|210": "AstraZeneca (Vaxzevria)", SystemCVX + "|211": "Novavax (Nuvaxovid)", SystemCVX + "|212": "Janssen (Johnson & Johnson)",
	SystemCVX + "|213": "COVID-19 vaccine (product not stated)", SystemCVX + "|500": "COVID-19 vaccine (non-US, product unknown)",
	SystemCVX + "|502": "Covaxin (Bharat Biotech)", SystemCVX + "|505": "Sputnik V (Gamaleya)",
	SystemCVX + "|510": "Sinopharm (BBIBP-CorV)", SystemCVX + "|511": "Sinovac (CoronaVac)",
	SystemICD11 + "|XM68M6": "COVID-19 vaccine (product not stated)", SystemICD11 + "|XM7HT3": "Sinovac (CoronaVac)",
	SystemICD11 + "|XM8866": "Sinopharm (BBIBP-CorV)", SystemICD11 + "|XM4YL8": "AstraZeneca (Vaxzevria)",
	SystemICD11 + "|XM8NQ0": "Pfizer-BioNTech (Comirnaty)", SystemICD11 + "|XM3DT5": "Moderna (Spikevax)",
	SystemICD11 + "|XM6QV1": "Janssen (Johnson & Johnson)", SystemICD11 + "|XM9T65": "Novavax (Nuvaxovid)",
	SystemICD11 + "|XM1G90": "Covaxin (Bharat Biotech)", SystemICD11 + "|XM5ZJ4": "Sputnik V (Gamaleya)",
}

// otherVaccines are routine vaccines the sources record (CVX).
var otherVaccines = map[string]string{
	SystemCVX + "|139": "Tetanus-diphtheria (Td)", SystemCVX + "|09": "Tetanus-diphtheria (Td)", SystemCVX + "|43": "Hepatitis B",
	SystemCVX + "|08": "Hepatitis B", SystemCVX + "|03": "Measles-mumps-rubella (MMR)", SystemCVX + "|19": "BCG (tuberculosis)",
	SystemCVX + "|88": "Influenza", SystemCVX + "|141": "Influenza", SystemCVX + "|33": "Pneumococcal", SystemCVX + "|62": "HPV",
	SystemCVX + "|206": "Mpox (smallpox and monkeypox, JYNNEOS)",
}

// sarsCoV2Tests are the LOINC codes of qualitative SARS-CoV-2 tests
// (terminology.smarthealth.cards ValueSet lab-qualitative-test-covid,
// dvci/shc-terminology input/fsh/lab-qualitative-test-covid.fsh, version
// 2022.2) plus the WHO DDCC test types (ICHI under the ICD-11 URI,
// domain.md §1.5). A laboratory card holds these and nothing else.
var sarsCoV2Tests = map[string]string{}

func init() {
	for _, c := range strings.Fields(`94307-6 94308-4 94309-2 94310-0 94314-2 94315-9 94316-7 94500-6 94502-2 94507-1
		94508-9 94532-9 94533-7 94534-5 94547-7 94558-4 94559-2 94562-6 94563-4 94564-2 94565-9 94639-2 94640-0
		94641-8 94647-5 94660-8 94661-6 94756-4 94757-2 94758-0 94759-8 94760-6 94761-4 94762-2 94763-0 94765-5
		94766-3 94767-1 94768-9 94822-4 94845-5 95125-1 95209-3 95406-5 95409-9 95411-5 95416-4 95423-0 95424-8
		95425-5 95542-7 95608-6 95609-4 95823-1 95824-9 95825-6 95970-0 95971-8 96091-4 96119-3 96120-1 96121-9
		96122-7 96123-5 96448-6 96603-6 96752-1 96763-8 96765-3 96797-6 96829-7 96957-6 96958-4 96986-5 97097-0
		97098-8 98069-8 98131-6 98132-4 98493-0 98494-8 99596-9 99597-7 99772-6`) {
		sarsCoV2Tests[SystemLOINC+"|"+c] = "SARS-CoV-2 (COVID-19) test"
	}
	for _, c := range []string{"94500-6", "94309-2", "94759-8", "94534-5", "94845-5", "95406-5"} {
		sarsCoV2Tests[SystemLOINC+"|"+c] = "COVID-19 PCR test"
	}
	for _, c := range []string{"94558-4", "97097-0", "95209-3", "96119-3"} {
		sarsCoV2Tests[SystemLOINC+"|"+c] = "COVID-19 rapid antigen test"
	}
	sarsCoV2Tests[SystemICD11+"|1334426561"] = "COVID-19 PCR test"
	sarsCoV2Tests[SystemICD11+"|2056159157"] = "COVID-19 rapid antigen test"
}

// resultWords says qualitative results plainly (SNOMED CT, and the DDCC
// ICD-11 result codes).
var resultWords = map[string]string{
	SystemSNOMED + "|260385009": "negative", SystemSNOMED + "|260415000": "not detected", SystemSNOMED + "|10828004": "POSITIVE",
	SystemSNOMED + "|260373001": "DETECTED", SystemSNOMED + "|419984006": "inconclusive", SystemSNOMED + "|82334004": "indeterminate",
	SystemSNOMED + "|125154007": "specimen unsatisfactory",
	SystemICD11 + "|RA01.0":     "DETECTED", SystemICD11 + "|QA02": "not detected",
}

// IsCOVIDVaccine reports whether "system|code" is a COVID-19 vaccine.
func IsCOVIDVaccine(code string) bool { _, ok := covidVaccines[code]; return ok }

// IsSARSCoV2Test reports whether "system|code" is a SARS-CoV-2 test.
func IsSARSCoV2Test(code string) bool { _, ok := sarsCoV2Tests[code]; return ok }

// ValueSets are the credentialValueSet values understood
// (https://terminology.smarthealth.cards/artifacts.html#terminology-value-sets),
// each as a test on one "system|code" of Immunization.vaccineCode or
// Observation.code.
var ValueSets = map[string]func(code string) bool{
	"https://terminology.smarthealth.cards/ValueSet/immunization-covid-all": IsCOVIDVaccine,
	"https://terminology.smarthealth.cards/ValueSet/immunization-covid-cvx": func(c string) bool {
		return strings.HasPrefix(c, SystemCVX+"|") && IsCOVIDVaccine(c)
	},
	"https://terminology.smarthealth.cards/ValueSet/immunization-covid-icd11": func(c string) bool {
		return strings.HasPrefix(c, SystemICD11+"|") && IsCOVIDVaccine(c)
	},
	"https://terminology.smarthealth.cards/ValueSet/lab-qualitative-test-covid": func(c string) bool {
		return strings.HasPrefix(c, SystemLOINC+"|") && IsSARSCoV2Test(c)
	},
}
