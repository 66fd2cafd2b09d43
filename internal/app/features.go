package app

import (
	"context"
	"net/url"

	"github.com/mekong-fhir/mekong/internal/rest"
)

// The page's parts that other streams' interactions enable (CONTRACTS §2,
// issue 12) are found on the service at start: when rest.Service has the
// method, the part appears, with no change here.

// covidValueSet limits the card to COVID-19 vaccinations: what border
// checks ask for, and what fits one QR code (a card is never split).
const covidValueSet = "https://terminology.smarthealth.cards/ValueSet/immunization-covid-all"

// cardIssuer is the SMART Health Card issuer ($health-card-qr: the card as
// a PNG QR code).
type cardIssuer interface {
	HealthCardQR(ctx context.Context, r rest.Request) (*rest.Response, error)
}

// summarizer is the IPS Patient/$summary.
type summarizer interface {
	Summary(ctx context.Context, r rest.Request) (*rest.Response, error)
}

// enabler says whether an optional part is switched on by configuration
// (HealthCardsEnabled); parts without it are always on when present.
type cardsEnabled interface{ HealthCardsEnabled() bool }

// linker is the identity service's linked set.
type linker interface {
	LinkedSet(ctx context.Context, patientID string) ([]string, error)
}

// hasCard reports whether the vaccination card is offered now: issued by
// the service and, where it says, enabled.
func (a *App) hasCard() bool {
	if a.cfg.Documents.Card == nil {
		return false
	}
	if e, ok := any(a.svc).(cardsEnabled); ok && a.cardFromService {
		return e.HealthCardsEnabled()
	}
	return true
}

// detectFeatures fills the documents the service offers and the caller
// did not set.
func (a *App) detectFeatures() {
	var svc any = a.svc
	if ci, ok := svc.(cardIssuer); ok && a.cfg.Documents.Card == nil {
		a.cardFromService = true
		a.cfg.Documents.Card = func(ctx context.Context, base, id, since string) (*Card, error) {
			q := url.Values{"credentialType": {"Immunization"}, "credentialValueSet": {covidValueSet}, "_scale": {"4"}}
			if since != "" {
				q.Set("_since", since)
			}
			res, err := ci.HealthCardQR(ctx, rest.Request{Base: base, Type: "Patient", ID: id, Query: q})
			if err != nil {
				return nil, err
			}
			return &Card{QRs: [][]byte{res.Body}}, nil
		}
	}
	if sm, ok := svc.(summarizer); ok && a.cfg.Documents.Summary == nil {
		a.cfg.Documents.Summary = func(ctx context.Context, base, id string) ([]byte, error) {
			res, err := sm.Summary(ctx, rest.Request{Base: base, Type: "Patient", ID: id, Query: url.Values{}})
			if err != nil {
				return nil, err
			}
			return res.Body, nil
		}
	}
	if l, ok := svc.(linker); ok {
		a.links = l
	}
}
