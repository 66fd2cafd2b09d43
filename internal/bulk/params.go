package bulk

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
)

// ndjsonFormats are the _outputFormat values of NDJSON
// (https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters); no
// other format is produced.
var ndjsonFormats = []string{"application/fhir+ndjson", "application/ndjson", "ndjson"}

// exportParams reads the kick-off parameters of $export. Parameters Mekong
// does not implement are refused rather than ignored: ignoring _typeFilter
// would export more than the client asked for.
func exportParams(q url.Values, served []string, patient bool) (ExportSpec, error) {
	spec := ExportSpec{Patient: patient}
	for k := range q {
		switch k {
		case "_type", "_since", "_outputFormat":
		default:
			return spec, outcome.NotSupported(http.StatusBadRequest,
				"$export parameter %q is not supported; Mekong supports _type, _since and _outputFormat", k).At(k)
		}
	}
	if f := q.Get("_outputFormat"); f != "" && !slices.Contains(ndjsonFormats, f) {
		return spec, outcome.NotSupported(http.StatusBadRequest, "_outputFormat %q is not supported; use one of %s", f, strings.Join(ndjsonFormats, ", ")).At("_outputFormat")
	}
	if s := q.Get("_since"); s != "" {
		t, err := parseInstant(s)
		if err != nil {
			if _, derr := search.ParseDate(s, time.UTC); derr != nil && strings.Contains(derr.Error(), "does not exist") {
				return spec, outcome.Invalid("_since: %v", derr).At("_since")
			}
			return spec, outcome.Invalid("_since %q is not a FHIR instant such as 2026-03-01T00:00:00+07:00", s).At("_since")
		}
		spec.Since = t
	}
	// AuditEvents (the audit log) are exported only when _type names them.
	types, err := parseTypes(q["_type"], append(slices.Clone(served), "AuditEvent"))
	if err != nil {
		return spec, err
	}
	if len(q["_type"]) == 0 {
		types = slices.Clone(served)
	}
	spec.Types = types
	return spec, nil
}

// parseTypes reads _type (comma lists, possibly repeated); none means every
// served type.
func parseTypes(vals []string, served []string) ([]string, error) {
	var out []string
	for _, v := range vals {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if !slices.Contains(served, t) {
				return nil, outcome.Invalid("_type %q is not a resource type served here; served types: %s", t, strings.Join(served, ", ")).At("_type")
			}
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	if len(out) == 0 {
		out = slices.Clone(served)
	}
	return out, nil
}

// parseInstant reads a FHIR instant: a full date and time with a timezone.
func parseInstant(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

// importInput is one input of an import job: the uploaded body or a URL.
type importInput struct {
	Type   string `json:"type,omitempty"`
	URL    string `json:"url,omitempty"`
	Upload bool   `json:"upload,omitempty"`
}

// ndjsonTypes are the Content-Types of an NDJSON upload.
var ndjsonTypes = []string{"application/fhir+ndjson", "application/x-ndjson", "application/ndjson"}

// importKind tells an NDJSON upload from a Parameters body.
func importKind(contentType string) (ndjson bool, err error) {
	mt, _, perr := mime.ParseMediaType(contentType)
	switch {
	case perr != nil || contentType == "":
		return false, outcome.NotSupported(http.StatusUnsupportedMediaType,
			"$import needs Content-Type application/fhir+ndjson (the NDJSON itself) or application/fhir+json (a Parameters resource with input urls)")
	case slices.Contains(ndjsonTypes, mt):
		return true, nil
	case mt == "application/fhir+json" || mt == "application/json":
		return false, nil
	}
	return false, outcome.NotSupported(http.StatusUnsupportedMediaType,
		"Content-Type %q is not accepted by $import; send application/fhir+ndjson or a Parameters resource as application/fhir+json", contentType)
}

// parametersInputs reads the input parts of a $import Parameters body. A
// URL is fetched only when it starts with an allowed prefix: fetching any
// URL a client names would let it make the gateway reach internal hosts
// (server-side request forgery).
func parametersInputs(body []byte, served, allowed []string) ([]importInput, error) {
	var p struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name string `json:"name"`
			Part []struct {
				Name      string `json:"name"`
				ValueCode string `json:"valueCode"`
				ValueURL  string `json:"valueUrl"`
				ValueURI  string `json:"valueUri"`
			} `json:"part"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.ResourceType != "Parameters" {
		return nil, outcome.Invalid("$import takes a Parameters resource with input parts (type, url), or the NDJSON itself as application/fhir+ndjson")
	}
	var out []importInput
	for i, prm := range p.Parameter {
		if prm.Name != "input" {
			continue
		}
		at := fmt.Sprintf("Parameters.parameter[%d]", i)
		var in importInput
		for _, part := range prm.Part {
			switch part.Name {
			case "type":
				in.Type = part.ValueCode
			case "url":
				in.URL = part.ValueURL + part.ValueURI
			}
		}
		if in.Type != "" && !slices.Contains(served, in.Type) {
			return nil, outcome.Invalid("input type %q is not served here; served types: %s", in.Type, strings.Join(served, ", ")).At(at)
		}
		if err := checkURL(in.URL, allowed); err != nil {
			return nil, err.At(at)
		}
		out = append(out, in)
	}
	if len(out) == 0 {
		return nil, outcome.Invalid("the Parameters have no input part (name \"input\" with parts type and url)").At("Parameters.parameter")
	}
	return out, nil
}

func checkURL(u string, allowed []string) *outcome.Error {
	if len(allowed) == 0 {
		return outcome.NotSupported(http.StatusBadRequest,
			"this server does not fetch import inputs from URLs (none allowed by --import-url-prefix); send the NDJSON as the request body")
	}
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
		return outcome.Invalid("input url %q is not an http(s) URL", u)
	}
	if !urlAllowed(u, allowed) {
		return outcome.NotSupported(http.StatusBadRequest, "input url %q is not under a prefix this server fetches from (--import-url-prefix)", u)
	}
	return nil
}

func urlAllowed(u string, allowed []string) bool {
	for _, p := range allowed {
		if p != "" && strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}
