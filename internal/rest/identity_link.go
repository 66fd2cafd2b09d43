package rest

import (
	"context"
	"net/http"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/store"
)

// IdentityLink: POST [base]/Patient/$identity-link with patient, other and
// reason. A pair waiting for review is confirmed; otherwise the two are
// linked by hand. Their sets become one, shown on every member's
// Patient.link. 409 when a steward decided that a member of one set and a
// member of the other are different people, or the set would exceed the
// configured size.
func (s *Service) IdentityLink(ctx context.Context, r Request) (*Response, error) {
	return s.stewardDecision(ctx, r, "identity-link", decisionConfirm, decisionLink,
		func(ctx context.Context, lt *linkTx, in *decisionIn, ex *store.Pair) error {
			ok, why, err := lt.joinable(ctx, in.a, in.b)
			if err != nil {
				return err
			}
			if !ok {
				return outcome.New(http.StatusConflict, outcome.CodeConflict, "Patient/%s and Patient/%s cannot be linked: %s", in.a, in.b, why)
			}
			lt.save(steward(ctx, ex, in, store.PairLinked))
			return nil
		})
}
