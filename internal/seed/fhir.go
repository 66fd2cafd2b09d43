package seed

// The R4 shapes the generator writes, encoded with encoding/json: struct
// fields keep the specification's element order, so output is stable and
// reads like the examples in the spec. Only the elements used are declared.

type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

type extension struct {
	URL                  string      `json:"url"`
	Extension            []extension `json:"extension,omitempty"`
	ValueCode            string      `json:"valueCode,omitempty"`
	ValueCodeableConcept *concept    `json:"valueCodeableConcept,omitempty"`
}

type identifier struct {
	Use    string   `json:"use,omitempty"`
	Type   *concept `json:"type,omitempty"`
	System string   `json:"system"`
	Value  string   `json:"value"`
}

type humanName struct {
	Extension []extension `json:"extension,omitempty"`
	Use       string      `json:"use,omitempty"`
	Text      string      `json:"text"`
	Family    string      `json:"family,omitempty"`
	Given     []string    `json:"given,omitempty"`
}

type contactPoint struct {
	System string `json:"system"`
	Value  string `json:"value"`
	Use    string `json:"use,omitempty"`
}

type address struct {
	Use      string `json:"use,omitempty"`
	City     string `json:"city,omitempty"`
	District string `json:"district,omitempty"`
	State    string `json:"state,omitempty"`
	Country  string `json:"country"`
}

type communication struct {
	Language  concept `json:"language"`
	Preferred bool    `json:"preferred,omitempty"`
}

type patient struct {
	ResourceType  string          `json:"resourceType"`
	ID            string          `json:"id"`
	Extension     []extension     `json:"extension,omitempty"`
	Identifier    []identifier    `json:"identifier"`
	Name          []humanName     `json:"name"`
	Telecom       []contactPoint  `json:"telecom,omitempty"`
	Gender        string          `json:"gender"`
	BirthDate     string          `json:"birthDate"`
	Address       []address       `json:"address"`
	Communication []communication `json:"communication"`
}

type quantity struct {
	Value      int    `json:"value"`
	Comparator string `json:"comparator,omitempty"`
	Unit       string `json:"unit"`
	System     string `json:"system"`
	Code       string `json:"code"`
}

type observation struct {
	ResourceType         string      `json:"resourceType"`
	ID                   string      `json:"id"`
	Status               string      `json:"status"`
	Category             []concept   `json:"category"`
	Code                 concept     `json:"code"`
	Subject              reference   `json:"subject"`
	EffectiveDateTime    string      `json:"effectiveDateTime"`
	Issued               string      `json:"issued,omitempty"`
	Performer            []reference `json:"performer,omitempty"`
	ValueQuantity        *quantity   `json:"valueQuantity,omitempty"`
	ValueCodeableConcept *concept    `json:"valueCodeableConcept,omitempty"`
	Method               *concept    `json:"method,omitempty"`
}

type immunizationPerformer struct {
	Actor reference `json:"actor"`
}

type protocolApplied struct {
	Series                 string    `json:"series,omitempty"`
	TargetDisease          []concept `json:"targetDisease,omitempty"`
	DoseNumberPositiveInt  int       `json:"doseNumberPositiveInt"`
	SeriesDosesPositiveInt int       `json:"seriesDosesPositiveInt,omitempty"`
}

type immunization struct {
	ResourceType       string                  `json:"resourceType"`
	ID                 string                  `json:"id"`
	Status             string                  `json:"status"`
	VaccineCode        concept                 `json:"vaccineCode"`
	Patient            reference               `json:"patient"`
	OccurrenceDateTime string                  `json:"occurrenceDateTime"`
	PrimarySource      bool                    `json:"primarySource"`
	ReportOrigin       *concept                `json:"reportOrigin,omitempty"`
	Manufacturer       *reference              `json:"manufacturer,omitempty"`
	LotNumber          string                  `json:"lotNumber,omitempty"`
	Performer          []immunizationPerformer `json:"performer,omitempty"`
	ProtocolApplied    []protocolApplied       `json:"protocolApplied"`
}

func (c code) coding() coding { return coding{System: c.System, Code: c.Code, Display: c.Display} }

// concept returns a CodeableConcept of c, showing its text.
func (c code) concept() *concept { return &concept{Coding: []coding{c.coding()}, Text: c.Text} }

func conceptOf(text string, cs ...code) concept {
	cc := concept{Text: text}
	for _, c := range cs {
		cc.Coding = append(cc.Coding, c.coding())
	}
	return cc
}
