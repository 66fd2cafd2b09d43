package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Reject is one input row that produced nothing. Row is the 1-based line of
// a delimited file (the header is line 1) or the 1-based position of a record
// in a JSON payload; Row 0 means the whole file. Reason never quotes names:
// reports travel further than the data they describe.
type Reject struct {
	File   string `json:"file"`
	Row    int    `json:"row"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (r Reject) String() string {
	s := fmt.Sprintf("%s:%d", r.File, r.Row)
	if r.Field != "" {
		s += " " + r.Field
	}
	return s + ": " + r.Reason
}

// Unmapped is a source code no crosswalk translates. The code is kept in the
// resource under the source's system; this entry tells the operator which
// row carried it, so a crosswalk can be extended rather than a value guessed.
type Unmapped struct {
	File   string `json:"file"`
	Row    int    `json:"row"`
	Field  string `json:"field"`
	System string `json:"system"`
	Code   string `json:"code"`
}

// Result is what a decoder returns: one transaction per person, the rows it
// rejected and the codes it could not translate.
type Result struct {
	Persons  []Person   `json:"-"`
	Rejects  []Reject   `json:"rejects"`
	Unmapped []Unmapped `json:"unmapped"`
	// Warnings cost no data: an ignored column, a file the format does not read.
	Warnings []Reject `json:"warnings,omitempty"`
}

// Person is one Patient and everything recorded about them, ready to be sent
// as one transaction: the unit of ingest, so one person's bad data never
// blocks another's.
type Person struct {
	Patient       *Patient
	Observations  []*Observation
	Immunizations []*Immunization
	Episodes      []*EpisodeOfCare
}

// Reject records a rejected row.
func (r *Result) Reject(file string, row int, field, format string, args ...any) {
	r.Rejects = append(r.Rejects, Reject{File: file, Row: row, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Warn records a warning.
func (r *Result) Warn(file string, row int, field, format string, args ...any) {
	r.Warnings = append(r.Warnings, Reject{File: file, Row: row, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Bundles returns one transaction Bundle per person, in input order.
func (r *Result) Bundles() [][]byte {
	out := make([][]byte, len(r.Persons))
	for i := range r.Persons {
		out[i] = r.Persons[i].Bundle()
	}
	return out
}

// Bundle returns a single transaction Bundle holding every person. The
// fullUrls are derived from identifiers, so entries of different persons never
// collide; the decoders have already merged persons who share an identifier,
// because two conditional creates for the same person in one transaction
// would both be evaluated against the state before it and create two Patients.
func (r *Result) Bundle() []byte {
	var entries []entry
	for i := range r.Persons {
		entries = append(entries, r.Persons[i].entries()...)
	}
	return transaction(entries)
}

// Bundle returns the person's transaction Bundle.
func (p *Person) Bundle() []byte { return transaction(p.entries()) }

// PatientURL is the fullUrl of the person's Patient entry.
func (p *Person) PatientURL() string {
	if ids := trusted(p.Patient.Identifier); len(ids) > 0 {
		return "urn:uuid:" + NameUUID("Patient|"+ids[0].Key())
	}
	return "urn:uuid:" + NameUUID("Patient|"+doubtedMatch(p.Patient))
}

// Match is the search that finds the person's Patient if it already exists:
// any one of its identifiers (comma is OR in FHIR search), doubted ones
// excepted; for a person who carries doubted identifiers only, all of those
// together with birth date and sex (see doubtedMatch).
func (p *Person) Match() string {
	ids := trusted(p.Patient.Identifier)
	if len(ids) == 0 {
		return doubtedMatch(p.Patient)
	}
	var parts []string
	for _, id := range ids {
		parts = append(parts, queryEscape(escapeToken(id.System)+"|"+escapeToken(id.Value)))
	}
	return "identifier=" + strings.Join(parts, ",")
}

type entry struct {
	FullURL  string  `json:"fullUrl"`
	Resource any     `json:"resource"`
	Request  request `json:"request"`
}

type request struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	IfNoneExist string `json:"ifNoneExist,omitempty"`
}

func (p *Person) entries() []entry {
	patientURL := p.PatientURL()
	out := []entry{{FullURL: patientURL, Resource: p.Patient, Request: request{"POST", "Patient", p.Match()}}}
	ref := Reference{Reference: patientURL}
	add := func(typ string, id Identifier, res any) {
		out = append(out, entry{
			FullURL:  "urn:uuid:" + NameUUID(typ+"|"+id.Key()),
			Resource: res,
			Request:  request{"POST", typ, "identifier=" + queryEscape(escapeToken(id.System)+"|"+escapeToken(id.Value))},
		})
	}
	// Shallow copies carry the reference, so building Bundles never changes
	// the Result and several goroutines may render the same one.
	for _, e := range p.Episodes {
		c := *e
		c.Patient = ref
		add("EpisodeOfCare", c.Identifier[0], &c)
	}
	for _, o := range p.Observations {
		c := *o
		c.Subject = &ref
		add("Observation", c.Identifier[0], &c)
	}
	for _, im := range p.Immunizations {
		c := *im
		c.Patient = ref
		add("Immunization", c.Identifier[0], &c)
	}
	return out
}

func transaction(entries []entry) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "&" and "<" readable in ifNoneExist and names
	enc.SetIndent("", "  ")
	if entries == nil {
		entries = []entry{}
	}
	if err := enc.Encode(struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Entry        []entry `json:"entry,omitempty"`
	}{"Bundle", "transaction", entries}); err != nil {
		panic(err) // the types above always marshal
	}
	return buf.Bytes()
}

// queryEscape escapes what a query string gives a meaning to (the
// ifNoneExist is parsed as one, https://hl7.org/fhir/R4/bundle.html#transaction),
// leaving ":" and "/" of systems readable. A doubted value may hold any of
// them: it failed its check.
func queryEscape(s string) string {
	if !strings.ContainsAny(s, "%&+#; =") {
		return s
	}
	r := strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", "#", "%23", ";", "%3B", " ", "%20", "=", "%3D")
	return r.Replace(s)
}

// escapeToken escapes the characters FHIR search gives a meaning inside a
// token value (https://hl7.org/fhir/R4/search.html#escaping).
func escapeToken(s string) string {
	if !strings.ContainsAny(s, `\|,$`) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `|`, `\|`, `,`, `\,`, `$`, `\$`)
	return r.Replace(s)
}
