package server

import "github.com/labstack/echo/v4"

// routes lists every path the server answers. Each FHIR route is registered
// through the registry so the CapabilityStatement states exactly what is
// served (https://hl7.org/fhir/R4/capabilitystatement.html).
func (s *Server) routes() {
	e := s.e
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	// Prometheus metrics (metrics.go), outside /fhir: to tokens with the scope
	// mekong/metrics here; --metrics-addr serves them on an address of their own.
	if s.cfg.Metrics != nil {
		e.GET("/metrics", s.serveMetrics)
	}

	// Middleware is attached per route, not to a Group: an echo Group with
	// middleware adds a catch-all route that would turn 405s into 404s.
	// /metadata and the SMART configuration are public; everything else
	// needs a verified token and is rate limited per client.
	public := &fhirRoutes{e: e, prefix: "/fhir", mw: []echo.MiddlewareFunc{s.negotiate}}
	public.Add("GET", "/metadata", s.metadata)
	e.GET("/.well-known/smart-configuration", s.smartConfiguration)
	e.GET("/fhir/.well-known/smart-configuration", s.smartConfiguration)
	f := &fhirRoutes{e: e, prefix: "/fhir", mw: []echo.MiddlewareFunc{s.negotiate, s.authenticate, s.throttle}}

	r := s.reg
	r.system(f, "GET", "/_history", "history-system", s.historySystem)
	r.system(f, "POST", "", "transaction", s.bundle, "batch")
	r.system(f, "GET", "", "search-system", s.search)
	r.system(f, "POST", "/_search", "search-system", s.search)

	r.typ(f, "POST", "/:type", "create", s.create)
	r.typ(f, "GET", "/:type", "search-type", s.search)
	r.typ(f, "POST", "/:type/_search", "search-type", s.search)
	r.typ(f, "PUT", "/:type", "update", s.conditionalUpdate)
	r.typ(f, "DELETE", "/:type", "delete", s.conditionalDelete)
	r.typ(f, "PATCH", "/:type", "patch", s.conditionalPatch)
	r.typ(f, "GET", "/:type/_history", "history-type", s.historyType)
	r.operation(f, "POST", "/:type/$validate", validateOperation, s.validate)

	r.instance(f, "GET", "/:type/:id", "read", s.read)
	r.instance(f, "PUT", "/:type/:id", "update", s.update)
	r.instance(f, "DELETE", "/:type/:id", "delete", s.delete)
	r.instance(f, "PATCH", "/:type/:id", "patch", s.patch)
	r.instance(f, "GET", "/:type/:id/_history", "history-instance", s.historyInstance)
	r.instance(f, "GET", "/:type/:id/_history/:vid", "vread", s.vread)
	r.operation(f, "GET", "/:type/:id/$everything", everythingOperation, s.everything)
	// International Patient Summary (summary.go): instance and type level (by identifier), GET and POST.
	r.operation(f, "GET", "/:type/:id/$summary", summaryOperation, s.summary)
	r.operation(f, "POST", "/:type/:id/$summary", summaryOperation, s.summary)
	r.operation(f, "GET", "/:type/$summary", summaryOperation, s.summary)
	r.operation(f, "POST", "/:type/$summary", summaryOperation, s.summary)
	s.bulkRoutes(&fhirRoutes{e: e, prefix: "/fhir", mw: []echo.MiddlewareFunc{s.authenticate, s.throttle}})

	// Identity (identity.go): $match, and the steward's review queue and
	// decisions. Static paths beat /:type and /:type/:id, so they coexist.
	if s.svc.IdentityEnabled() {
		r.operation(f, "POST", "/Patient/$match", matchOperation, s.match)
		r.operation(f, "POST", "/Patient/$identity-link", identityLinkOperation, s.identityLink)
		r.operation(f, "POST", "/Patient/$identity-unlink", identityUnlinkOperation, s.identityUnlink)
		r.operation(f, "GET", "/Patient/$identity-review", identityReviewOperation, s.identityReview)
		f.Add("GET", "/Patient/:id/$identity-review", s.identityReview)
	}

	// Source-system mappings (sources.go): their bodies and answers are CSV,
	// ZIP or tracker JSON, so sourceFormats lifts the FHIR JSON checks.
	src := &fhirRoutes{e: e, prefix: "/fhir", mw: []echo.MiddlewareFunc{sourceFormats, s.negotiate, s.authenticate, s.throttle}}
	r.operation(src, "POST", "/$convert", convertOperation, s.convert)
	r.operation(src, "POST", "/$ingest", ingestOperation, s.ingestSource)
	r.operation(src, "GET", "/Patient/:id/$export-source", exportSourceOperation, s.exportSource)
	// ConceptMap, OperationDefinition and StructureDefinition, read-only from memory
	// (definitions.go); static paths beat /:type, so they coexist with the
	// stored types' routes above.
	for _, t := range s.defs.Types() {
		s.definitionRoutes(f, t)
	}
	r.operation(f, "GET", "/ConceptMap/$translate", translateOperation, s.translate)
	r.operation(f, "POST", "/ConceptMap/$translate", translateOperation, s.translate)
	r.operation(f, "GET", "/ConceptMap/:id/$translate", translateOperation, s.translate)
	r.operation(f, "POST", "/ConceptMap/:id/$translate", translateOperation, s.translate)

	// SMART Health Cards (healthcards.go): issue, QR (a PNG answer, so the
	// FHIR format checks are lifted), revoke, import; the issuer's JWKS and
	// revocation lists are public, outside the FHIR middleware.
	s.healthCardRoutes(f, &fhirRoutes{e: e, prefix: "/fhir", mw: []echo.MiddlewareFunc{sourceFormats, s.negotiate, s.authenticate, s.throttle}})
	// Unknown paths get echo's 404 and a wrong method its 405; handleError
	// renders both as OperationOutcomes.

	// The clinic page (internal/app): HTML at /app, calling the same
	// interactions as the routes above, audited by auditTrail like them.
	if s.cfg.App != nil {
		s.cfg.App.Routes(e)
	}
}

// fhirRoutes adds routes under the FHIR base with the FHIR middleware.
type fhirRoutes struct {
	e      *echo.Echo
	prefix string
	mw     []echo.MiddlewareFunc
}

func (f *fhirRoutes) Add(method, path string, h echo.HandlerFunc) {
	f.e.Add(method, f.prefix+path, h, f.mw...)
}
