package server

import (
	"context"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/bulk"
)

// Bulk data operations (https://hl7.org/fhir/uv/bulkdata/export.html and
// the $import draft on the same async pattern,
// https://hl7.org/fhir/R4/async.html). The work is in package bulk; these
// handlers only read headers and write its responses.

var (
	exportOperation = operationDef{
		Name:       "export",
		Definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
		Doc:        "System-level bulk export (Prefer: respond-async): _type, _since, _outputFormat (NDJSON). Files are kept for --bulk-retention.",
		System:     true,
	}
	patientExportOperation = operationDef{
		Name:       "export",
		Definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
		Doc:        "Patient/$export: Patients and the Observations and Immunizations in their compartments; _type, _since, _outputFormat.",
		Types:      []string{"Patient"},
	}
	importOperation = operationDef{
		Name:       "import",
		Definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/import",
		Doc: "Bulk import (Prefer: respond-async): NDJSON body (application/fhir+ndjson, gzip allowed) or a Parameters resource with input urls " +
			"under --import-url-prefix. Validated like a create; re-importing the same data creates no duplicates and no new versions.",
		System: true,
	}
)

// bulkRoutes registers the bulk routes. They sit outside the FHIR
// content negotiation: $import takes NDJSON and files are served as NDJSON.
func (s *Server) bulkRoutes(f *fhirRoutes) {
	if s.cfg.Bulk == nil {
		return
	}
	r := s.reg
	r.operation(f, "GET", "/$export", exportOperation, s.bulkHandler(exportActions, func(ctx context.Context, c echo.Context, r bulk.Request) (*bulk.Response, error) {
		return s.cfg.Bulk.Export(ctx, r, false)
	}))
	r.operation(f, "GET", "/Patient/$export", patientExportOperation, s.bulkHandler(exportActions, func(ctx context.Context, c echo.Context, r bulk.Request) (*bulk.Response, error) {
		return s.cfg.Bulk.Export(ctx, r, true)
	}))
	r.operation(f, "POST", "/$import", importOperation, s.bulkHandler(importActions, func(ctx context.Context, c echo.Context, r bulk.Request) (*bulk.Response, error) {
		return s.cfg.Bulk.Import(ctx, r)
	}))
	f.Add("GET", "/$bulk-status/:job", s.bulkHandler(exportActions, func(ctx context.Context, c echo.Context, r bulk.Request) (*bulk.Response, error) {
		return s.cfg.Bulk.Status(ctx, r.Base, c.Param("job"))
	}))
	f.Add("DELETE", "/$bulk-status/:job", s.bulkHandler(exportActions, func(ctx context.Context, c echo.Context, r bulk.Request) (*bulk.Response, error) {
		return s.cfg.Bulk.Cancel(ctx, c.Param("job"))
	}))
	f.Add("GET", "/$bulk-file/:job/:file", s.bulkHandler(exportActions, func(ctx context.Context, c echo.Context, r bulk.Request) (*bulk.Response, error) {
		return s.cfg.Bulk.File(ctx, c.Param("job"), c.Param("file"))
	}))
}

type bulkFunc func(context.Context, echo.Context, bulk.Request) (*bulk.Response, error)

// The SMART actions a bulk route needs on every type: an import creates and
// updates; an export, its status and its files read and search.
var (
	importActions = []auth.Action{auth.Create, auth.Update}
	exportActions = []auth.Action{auth.Read, auth.Search}
)

func (s *Server) bulkHandler(need []auth.Action, fn bulkFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if err := s.svc.AuthorizeBulk(req.Context(), need...); err != nil {
			return err
		}
		base := s.baseURL(c)
		r := bulk.Request{
			Base:        base,
			URL:         strings.TrimSuffix(base, "/fhir") + req.URL.RequestURI(),
			Async:       preferAsync(req.Header.Values("Prefer")),
			Query:       c.QueryParams(),
			ContentType: req.Header.Get("Content-Type"),
			Body:        req.Body,
		}
		if s.cfg.BaseURL != "" {
			r.URL = base + strings.TrimPrefix(req.URL.RequestURI(), "/fhir")
		}
		res, err := fn(req.Context(), c, r)
		if err != nil {
			return err
		}
		for k, vs := range res.Header {
			for _, v := range vs {
				c.Response().Header().Add(k, v)
			}
		}
		if res.Body == nil {
			return c.NoContent(res.Status)
		}
		return c.Blob(res.Status, res.ContentType, res.Body)
	}
}

// preferAsync reports Prefer: respond-async (https://hl7.org/fhir/R4/async.html).
func preferAsync(h []string) bool {
	for _, line := range h {
		for _, tok := range strings.Split(line, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "respond-async") {
				return true
			}
		}
	}
	return false
}
