package server

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/metrics"
	"github.com/mekong-fhir/mekong/internal/tracing"
)

// interactionKey lets a handler name its interaction when the route alone
// cannot: POST [base] is a batch or a transaction by the Bundle's type.
const interactionKey = "fhir.interaction"

// observe records each FHIR request in the metrics, and on its trace span
// when tracing is on, by interaction, type and status class: labels from
// the route pattern, never from the URL, whose ids and query values
// identify patients.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !strings.HasPrefix(c.Path(), "/fhir") && !strings.HasPrefix(c.Request().URL.Path, "/fhir") {
			return next(c)
		}
		done := s.cfg.Metrics.Started()
		t0 := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		done()
		info := s.routeInfo(c)
		tracing.Annotate(c.Request().Context(), c.Request().Method, c.Path(), info.interaction, info.typ, info.operation)
		s.cfg.Metrics.ObserveRequest(metrics.Request{Interaction: info.interaction, Type: info.typ,
			Operation: info.operation, Status: c.Response().Status, Duration: time.Since(t0)})
		return nil
	}
}

// routeInfo is what the request's route serves. The type label is the
// route's own type or a served type named in the path; an unknown type
// adds no label value, so no client can grow the series.
func (s *Server) routeInfo(c echo.Context) routeInfo {
	method := c.Request().Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	info, ok := s.reg.routes[method+" "+c.Path()]
	switch {
	case ok:
	case c.Path() == "/fhir/metadata":
		info.interaction = "capabilities"
	case strings.Contains(c.Path(), "/$bulk-"):
		info = routeInfo{interaction: "operation", operation: strings.TrimPrefix(strings.Split(c.Path(), "/")[2], "$")}
	default:
		info.interaction = "other"
	}
	if v, ok := c.Get(interactionKey).(string); ok {
		info.interaction = v
	}
	if t := c.Param("type"); t != "" && info.typ == "" && s.served[t] {
		info.typ = t
	}
	return info
}

// serveMetrics answers GET /metrics on the API's own address to a bearer
// token carrying the scope mekong/metrics; --metrics-addr serves them
// without a token on an address of their own (internal/cli/serve.go).
func (s *Server) serveMetrics(c echo.Context) error {
	credential, err := oneCredential(c.Request())
	if err != nil {
		return err
	}
	p, err := s.auth.Authenticate(c.Request().Context(), credential)
	if err != nil {
		return unauthorized(err)
	}
	if !p.Unauthenticated && !slices.Contains(p.RawScopes, auth.MetricsScope) {
		return outcome.New(http.StatusForbidden, outcome.CodeForbidden, "GET /metrics needs the scope %s", auth.MetricsScope).
			WithHeader("WWW-Authenticate", `Bearer realm="mekong", error="insufficient_scope", scope="`+auth.MetricsScope+`"`)
	}
	s.cfg.Metrics.Handler().ServeHTTP(c.Response(), c.Request())
	return nil
}
