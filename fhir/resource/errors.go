package resource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// parserIssue is one finding of google/fhir/go's unmarshaller: where (the
// FHIRPath of the element holding the problem), what, and its diagnostics
// (for an unknown element, the quoted member name).
type parserIssue struct {
	path, details, diagnostics string
}

// parserIssues lists the findings in err. google/fhir/go returns an
// UnmarshalErrorList of *UnmarshalError from an internal package, whose
// Error() joins them with newlines and drops the names of unknown
// elements; their fields are read by name instead. Should a later version
// change that shape, the joined message is split as before.
func parserIssues(err error) []parserIssue {
	var out []parserIssue
	one := func(v reflect.Value) bool {
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return false
		}
		f := func(name string) string {
			x := v.FieldByName(name)
			if !x.IsValid() || x.Kind() != reflect.String {
				return ""
			}
			return x.String()
		}
		if !v.FieldByName("Details").IsValid() {
			return false
		}
		out = append(out, parserIssue{path: f("Path"), details: f("Details"), diagnostics: f("Diagnostics")})
		return true
	}
	v := reflect.ValueOf(err)
	ok := false
	if v.Kind() == reflect.Slice {
		ok = true
		for i := range v.Len() {
			ok = one(v.Index(i)) && ok
		}
	} else if v.IsValid() {
		ok = one(v)
	}
	if ok {
		return out
	}
	out = out[:0]
	for _, line := range strings.Split(err.Error(), "\n") {
		if m := errorAt.FindStringSubmatch(line); m != nil {
			out = append(out, parserIssue{path: m[1], details: m[2]})
		} else {
			out = append(out, parserIssue{details: line})
		}
	}
	return out
}

// containedPath turns the unmarshaller's "Patient.contained[0].Patient"
// into the FHIRPath "Patient.contained[0]".
var containedPath = regexp.MustCompile(`(contained\[\d+\])\.[A-Z][A-Za-z]*`)

// parseError turns a fatal google/fhir/go error into one issue per problem,
// each with the full FHIRPath of the element and a message naming the
// element and the value found (https://hl7.org/fhir/R4/operationoutcome.html:
// expression is the FHIRPath of the element). These are all structure or
// primitive-format problems: 400.
func parseError(body []byte, err error) error {
	doc := decodeLoose(body)
	e := &outcome.Error{Status: http.StatusBadRequest}
	for _, pi := range parserIssues(err) {
		path := containedPath.ReplaceAllString(pi.path, "$1")
		code := outcome.CodeValue
		var diag string
		switch {
		case pi.details == "unknown field":
			code = outcome.CodeStructure
			name, uerr := strconv.Unquote(pi.diagnostics)
			if uerr != nil || name == "" {
				diag = "unknown element: " + hints["unknown field"]
				break
			}
			parent := path
			path = joinPath(path, name)
			diag = fmt.Sprintf("unknown element %q%s: FHIR R4 defines no element %s in %s (check its spelling and nesting)",
				name, found(doc, path), name, parent)
		case pi.details == "invalid JSON":
			code = outcome.CodeStructure
			diag = "the resource could not be read as JSON"
			if strings.Contains(pi.diagnostics, "invalid number") {
				diag += ": a number is out of range"
			}
		default:
			value := valueAt(doc, path)
			if msg, ok := impossibleDate(pi.details, value); ok {
				diag = msg
				break
			}
			if pi.details == "code type mismatch" {
				diag = fmt.Sprintf("code %s is not one of the codes this element's required value set allows", render(value))
				break
			}
			if !strings.HasPrefix(pi.details, "expected ") && !strings.Contains(pi.details, "invalid") {
				code = outcome.CodeStructure
			}
			diag = pi.details + found(doc, path)
			if h, ok := hints[pi.details]; ok {
				diag += ": " + h
			}
		}
		is := outcome.Issue{Severity: outcome.SevError, Code: code, Diagnostics: diag}
		if path != "" {
			is.Diagnostics = path + ": " + diag
			is.Expression = []string{path}
		}
		e.Issues = append(e.Issues, is)
	}
	// The unmarshaller walks maps, so its order is random; the document's
	// paths give a stable one.
	sort.SliceStable(e.Issues, func(i, j int) bool { return firstExpr(e.Issues[i]) < firstExpr(e.Issues[j]) })
	if len(e.Issues) == 0 {
		return outcome.New(http.StatusBadRequest, outcome.CodeStructure, "the resource could not be read as FHIR R4")
	}
	return e
}

func firstExpr(is outcome.Issue) string {
	if len(is.Expression) > 0 {
		return is.Expression[0]
	}
	return ""
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// decodeLoose reads the body for locating values; nil if it cannot.
func decodeLoose(body []byte) any {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	return v
}

var step = regexp.MustCompile(`^([^.\[]+)((?:\[\d+\])*)`)

// valueAt finds the value at a FHIRPath such as Patient.name[0].given[1]
// (the first step is the resource type); nil if there is none.
func valueAt(doc any, path string) any {
	steps := strings.Split(path, ".")
	if len(steps) < 2 {
		return nil
	}
	cur := doc
	for _, s := range steps[1:] {
		m := step.FindStringSubmatch(s)
		if m == nil {
			return nil
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = obj[m[1]]; !ok {
			return nil
		}
		for _, idx := range strings.Split(strings.Trim(m[2], "[]"), "][") {
			if idx == "" {
				continue
			}
			n, _ := strconv.Atoi(idx)
			arr, ok := cur.([]any)
			if !ok || n >= len(arr) {
				return nil
			}
			cur = arr[n]
		}
	}
	return cur
}

// found renders ", found VALUE" for the value at path, if there is one.
func found(doc any, path string) string {
	v := valueAt(doc, path)
	if v == nil {
		return ""
	}
	return ", found " + render(v)
}

// maxShown bounds a value quoted in a message.
const maxShown = 80

func render(v any) string {
	b, err := fhirjson.Marshal(v)
	if err != nil {
		return "a value"
	}
	if len(b) > maxShown {
		cut := maxShown
		for cut > 0 && b[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		return string(b[:cut]) + "…"
	}
	return string(b)
}

// The R4 formats of date, dateTime and instant
// (https://hl7.org/fhir/R4/datatypes.html#primitive) without their range
// checks: a value of this shape that the parser refused names a day, month
// or time that does not exist.
var (
	dateShape     = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$`)
	dateTimeShape = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-](\d{2}):(\d{2})))?)?)?$`)
	instantShape  = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$`)
)

// impossibleDate explains a date, dateTime or instant that has the right
// form but names a date or time that does not exist ("1990-02-30",
// "1990-13-01", "2026-03-01T25:00:00Z"), as search and $ingest do.
func impossibleDate(details string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	var m []string
	switch details {
	case "expected date":
		m = dateShape.FindStringSubmatch(s)
	case "expected datetime":
		m = dateTimeShape.FindStringSubmatch(s)
	case "expected instant":
		m = instantShape.FindStringSubmatch(s)
	}
	if m == nil {
		return "", false
	}
	num := func(i int) int {
		if i >= len(m) || m[i] == "" {
			return -1
		}
		n, _ := strconv.Atoi(m[i])
		return n
	}
	y, mo, d := num(1), num(2), num(3)
	var why string
	switch {
	case y == 0:
		why = "there is no year 0000"
	case mo == 0 || mo > 12:
		why = fmt.Sprintf("there is no month %02d", mo)
	case d == 0 || d > daysIn(y, mo):
		why = fmt.Sprintf("%04d-%02d has %d days", y, mo, daysIn(y, mo))
	case num(4) > 23:
		why = fmt.Sprintf("there is no hour %02d", num(4))
	case num(5) > 59:
		why = fmt.Sprintf("there is no minute %02d", num(5))
	case num(6) > 60:
		why = fmt.Sprintf("there is no second %02d", num(6))
	case num(7) > 14 || num(8) > 59:
		why = "the timezone offset is out of range (at most ±14:00)"
	default:
		return "", false
	}
	kind := map[string]string{"expected date": "date", "expected datetime": "dateTime", "expected instant": "instant"}[details]
	return fmt.Sprintf("the %s %q does not exist (%s)", kind, s, why), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	case -1:
		return 31
	}
	return 31
}
