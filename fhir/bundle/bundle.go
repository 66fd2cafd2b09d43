// Package bundle writes FHIR Bundles around stored resource bytes, which are
// copied in as they are: a page of history or search results costs no
// re-encoding.
package bundle

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// Link is a Bundle.link.
type Link struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// Request is Bundle.entry.request.
type Request struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// Response is Bundle.entry.response.
type Response struct {
	Status       string          `json:"status"`
	Location     string          `json:"location,omitempty"`
	Etag         string          `json:"etag,omitempty"`
	LastModified string          `json:"lastModified,omitempty"`
	Outcome      json.RawMessage `json:"outcome,omitempty"`
}

// Entry is one Bundle.entry; Resource is raw JSON copied verbatim.
type Entry struct {
	FullURL  string
	Resource []byte
	// Mode is search.mode ("match", "include", "outcome") for searchset Bundles.
	Mode string
	// Score is search.score, when set; MatchGrade is the match-grade
	// extension of search (https://hl7.org/fhir/R4/patient-operation-match.html).
	Score      *float64
	MatchGrade string
	Request    *Request
	Response   *Response
}

// MatchGradeURL is the extension of Bundle.entry.search holding a match grade.
const MatchGradeURL = "http://hl7.org/fhir/StructureDefinition/match-grade"

// Bundle is a Bundle under construction.
type Bundle struct {
	Type      string
	Timestamp time.Time
	Total     *int
	Links     []Link
	Entries   []Entry
}

// JSON renders the Bundle.
func (b *Bundle) JSON() []byte {
	size := 256
	for _, e := range b.Entries {
		size += len(e.Resource) + len(e.FullURL) + 128
	}
	out := bytes.NewBuffer(make([]byte, 0, size))
	out.WriteString(`{"resourceType":"Bundle","type":`)
	writeJSON(out, b.Type)
	if !b.Timestamp.IsZero() {
		out.WriteString(`,"timestamp":`)
		writeJSON(out, b.Timestamp.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
	}
	if b.Total != nil {
		out.WriteString(`,"total":`)
		out.WriteString(strconv.Itoa(*b.Total))
	}
	if len(b.Links) > 0 {
		out.WriteString(`,"link":`)
		writeJSON(out, b.Links)
	}
	if len(b.Entries) > 0 {
		out.WriteString(`,"entry":[`)
		for i, e := range b.Entries {
			if i > 0 {
				out.WriteByte(',')
			}
			out.WriteByte('{')
			sep := false
			field := func(name string) {
				if sep {
					out.WriteByte(',')
				}
				sep = true
				out.WriteByte('"')
				out.WriteString(name)
				out.WriteString(`":`)
			}
			if e.FullURL != "" {
				field("fullUrl")
				writeJSON(out, e.FullURL)
			}
			if len(e.Resource) > 0 {
				field("resource")
				out.Write(e.Resource)
			}
			if e.Mode != "" {
				field("search")
				out.WriteByte('{')
				if e.MatchGrade != "" {
					out.WriteString(`"extension":[{"url":"` + MatchGradeURL + `","valueCode":`)
					writeJSON(out, e.MatchGrade)
					out.WriteString(`}],`)
				}
				out.WriteString(`"mode":`)
				writeJSON(out, e.Mode)
				if e.Score != nil {
					out.WriteString(`,"score":`)
					out.WriteString(strconv.FormatFloat(*e.Score, 'f', -1, 64))
				}
				out.WriteByte('}')
			}
			if e.Request != nil {
				field("request")
				writeJSON(out, e.Request)
			}
			if e.Response != nil {
				field("response")
				writeJSON(out, e.Response)
			}
			out.WriteByte('}')
		}
		out.WriteByte(']')
	}
	out.WriteByte('}')
	return out.Bytes()
}

func writeJSON(b *bytes.Buffer, v any) {
	enc, err := fhirjson.Marshal(v)
	if err != nil { // only strings and plain structs reach here
		panic(err)
	}
	b.Write(enc)
}
