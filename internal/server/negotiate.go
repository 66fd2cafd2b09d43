package server

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// https://hl7.org/fhir/R4/http.html#mime-type: JSON only. A requested format
// Mekong cannot produce is 406; a body in another format is 415.

const (
	fhirJSON  = "application/fhir+json"
	appJSON   = "application/json"
	jsonPatch = "application/json-patch+json"
)

// jsonTypes are the media types Mekong reads and writes as FHIR JSON.
var jsonTypes = map[string]bool{fhirJSON: true, appJSON: true, "application/json+fhir": true, "text/json": true}

type format struct {
	contentType string
	pretty      bool
}

// negotiate decides the response format and checks the request body's type.
func (s *Server) negotiate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		f := format{contentType: fhirJSON + "; charset=utf-8"}
		if v := c.QueryParam("_format"); v != "" {
			ct, ok := formatParam(v)
			if !ok {
				return outcome.NotSupported(http.StatusNotAcceptable, "_format %q is not supported; Mekong speaks FHIR JSON (_format=json)", v).At("_format")
			}
			f.contentType = ct
		} else if a := req.Header.Get("Accept"); a != "" && !sourceFormat(c) {
			ct, err := acceptable(a)
			if err != nil {
				return err
			}
			f.contentType = ct
		}
		switch c.QueryParam("_pretty") {
		case "", "false":
		case "true":
			f.pretty = true
		default:
			return outcome.Invalid("_pretty must be true or false").At("_pretty")
		}
		c.Set("format", f)
		if isSearchPost(c) {
			if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); req.ContentLength != 0 && mt != "application/x-www-form-urlencoded" {
				return outcome.NotSupported(http.StatusUnsupportedMediaType, "POST _search takes its parameters as application/x-www-form-urlencoded")
			}
		} else if hasBody(req) && !sourceFormat(c) {
			if err := checkContentType(req.Method, req.Header.Get("Content-Type")); err != nil {
				return err
			}
		}
		return next(c)
	}
}

func hasBody(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return r.ContentLength != 0
	}
	return false
}

func formatParam(v string) (string, bool) {
	switch strings.ToLower(v) {
	case "json", fhirJSON, "application/json+fhir":
		return fhirJSON + "; charset=utf-8", true
	case appJSON, "text/json":
		return appJSON + "; charset=utf-8", true
	}
	return "", false
}

// acceptable picks the response type from an Accept header.
func acceptable(header string) (string, error) {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(header, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(qs, 64); err == nil {
				q = f
			}
		}
		if q <= 0 {
			continue
		}
		if v, ok := params["fhirversion"]; ok && !strings.HasPrefix(v, "4.0") {
			return "", outcome.NotSupported(http.StatusNotAcceptable, "fhirVersion %q requested; this server speaks FHIR 4.0.1", v)
		}
		var ct string
		switch {
		case mt == fhirJSON || mt == "application/json+fhir" || mt == "*/*" || mt == "application/*":
			ct = fhirJSON
		case mt == appJSON || mt == "text/json":
			ct = appJSON
		default:
			continue
		}
		if q > bestQ || (q == bestQ && ct == fhirJSON && best != fhirJSON) {
			best, bestQ = ct, q
		}
	}
	if best == "" {
		return "", outcome.NotSupported(http.StatusNotAcceptable,
			"cannot answer in any type of Accept %q; Mekong speaks application/fhir+json (or application/json)", header)
	}
	return best + "; charset=utf-8", nil
}

// checkContentType accepts FHIR JSON, and for PATCH also JSON Patch
// (https://hl7.org/fhir/R4/http.html#patch).
func checkContentType(method, header string) error {
	if header == "" {
		return outcome.NotSupported(http.StatusUnsupportedMediaType, "the request has a body but no Content-Type; send Content-Type: application/fhir+json")
	}
	mt, params, err := mime.ParseMediaType(header)
	if err == nil && mt == jsonPatch && method == http.MethodPatch {
		return nil
	}
	if err != nil || !jsonTypes[mt] {
		if method == http.MethodPatch {
			return outcome.NotSupported(http.StatusUnsupportedMediaType, "Content-Type %q is not supported; PATCH takes a JSON Patch (%s) or a FHIRPath Patch in FHIR JSON (%s)", header, jsonPatch, fhirJSON)
		}
		return outcome.NotSupported(http.StatusUnsupportedMediaType, "Content-Type %q is not supported; send FHIR JSON as application/fhir+json", header)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return outcome.NotSupported(http.StatusUnsupportedMediaType, "charset %q is not supported; FHIR JSON is UTF-8", cs)
	}
	if v, ok := params["fhirversion"]; ok && !strings.HasPrefix(v, "4.0") {
		return outcome.NotSupported(http.StatusUnsupportedMediaType, "fhirVersion %q sent; this server speaks FHIR 4.0.1", v)
	}
	return nil
}

func formatOf(c echo.Context) format {
	if f, ok := c.Get("format").(format); ok {
		return f
	}
	return format{contentType: fhirJSON + "; charset=utf-8"}
}

// writeJSON sends FHIR JSON in the negotiated type, indented for _pretty=true.
func writeJSON(c echo.Context, status int, body []byte) error {
	f := formatOf(c)
	if f.pretty {
		var b bytes.Buffer
		if err := json.Indent(&b, body, "", "  "); err == nil {
			body = b.Bytes()
		}
	}
	return c.Blob(status, f.contentType, body)
}

// Prefer (https://hl7.org/fhir/R4/http.html#ops): return=minimal,
// representation (the default) or OperationOutcome.
type prefer struct {
	ret string
}

func parsePrefer(h []string) prefer {
	var p prefer
	for _, line := range h {
		for _, tok := range strings.Split(line, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(tok), "=")
			if strings.EqualFold(strings.TrimSpace(k), "return") {
				p.ret = strings.Trim(strings.TrimSpace(v), `"`)
			}
		}
	}
	return p
}

// preferStrict reports Prefer: handling=strict
// (https://hl7.org/fhir/R4/search.html#errors).
func preferStrict(h []string) bool {
	for _, line := range h {
		for _, tok := range strings.Split(line, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(tok), "=")
			if strings.EqualFold(strings.TrimSpace(k), "handling") && strings.EqualFold(strings.Trim(strings.TrimSpace(v), `"`), "strict") {
				return true
			}
		}
	}
	return false
}

// jsonSerializer is echo's JSON without HTML escaping, for the few answers
// (health checks) written with c.JSON rather than as FHIR bytes.
type jsonSerializer struct{ echo.DefaultJSONSerializer }

func (jsonSerializer) Serialize(c echo.Context, i any, indent string) error {
	enc := json.NewEncoder(c.Response())
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	return enc.Encode(i)
}
