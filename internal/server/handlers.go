package server

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/rest"
)

func (s *Server) baseURL(c echo.Context) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimRight(s.cfg.BaseURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host + "/fhir"
}

// request reads the parts of an HTTP request every interaction may use.
func (s *Server) request(c echo.Context) (rest.Request, error) {
	req := c.Request()
	r := rest.Request{
		Base:        s.baseURL(c),
		Type:        c.Param("type"),
		ID:          c.Param("id"),
		IfMatch:     req.Header.Get("If-Match"),
		IfNoneMatch: req.Header.Get("If-None-Match"),
		IfNoneExist: req.Header.Get("If-None-Exist"),
		Query:       c.QueryParams(),
	}
	if vid := c.Param("vid"); vid != "" {
		n, err := strconv.ParseInt(vid, 10, 64)
		if err != nil || n < 1 {
			return r, outcome.NotFound("version %q does not exist: versions are numbered from 1", vid)
		}
		r.VersionID = n
	}
	r.Strict = preferStrict(req.Header.Values("Prefer"))
	if isSearchPost(c) {
		// POST _search: the form body and the URL's parameters together
		// (https://hl7.org/fhir/R4/http.html#search).
		if err := req.ParseForm(); err != nil {
			return r, outcome.Invalid("the _search form body could not be read: %v", err)
		}
		r.Query = req.Form
		return r, nil
	}
	if hasBody(req) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return r, err
		}
		r.Body = body
		r.ContentType, _, _ = mime.ParseMediaType(req.Header.Get("Content-Type"))
	}
	return r, nil
}

type interaction func(context.Context, rest.Request) (*rest.Response, error)

// handle is the shape of every FHIR handler: read the request, run one
// interaction, write its response.
func (s *Server) handle(c echo.Context, fn interaction) error {
	r, err := s.request(c)
	if err != nil {
		return err
	}
	if p := auth.FromContext(c.Request().Context()); p != nil {
		r.Tenant = p.Organization // written data belongs to the caller's organization
	}
	res, err := fn(c.Request().Context(), r)
	if err != nil {
		return err
	}
	return s.respond(c, res)
}

func (s *Server) respond(c echo.Context, res *rest.Response) error {
	h := c.Response().Header()
	if v := res.Version; v != nil {
		h.Set("ETag", rest.ETag(v))
		h.Set("Last-Modified", rest.LastModified(v))
	}
	if res.Location != "" {
		h.Set("Location", res.Location)
	}
	// Prefer: return=... (https://hl7.org/fhir/R4/http.html#ops); with no
	// resource to return (delete, $validate) the OperationOutcome is the answer.
	var body []byte
	switch pref := parsePrefer(c.Request().Header.Values("Prefer")).ret; {
	case pref == "minimal":
	case pref == "OperationOutcome":
		body = outcome.JSON(res.Issues)
	case res.Body != nil:
		body = res.Body
	case res.Issues != nil:
		body = outcome.JSON(res.Issues)
	}
	if body == nil || c.Request().Method == http.MethodHead {
		return c.NoContent(res.Status)
	}
	return writeJSON(c, res.Status, body)
}

func (s *Server) create(c echo.Context) error          { return s.handle(c, s.svc.Create) }
func (s *Server) update(c echo.Context) error          { return s.handle(c, s.svc.Update) }
func (s *Server) delete(c echo.Context) error          { return s.handle(c, s.svc.Delete) }
func (s *Server) patch(c echo.Context) error           { return s.handle(c, s.svc.Patch) }
func (s *Server) vread(c echo.Context) error           { return s.handle(c, s.svc.VRead) }
func (s *Server) validate(c echo.Context) error        { return s.handle(c, s.svc.Validate) }
func (s *Server) historyInstance(c echo.Context) error { return s.handle(c, s.svc.History) }
func (s *Server) historyType(c echo.Context) error     { return s.handle(c, s.svc.History) }
func (s *Server) historySystem(c echo.Context) error   { return s.handle(c, s.svc.History) }
func (s *Server) search(c echo.Context) error          { return s.handle(c, s.svc.Search) }
func (s *Server) bundle(c echo.Context) error {
	return s.handle(c, func(ctx context.Context, r rest.Request) (*rest.Response, error) {
		res, err := s.svc.Bundle(ctx, r)
		// The route serves batch and transaction; the answer's type tells
		// the metrics which this was.
		if res != nil && bytes.Contains(res.Body[:min(len(res.Body), 256)], []byte(`"type":"batch-response"`)) {
			c.Set(interactionKey, "batch")
		}
		return res, err
	})
}
func (s *Server) everything(c echo.Context) error { return s.handle(c, s.svc.Everything) }

// conditionalUpdate is PUT [type]?criteria; without criteria it is a PUT
// that forgot its id.
func (s *Server) conditionalUpdate(c echo.Context) error {
	if len(c.QueryParams()) == 0 {
		return outcome.New(http.StatusMethodNotAllowed, outcome.CodeNotSupported,
			"PUT needs an id (PUT /%s/[id]) or search criteria (PUT /%s?identifier=...)", c.Param("type"), c.Param("type"))
	}
	return s.handle(c, s.svc.ConditionalUpdate)
}

// conditionalDelete is DELETE [type]?criteria.
func (s *Server) conditionalDelete(c echo.Context) error {
	if len(c.QueryParams()) == 0 {
		return outcome.New(http.StatusMethodNotAllowed, outcome.CodeNotSupported,
			"DELETE needs an id (DELETE /%s/[id]) or search criteria (DELETE /%s?identifier=...)", c.Param("type"), c.Param("type"))
	}
	return s.handle(c, s.svc.ConditionalDelete)
}

// conditionalPatch is PATCH [type]?criteria.
func (s *Server) conditionalPatch(c echo.Context) error {
	if len(c.QueryParams()) == 0 {
		return outcome.New(http.StatusMethodNotAllowed, outcome.CodeNotSupported,
			"PATCH needs an id (PATCH /%s/[id]) or search criteria (PATCH /%s?identifier=...)", c.Param("type"), c.Param("type"))
	}
	return s.handle(c, s.svc.ConditionalPatch)
}

func isSearchPost(c echo.Context) bool {
	return c.Request().Method == http.MethodPost && strings.HasSuffix(c.Path(), "/_search")
}

// read also answers a conditional read: If-None-Match with the current ETag is 304.
func (s *Server) read(c echo.Context) error {
	return s.handle(c, func(ctx context.Context, r rest.Request) (*rest.Response, error) {
		res, err := s.svc.Read(ctx, r)
		if err != nil {
			return nil, err
		}
		if inm := r.IfNoneMatch; inm != "" && res.Version != nil && strings.TrimSpace(inm) == rest.ETag(res.Version) {
			return &rest.Response{Status: http.StatusNotModified, Version: res.Version}, nil
		}
		return res, nil
	})
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports whether the database answers, for load balancers.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return outcome.New(http.StatusServiceUnavailable, outcome.CodeTransient, "the database is not reachable")
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
