package rest

import (
	"context"
	"net/http"
	"strconv"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/healthcard"
)

// HealthCardsIssue: POST Patient/[id]/$health-cards-issue
// (https://hl7.org/fhir/uv/smart-health-cards-and-links/OperationDefinition-patient-i-health-cards-issue.html).
// Answers a Parameters with one verifiableCredential per card and a
// resourceLink per bundled resource; a Parameters without parameters when
// there is nothing to put in a card. The caller needs read on the Patient
// and search on the types of the card; what it may not see is not
// considered, and HIV and TB results never go in a card.
func (s *Service) HealthCardsIssue(ctx context.Context, r Request) (*Response, error) {
	req, err := parseCardRequest(r.Body, nil)
	if err != nil {
		return nil, err
	}
	cards, err := s.issueCards(ctx, r, req)
	if err != nil {
		return nil, err
	}
	type part struct {
		Name         string `json:"name"`
		ValueInteger *int   `json:"valueInteger,omitempty"`
		ValueURI     string `json:"valueUri,omitempty"`
	}
	type param struct {
		Name        string `json:"name"`
		ValueString string `json:"valueString,omitempty"`
		Part        []part `json:"part,omitempty"`
	}
	out := struct {
		ResourceType string  `json:"resourceType"`
		Parameter    []param `json:"parameter,omitempty"`
	}{ResourceType: "Parameters"}
	for _, c := range cards {
		out.Parameter = append(out.Parameter, param{Name: "verifiableCredential", ValueString: c.JWS})
	}
	for i, c := range cards {
		for _, l := range c.Links {
			idx := i
			out.Parameter = append(out.Parameter, param{Name: "resourceLink", Part: []part{
				{Name: "vcIndex", ValueInteger: &idx},
				{Name: "bundledResource", ValueURI: l.Bundled},
				{Name: "hostedResource", ValueURI: r.Base + "/" + l.Hosted},
			}})
		}
	}
	body, _ := fhirjson.Marshal(out)
	return &Response{Status: http.StatusOK, Body: body}, nil
}

// HealthCardQR: GET Patient/[id]/$health-card-qr?credentialType=... (a
// Mekong operation): the card $health-cards-issue would give, as a PNG QR
// code (byte segment shc:/, numeric segment, error correction L, version 22
// at most). The request must come to exactly one card.
func (s *Service) HealthCardQR(ctx context.Context, r Request) (*Response, error) {
	req, err := parseCardRequest(nil, r.Query)
	if err != nil {
		return nil, err
	}
	scale := 4
	if v := r.Query.Get("_scale"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			return nil, outcome.Invalid("_scale %q must be a whole number of pixels per module from 1 to 20", v).At("_scale")
		}
		scale = n
	}
	cards, err := s.issueCards(ctx, r, req)
	if err != nil {
		return nil, err
	}
	switch len(cards) {
	case 0:
		return nil, outcome.NotFound("Patient/%s has nothing this card could hold (no data of the asked credentialType that may go in a card)", r.ID)
	case 1:
	default:
		return nil, outcome.Invalid("the request gives %d cards (vaccinations and test results are separate cards); name one credentialType, e.g. Immunization", len(cards)).At("credentialType")
	}
	png, err := healthcard.QRPNG(cards[0].JWS, scale)
	if err != nil {
		return nil, err
	}
	return &Response{Status: http.StatusOK, Body: png}, nil
}
