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
	in, err := s.decisionInput(ctx, r, "identity-link")
	if err != nil {
		return nil, err
	}
	kind := decisionLink
	var stats LinkStats
	err = s.identityTransaction(ctx, &stats, func(ctx context.Context, lt *linkTx) error {
		if err := lt.touch(ctx, in.a, in.b); err != nil {
			return err
		}
		ex, err := lt.pairOf(ctx, in.a, in.b)
		if err != nil {
			return err
		}
		kind = decisionLink
		if ex != nil && ex.State == store.PairReview {
			kind = decisionConfirm
		}
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
	if err != nil {
		return nil, err
	}
	return s.decisionResponse(ctx, r, in, kind, stats)
}
