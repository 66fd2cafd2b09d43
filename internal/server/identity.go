package server

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/internal/rest"
)

// Identity operations (issue 11): Patient/$match and an identity steward's
// review queue and decisions. Each operation's logic is in its own file of
// package rest (identity_match.go, identity_link.go, identity_unlink.go,
// identity_review.go), its definition in internal/definitions/operations.
var (
	matchOperation = operationDef{
		Name: "match", Definition: opBase + "Patient-match", Types: []string{"Patient"},
		Doc: "POST Patient/$match with a Parameters (resource: a Patient, onlyCertainMatches, count 1-100, default 10) or a bare Patient: " +
			"a searchset Bundle of the Patients the token may search that match, best first, with search.score and the match-grade " +
			"extension. Candidates come from stored blocking keys (identifiers, cross-script name keys, birth year).",
	}
	identityLinkOperation = operationDef{
		Name: "identity-link", Definition: opBase + "Patient-identity-link", Types: []string{"Patient"},
		Doc: "POST Patient/$identity-link (scope mekong/identity) with patient, other, reason: confirm a queued pair or link two " +
			"Patients by hand; the sets become one, shown as Patient.link seealso on every member. Never changed by the matcher.",
	}
	identityUnlinkOperation = operationDef{
		Name: "identity-unlink", Definition: opBase + "Patient-identity-unlink", Types: []string{"Patient"},
		Doc: "POST Patient/$identity-unlink (scope mekong/identity) with patient, other, reason: reject a queued pair or unlink; " +
			"the two are never linked again by the matcher, even after the sources send them again.",
	}
	identityReviewOperation = operationDef{
		Name: "identity-review", Definition: opBase + "Patient-identity-review", Types: []string{"Patient"},
		Doc: "GET Patient/$identity-review or Patient/[id]/$identity-review (scope mekong/identity): the probable matches " +
			"waiting for a steward, best first, paged (_count 1-100), each with score, grade and evidence.",
	}
)

// onPatient runs a type-level Patient operation served on a static path
// (no :type parameter to read the type from).
func onPatient(fn interaction) interaction {
	return func(ctx context.Context, r rest.Request) (*rest.Response, error) {
		r.Type = "Patient"
		return fn(ctx, r)
	}
}

func (s *Server) match(c echo.Context) error { return s.handle(c, onPatient(s.svc.Match)) }
func (s *Server) identityLink(c echo.Context) error {
	return s.handle(c, onPatient(s.svc.IdentityLink))
}
func (s *Server) identityUnlink(c echo.Context) error {
	return s.handle(c, onPatient(s.svc.IdentityUnlink))
}
func (s *Server) identityReview(c echo.Context) error {
	return s.handle(c, onPatient(s.svc.IdentityReview))
}
