// Package resource parses, validates and encodes FHIR R4 resources in JSON.
//
// A write is checked twice: fhirjson enforces the JSON format rules the
// google/fhir/go parser lets through (empty values, nulls, duplicate keys) and
// gives positions; google/fhir/go then validates the content against R4
// (elements, primitive formats, cardinality, reference targets). The stored
// bytes are the client's own members, compacted, with the server's id and
// meta spliced in: re-encoding through the proto marshaller would cost more
// than parsing and would lose the client's member order and decimal digits.
package resource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// Resource is a validated resource ready to be encoded with server metadata.
type Resource struct {
	Type string
	// ID is the id the body carried, "" if none.
	ID string
	// members are the top-level members other than resourceType, id and meta, in document order.
	members []fhirjson.Member
	// meta holds the client's meta members other than versionId and lastUpdated.
	meta []fhirjson.Member
}

// Member returns the compact JSON of a top-level member, or nil.
func (r *Resource) Member(name string) []byte {
	for _, m := range r.members {
		if m.Name == name {
			return m.Value
		}
	}
	return nil
}

// MetaMember returns the compact JSON of a meta member (e.g. "security", "source"), or nil.
func (r *Resource) MetaMember(name string) []byte {
	for _, m := range r.meta {
		if m.Name == name {
			return m.Value
		}
	}
	return nil
}

// SetSource sets meta.source (https://hl7.org/fhir/R4/resource.html#Meta),
// replacing the body's: the server, not the client, states where written
// data came from.
func (r *Resource) SetSource(uri string) {
	kept := make([]fhirjson.Member, 0, len(r.meta)+1)
	for _, m := range r.meta {
		if m.Name != "source" && m.Name != "_source" {
			kept = append(kept, m)
		}
	}
	enc, _ := fhirjson.Marshal(uri)
	r.meta = append(kept, fhirjson.Member{Name: "source", Value: enc})
}

// Parser validates resources. It is safe for concurrent use.
type Parser struct {
	u *jsonformat.Unmarshaller
}

// NewParser returns an R4 parser.
func NewParser() (*Parser, error) {
	u, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	if err != nil {
		return nil, fmt.Errorf("resource.NewParser: %w", err)
	}
	u.MaxNestingDepth = 64
	return &Parser{u: u}, nil
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// ValidID reports whether s is a valid FHIR id (https://hl7.org/fhir/R4/datatypes.html#id).
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Parse checks body and returns the resource, or an *outcome.Error: 400 for
// JSON that is malformed or does not follow the R4 structure, 422 for a
// well-formed resource that breaks a rule (a missing required element, a
// reference to a resource type the element does not allow).
func (p *Parser) Parse(body []byte) (*Resource, error) {
	members, err := fhirjson.Scan(body)
	if err != nil {
		return nil, scanError(err)
	}
	r, bad := split(members)
	switch bad {
	case "resourceType":
		return nil, outcome.New(http.StatusBadRequest, outcome.CodeStructure, "resourceType must be a string").At("resourceType")
	case "id":
		return nil, outcome.New(http.StatusBadRequest, outcome.CodeValue, "id must be a string")
	case "meta":
		return nil, outcome.New(http.StatusBadRequest, outcome.CodeStructure, "meta must be an object")
	}
	if r.ID != "" && !ValidID(r.ID) {
		return nil, outcome.New(http.StatusBadRequest, outcome.CodeValue,
			"invalid id %q: a FHIR id is 1-64 characters of A-Z, a-z, 0-9, '-' and '.'", r.ID).At(r.Type + ".id")
	}
	rep := &reporter{}
	if _, err := p.u.UnmarshalWithErrorReporter(body, rep); err != nil {
		return nil, parseError(body, err)
	}
	if len(rep.issues) > 0 {
		return nil, &outcome.Error{Status: rep.status(), Issues: rep.issues}
	}
	return r, nil
}

// Encode renders the resource with the server's id, versionId and lastUpdated.
func (r *Resource) Encode(id string, versionID int64, lastUpdated time.Time) []byte {
	size := 64 + len(r.Type) + len(id)
	for _, m := range r.members {
		size += len(m.Name) + len(m.Value) + 4
	}
	for _, m := range r.meta {
		size += len(m.Name) + len(m.Value) + 4
	}
	b := bytes.NewBuffer(make([]byte, 0, size))
	b.WriteString(`{"resourceType":`)
	writeString(b, r.Type)
	b.WriteString(`,"id":`)
	writeString(b, id)
	b.WriteString(`,"meta":{"versionId":"`)
	b.WriteString(strconv.FormatInt(versionID, 10))
	b.WriteString(`","lastUpdated":"`)
	b.WriteString(FormatInstant(lastUpdated))
	b.WriteByte('"')
	for _, m := range r.meta {
		b.WriteByte(',')
		writeString(b, m.Name)
		b.WriteByte(':')
		b.Write(m.Value)
	}
	b.WriteByte('}')
	for _, m := range r.members {
		b.WriteByte(',')
		writeString(b, m.Name)
		b.WriteByte(':')
		b.Write(m.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// FormatInstant renders t as a FHIR instant in UTC with microseconds, the precision the stores keep.
func FormatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

func writeString(b *bytes.Buffer, s string) {
	enc, _ := fhirjson.Marshal(s)
	b.Write(enc)
}

// objectMembers splits a JSON object into its members, in order.
func objectMembers(obj []byte) ([]fhirjson.Member, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	var out []fhirjson.Member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, ok := t.(string)
		if !ok {
			return nil, errors.New("bad member name")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, fhirjson.Member{Name: name, Value: v})
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return nil, err
	}
	return out, nil
}

func scanError(err error) error {
	var se *fhirjson.Error
	if !errors.As(err, &se) {
		return outcome.New(http.StatusBadRequest, outcome.CodeStructure, "invalid JSON: %v", err)
	}
	e := &outcome.Error{Status: http.StatusBadRequest}
	for _, is := range se.Issues {
		code := outcome.CodeStructure
		msg := is.Message
		if is.Line > 0 && !strings.Contains(msg, "line ") {
			msg = fmt.Sprintf("%s (line %d, column %d)", msg, is.Line, is.Column)
		}
		var expr []string
		if is.Expression != "" {
			expr = []string{is.Expression}
		}
		e.Issues = append(e.Issues, outcome.Issue{Severity: outcome.SevError, Code: code, Diagnostics: msg, Expression: expr})
	}
	return e
}

var errorAt = regexp.MustCompile(`^error at "([^"]*)": (.*)$`)

// hints explain the R4 primitive formats the parser names in its errors.
var hints = map[string]string{
	"expected date":             "a FHIR date is YYYY, YYYY-MM or YYYY-MM-DD",
	"expected datetime":         "a FHIR dateTime is YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss(.sss)+zz:zz",
	"expected instant":          "a FHIR instant is YYYY-MM-DDThh:mm:ss(.sss)Z or with an offset +zz:zz",
	"expected decimal":          "a FHIR decimal is a JSON number, not a string",
	"expected boolean":          "a FHIR boolean is JSON true or false, not a string",
	"expected integer":          "a FHIR integer is a JSON number without a fraction, from -2147483648 to 2147483647",
	"expected positive integer": "a FHIR positiveInt is a JSON integer greater than 0",
	"expected string":           "this element is a JSON string",
	"expected array":            "this element repeats: send a JSON array",
	"expected code":             "a FHIR code is a non-empty string without leading or trailing whitespace",
	"expected ID":               "a FHIR id is 1-64 characters of A-Z, a-z, 0-9, '-' and '.'",
	"expected UUID":             "a FHIR uuid is urn:uuid: followed by a lowercase UUID",
	"expected OID":              "a FHIR oid is urn:oid: followed by a dotted OID",
	"expected binary data":      "base64Binary must be base64-encoded",
	"code type mismatch":        "the value is not one of the codes this element's required value set allows",
	"unknown field":             "this element is not defined in FHIR R4 for this type (check its spelling and nesting)",
	"unknown resource type":     "not an R4 resource type",
}

// reporter collects the validation findings google/fhir/go reports without aborting.
type reporter struct {
	issues []outcome.Issue
	format bool // a primitive-format problem (400) rather than a rule (422)
}

func (r *reporter) ReportValidationError(path string, err error) error {
	detail := err.Error()
	if m := errorAt.FindStringSubmatch(detail); m != nil {
		detail = m[2]
	}
	code := outcome.CodeInvariant
	switch {
	case strings.HasPrefix(detail, "missing required field"):
		code = outcome.CodeRequired
		detail = strings.Replace(detail, "missing required field", "missing required element", 1)
	case strings.HasPrefix(detail, "invalid reference"):
		code = outcome.CodeValue
	case strings.Contains(detail, "Id format"):
		code = outcome.CodeValue
		r.format = true
		detail += ": a FHIR id is 1-64 characters of A-Z, a-z, 0-9, '-' and '.'"
	}
	r.issues = append(r.issues, outcome.Issue{Severity: outcome.SevError, Code: code, Diagnostics: path + ": " + detail, Expression: []string{path}})
	return nil
}

func (r *reporter) ReportValidationWarning(string, error) error { return nil }

func (r *reporter) status() int {
	if r.format {
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}
