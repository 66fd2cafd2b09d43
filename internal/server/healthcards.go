package server

import (
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/healthcard"
)

// SMART Health Cards (https://hl7.org/fhir/uv/smart-health-cards-and-links/cards-specification.html).
var (
	healthCardsIssueOperation = operationDef{
		Name:       "health-cards-issue",
		Definition: "http://hl7.org/fhir/uv/smart-health-cards-and-links/OperationDefinition/patient-i-health-cards-issue",
		Types:      []string{"Patient"},
		Doc: "POST Patient/[id]/$health-cards-issue with a Parameters (credentialType Immunization, Observation or the legacy " +
			"https://smarthealth.cards#immunization, #laboratory, #covid19; credentialValueSet; includeIdentityClaim; _since): " +
			"verifiableCredential (compact JWS, ES256, zip DEF) and resourceLink. Laboratory cards hold SARS-CoV-2 results only, " +
			"never HIV or TB results; a card that would not fit one QR code is a 422 suggesting _since.",
	}
	healthCardQROperation = operationDef{
		Name: "health-card-qr", Definition: opBase + "Patient-health-card-qr", Types: []string{"Patient"},
		Doc: "GET Patient/[id]/$health-card-qr?credentialType=...: the card $health-cards-issue would give, as a PNG QR code " +
			"(byte segment shc:/, numeric segment, error correction L, version 22 at most). _scale sets pixels per module.",
	}
	importHealthCardOperation = operationDef{
		Name: "import-health-card", Definition: opBase + "import-health-card", System: true,
		Doc: "POST [base]/$import-health-card with a Parameters (verifiableCredential: the compact JWS or its shc:/ QR content) or a " +
			".smart-health-card file (application/smart-health-card) holding one card. The card is verified as mekong verify-card does " +
			"(signature, expiry, revocation, trusted issuer: this server's and --trusted-issuers); a card that fails is a 4xx naming why, " +
			"and nothing is stored. Its Patient is the one an earlier import created, a certain match of the identity matcher, or a new " +
			"Patient when nothing matches; probable or possible matches only are a 422 listing them, nothing stored. Immunizations and " +
			"Observations are stored as the card has them, by conditional creates on identifiers derived from the card, with a Provenance " +
			"naming the issuer and the card: importing again changes nothing. Needs create and search on Patient, Immunization and " +
			"Observation. Answers a Parameters: result, issuer, card, verification, holder, resource, skipped, provenance.",
	}
	healthCardsRevokeOperation = operationDef{
		Name: "health-cards-revoke", Definition: opBase + "Patient-health-cards-revoke", Types: []string{"Patient"},
		Doc: "POST Patient/[id]/$health-cards-revoke (scope mekong/admin): revokes every card issued to the patient so far; " +
			"the revocation lists at [issuer]/.well-known/crl/[kid].json list its rid with the time. Audited.",
	}
)

// healthCardRoutes registers the card operations under the FHIR base, and
// the issuer's public documents (JWKS, revocation lists) at
// [issuer]/.well-known/: both /.well-known/ and /fhir/.well-known/ serve
// them, so an issuer URL of https://host or https://host/fhir works.
func (s *Server) healthCardRoutes(f, png *fhirRoutes) {
	if !s.svc.HealthCardsEnabled() {
		return
	}
	r := s.reg
	r.operation(f, "POST", "/:type/:id/$health-cards-issue", healthCardsIssueOperation, s.healthCardsIssue)
	r.operation(png, "GET", "/:type/:id/$health-card-qr", healthCardQROperation, s.healthCardQR)
	r.operation(f, "POST", "/:type/:id/$health-cards-revoke", healthCardsRevokeOperation, s.healthCardsRevoke)
	r.operation(&fhirRoutes{e: f.e, prefix: f.prefix, mw: append([]echo.MiddlewareFunc{cardFile}, f.mw...)},
		"POST", "/$import-health-card", importHealthCardOperation, s.importHealthCard)
	for _, prefix := range []string{"", "/fhir"} {
		s.e.GET(prefix+"/.well-known/jwks.json", s.healthCardJWKS, publicCORS)
		s.e.GET(prefix+"/.well-known/crl/:file", s.healthCardCRL, publicCORS)
	}
}

// publicCORS lets any web page fetch the issuer's keys and revocation lists
// (the specification requires CORS on jwks.json).
func publicCORS(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Access-Control-Allow-Origin", "*")
		return next(c)
	}
}

// cardFile lets $import-health-card take a .smart-health-card file as it is
// downloaded (cards-specification.md, "via File Download": media type
// application/smart-health-card); any other body is checked as FHIR JSON.
func cardFile(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if mt, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type")); mt == healthcard.FileContentType {
			c.Set("sourceFormat", true) // negotiate: the body is not FHIR JSON
		}
		return next(c)
	}
}

func (s *Server) importHealthCard(c echo.Context) error { return s.handle(c, s.svc.ImportHealthCard) }

func (s *Server) healthCardsIssue(c echo.Context) error { return s.handle(c, s.svc.HealthCardsIssue) }

func (s *Server) healthCardsRevoke(c echo.Context) error { return s.handle(c, s.svc.HealthCardsRevoke) }

func (s *Server) healthCardQR(c echo.Context) error {
	r, err := s.request(c)
	if err != nil {
		return err
	}
	res, err := s.svc.HealthCardQR(c.Request().Context(), r)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", res.Body)
}

func (s *Server) healthCardJWKS(c echo.Context) error {
	body, err := s.svc.HealthCardJWKS(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "max-age=300")
	return c.Blob(http.StatusOK, "application/json", body)
}

func (s *Server) healthCardCRL(c echo.Context) error {
	kid, ok := strings.CutSuffix(c.Param("file"), ".json")
	if !ok {
		return outcome.NotFound("no revocation list %q: the lists are /.well-known/crl/<kid>.json", c.Param("file"))
	}
	body, err := s.svc.HealthCardCRL(c.Request().Context(), kid)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, "application/json", body)
}
