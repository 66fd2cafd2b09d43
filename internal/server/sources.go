package server

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/ingest"
)

// Mekong's own operations have canonical URLs under Mekong's canonical base,
// like its profiles and ConceptMaps.
const opBase = "https://mekong-fhir.github.io/fhir/OperationDefinition/"

var (
	convertOperation = operationDef{
		Name: "convert", Definition: opBase + "convert", System: true,
		Doc: "POST [base]/$convert?format=iom-csv|iom-json|th43|dhis2 with the source payload (CSV, IOM JSON, a 43-file ZIP or " +
			"multipart/form-data files, a DHIS2 tracker payload): a collection Bundle of one transaction Bundle per person, then an " +
			"OperationOutcome of rejected rows, unmapped codes and warnings. Nothing is stored.",
	}
	ingestOperation = operationDef{
		Name: "ingest", Definition: opBase + "ingest", System: true,
		Doc: "POST [base]/$ingest?format=...: as $convert, then each person's Bundle is run as its own transaction (patients " +
			"matched on identifiers and merged). Answers a Parameters report: persons, stored, created/updated/unchanged, rejects, " +
			"unmapped codes, failed transactions, and the same as an OperationOutcome.",
	}
	exportSourceOperation = operationDef{
		Name: "export-source", Definition: opBase + "Patient-export-source", Types: []string{"Patient"},
		Doc: "GET Patient/[id]/$export-source?format=th43|dhis2|iom-csv|iom-json[&hospcode=&typearea=]: the patient, its " +
			"Observations and Immunizations in the source format (th43: ZIP of PERSON, EPI, LABFU, SPECIALPP). What the format " +
			"cannot hold is listed in Warning headers.",
	}
)

// sourceFormats marks a route whose request body and response are not FHIR
// JSON, so negotiate checks neither Content-Type nor Accept.
func sourceFormats(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set("sourceFormat", true)
		return next(c)
	}
}

func sourceFormat(c echo.Context) bool { v, _ := c.Get("sourceFormat").(bool); return v }

// convert: POST [base]/$convert.
func (s *Server) convert(c echo.Context) error {
	format, inputs, err := sourcePayload(c)
	if err != nil {
		return err
	}
	res, err := ingest.Decode(format, inputs, s.cfg.Mappings)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, ingest.ConvertBundle(res))
}

// ingestSource: POST [base]/$ingest.
func (s *Server) ingestSource(c echo.Context) error {
	format, inputs, err := sourcePayload(c)
	if err != nil {
		return err
	}
	res, err := ingest.Decode(format, inputs, s.cfg.Mappings)
	if err != nil {
		return err
	}
	rep, err := ingest.Ingest(c.Request().Context(), s.svc, s.baseURL(c), format, res, nil)
	if err != nil {
		return err
	}
	s.cfg.Metrics.Ingested(format, rep.Stored, len(rep.Failed), len(rep.Rejects))
	return writeJSON(c, http.StatusOK, rep.Parameters())
}

// exportSource: GET Patient/[id]/$export-source.
func (s *Server) exportSource(c echo.Context) error {
	if err := onlyParams(c, "$export-source", "format", "hospcode", "typearea"); err != nil {
		return err
	}
	opts := ingest.ExportOptions{Options: s.cfg.Mappings, HospCode: c.QueryParam("hospcode"), TypeArea: c.QueryParam("typearea")}
	out, err := ingest.Export(c.Request().Context(), s.svc, s.baseURL(c), c.Param("id"), c.QueryParam("format"), opts)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": out.Filename}))
	for _, o := range out.Omissions {
		h.Add("Warning", `199 mekong `+strconv.QuoteToASCII(o.Resource+": "+o.Reason))
	}
	return c.Blob(http.StatusOK, out.ContentType, out.Body)
}

// sourcePayload reads the format parameter and the payload: the body as one
// file, or each file of a multipart/form-data body (a 43-file export sent as
// PERSON.txt, EPI.txt, ...). The format is checked first, so a wrong one is
// a 400 naming it whatever the body.
func sourcePayload(c echo.Context) (string, []ingest.Input, error) {
	if err := onlyParams(c, "$"+strings.TrimPrefix(c.Path(), "/fhir/$"), "format"); err != nil {
		return "", nil, err
	}
	format := c.QueryParam("format")
	if err := ingest.CheckFormat(format, ingest.Formats...); err != nil {
		return "", nil, err
	}
	req := c.Request()
	mt, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	var inputs []ingest.Input
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(req.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return "", nil, outcome.Invalid("the multipart body could not be read: %v", err)
			}
			if len(inputs) == maxParts {
				return "", nil, outcome.New(http.StatusRequestEntityTooLarge, outcome.CodeTooLong,
					"the multipart body has more than %d files; send at most %d (a 43-file export needs four)", maxParts, maxParts)
			}
			name := part.FileName()
			if name == "" {
				name = part.FormName()
			}
			data, err := io.ReadAll(part)
			if err != nil {
				return "", nil, err
			}
			if len(data) == 0 {
				continue // an empty part carries nothing (a form field left blank)
			}
			inputs = append(inputs, ingest.Input{Name: name, Data: data})
		}
	} else {
		data, err := io.ReadAll(req.Body)
		if err != nil {
			return "", nil, err
		}
		if len(data) > 0 {
			inputs = []ingest.Input{{Name: defaultName[format], Data: data}}
		}
	}
	if len(inputs) == 0 {
		return "", nil, outcome.Invalid("the request has no payload: send the %s export as the body", format)
	}
	if format == ingest.TH43 && len(inputs) == 1 && inputs[0].Name == defaultName[format] && !strings.HasPrefix(string(inputs[0].Data), "PK") {
		return "", nil, outcome.Invalid("a 43-file export is sent as a ZIP archive or as multipart/form-data files named PERSON.txt, EPI.txt, ...")
	}
	return format, inputs, nil
}

// maxParts bounds the files of one multipart upload: each is held in
// memory with its own bookkeeping, and no source export has more than a
// few dozen.
const maxParts = 100

// defaultName labels a single-file body in rejects.
var defaultName = map[string]string{
	ingest.IOMCSV: "iom.csv", ingest.IOMJSON: "iom.json", ingest.TH43: "th43.zip", ingest.DHIS2: "payload.json",
}

// onlyParams refuses a query parameter the operation does not take, or one
// given twice, naming it: $ingest?format=iom-csv&hospcode=x would otherwise
// store the rows as if the parameter had been read. _format and _pretty
// are everyone's.
func onlyParams(c echo.Context, op string, names ...string) error {
	for name, vals := range c.QueryParams() {
		if name == "_format" || name == "_pretty" {
			continue
		}
		if !slices.Contains(names, name) {
			return outcome.Invalid("%q is not a parameter of %s (%s)", name, op, strings.Join(names, ", ")).At(name)
		}
		if len(vals) > 1 {
			return outcome.Invalid("%s appears %d times; %s takes it once", name, len(vals), op).At(name)
		}
	}
	return nil
}
