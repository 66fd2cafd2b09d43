package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/healthcard"
	"github.com/mekong-fhir/mekong/internal/store"
)

// ImportHealthCard: POST [base]/$import-health-card (a Mekong operation:
// the cards specification defines issuing and verifying, not storing). The
// input is one card: a Parameters with verifiableCredential (valueString:
// the compact JWS, or the shc:/ content of its QR code; several shc:/
// chunks of one old chunked card may be given), or the .smart-health-card
// file itself (application/smart-health-card, or JSON with a top-level
// verifiableCredential) holding one card.
//
// The card is verified as mekong verify-card verifies it (signature,
// expiry, revocation, trusted issuer: this server's own cards and the
// --trusted-issuers); a card that fails is refused with the reason and
// nothing is stored. Its holder is found among the Patients the caller may
// search: the Patient an earlier import of this issuer's card for these
// identity claims created (its healthcard.HolderSystem identifier), or the
// identity matcher's certain match (several certain matches must be one
// linked set). Probable or possible matches only: a 422 listing them, and
// nothing stored. No match at all: the Patient is created from the card.
// The card's Immunizations and Observations are then stored with their
// codes as the card has them, each by a conditional create on its
// healthcard.EntrySystem identifier, with a Provenance naming the issuer
// and the card, in one transaction: importing a card again changes nothing.
//
// The caller needs create and search on Patient, Immunization and
// Observation (whatever the card holds, so the answer to a token does not
// depend on the card). Answers a Parameters summarising what was stored.
func (s *Service) ImportHealthCard(ctx context.Context, r Request) (*Response, error) {
	if _, err := s.cardService(); err != nil {
		return nil, err
	}
	// One event for the operation, whatever its end (the writes have their
	// own), naming it and the holder; without it a refusal would be recorded
	// as a transaction.
	ev := audit.Event{Action: audit.ActionExecute, Interaction: "operation", Query: "$import-health-card"}
	defer func() { audit.Note(ctx, ev) }()
	for _, typ := range importTypes {
		if _, err := s.authorize(ctx, typ, auth.Create); err != nil {
			return nil, err
		}
		if err := authorizeMatch(ctx, typ); err != nil {
			return nil, err
		}
	}
	jws, err := importInput(r)
	if err != nil {
		return nil, err
	}
	res := s.Verifier(r.Base).Verify(ctx, jws)
	if err := refusal(res); err != nil {
		return nil, err
	}
	contents, err := healthcard.ReadContents(res.Issuer, res.JWS.Raw, res.Bundle(), func(typ string) bool { return typ == "Immunization" || typ == "Observation" })
	if err != nil {
		return nil, outcome.Unprocessable(outcome.CodeStructure, "the card verifies, but %v; nothing was imported", err).At("verifiableCredential")
	}
	if len(contents.Items) == 0 {
		why := make([]string, len(contents.Skipped))
		for i, sk := range contents.Skipped {
			why[i] = sk.FullURL + " (" + sk.Type + "): " + sk.Reason
		}
		return nil, outcome.Unprocessable(outcome.CodeNotSupported, "the card holds no Immunization or Observation about its Patient to import%s; nothing was imported",
			strings.Join(append([]string{""}, why...), "; ")).At("verifiableCredential")
	}
	holder, err := s.cardHolder(ctx, r, res, contents)
	if holder != nil && holder.id != "" {
		ev.Patients = []string{holder.id}
	}
	if err != nil {
		return nil, err
	}
	if holder.how == "issued-here" {
		// What the card holds was read from this server's records of this
		// person: storing it again would duplicate them.
		return &Response{Status: http.StatusOK, Body: (&cardImport{patientID: holder.id}).parameters(res, contents, holder)}, nil
	}
	done, err := s.storeCard(ctx, r, res, contents, holder)
	if err != nil {
		return nil, err
	}
	ev.Patients = []string{done.patientID}
	return &Response{Status: http.StatusOK, Body: done.parameters(res, contents, holder)}, nil
}

// importTypes are the types an import may write.
var importTypes = []string{"Patient", "Immunization", "Observation"}

// importInput finds the one card in the request.
func importInput(r Request) (string, error) {
	const param = "verifiableCredential"
	var inputs [][]byte
	var head struct {
		ResourceType string          `json:"resourceType"`
		VC           json.RawMessage `json:"verifiableCredential"`
		Parameter    []struct {
			Name        string  `json:"name"`
			ValueString *string `json:"valueString"`
		} `json:"parameter"`
	}
	body := bytes.TrimSpace(r.Body)
	switch {
	case len(body) == 0:
		return "", outcome.Invalid("$import-health-card needs a card: a Parameters with verifiableCredential (the JWS or its shc:/ QR content), or a .smart-health-card file").At(param)
	case json.Unmarshal(body, &head) != nil:
		return "", outcome.Invalid("the body is neither a Parameters resource nor a .smart-health-card file in JSON").At(param)
	case r.ContentType == healthcard.FileContentType || (head.ResourceType == "" && head.VC != nil):
		inputs = [][]byte{body} // a .smart-health-card file
	case head.ResourceType != "Parameters":
		return "", outcome.Invalid("the body of $import-health-card must be a Parameters resource or a .smart-health-card file, not %q", head.ResourceType).At("resourceType")
	default:
		for i, p := range head.Parameter {
			if p.Name != param {
				return "", outcome.Invalid("%q is not a parameter of $import-health-card (verifiableCredential)", p.Name).At(p.Name)
			}
			if p.ValueString == nil {
				return "", outcome.Invalid("verifiableCredential must be a valueString: the compact JWS, or the shc:/ content of the card's QR code").At(fmt.Sprintf("Parameters.parameter[%d]", i))
			}
			inputs = append(inputs, []byte(*p.ValueString))
		}
		if len(inputs) == 0 {
			return "", outcome.Invalid("$import-health-card needs the verifiableCredential parameter: the card to import").At(param)
		}
	}
	for _, in := range inputs {
		t := bytes.TrimSpace(in)
		// healthcard.ReadCards also reads QR images; a server takes text only.
		if !(bytes.HasPrefix(bytes.ToLower(t[:min(len(t), 5)]), []byte(healthcard.QRPrefix)) || (len(t) > 0 && t[0] == '{') || bytes.Count(t, []byte(".")) == 2) {
			return "", outcome.Invalid("verifiableCredential is not a card: give the compact JWS (three dot-separated parts) or the shc:/ content of its QR code").At(param)
		}
	}
	cards, err := healthcard.ReadCards(inputs...)
	if err != nil {
		return "", outcome.Invalid("not a SMART Health Card: %v", err).At(param)
	}
	if len(cards) != 1 {
		return "", outcome.Invalid("the input holds %d cards; import them one at a time (one verifiableCredential each)", len(cards)).At(param)
	}
	return cards[0], nil
}

// refusal turns a verification that failed into the error answered: 400
// for what is not a card at all, 422 for a card that must not be believed
// (forged, altered, unknown key, expired, revoked, untrusted issuer), 503
// when the issuer's keys or revocation list could not be read now.
func refusal(res *healthcard.Result) error {
	if res.Status == healthcard.Valid {
		return nil
	}
	fail := func(status int, code outcome.IssueType, why string) error {
		return outcome.New(status, code, "SMART Health Card refused: %s; nothing was imported", why).At("verifiableCredential")
	}
	switch {
	case res.JWS == nil:
		return fail(http.StatusBadRequest, outcome.CodeStructure, res.Problem)
	case res.Status == healthcard.UnknownIssuer:
		return fail(http.StatusUnprocessableEntity, outcome.CodeSecurity,
			fmt.Sprintf("its issuer %s is not trusted here (trusted: this server's own cards and the issuers of --trusted-issuers)", res.Issuer))
	case res.Signature.State == healthcard.Failed:
		return fail(http.StatusUnprocessableEntity, outcome.CodeSecurity, "the signature check failed: "+res.Signature.Detail)
	case res.Signature.State != healthcard.Passed:
		return fail(http.StatusServiceUnavailable, outcome.CodeTransient, res.Signature.Detail+"; try again later")
	case res.Expiry.State == healthcard.Failed:
		return fail(http.StatusUnprocessableEntity, outcome.CodeProcessing, "the card is not valid now: "+res.Expiry.Detail)
	case res.Revocation.State == healthcard.Failed:
		return fail(http.StatusUnprocessableEntity, outcome.CodeProcessing, "the card is "+res.Revocation.Detail)
	case res.Revocation.State != healthcard.Passed:
		return fail(http.StatusServiceUnavailable, outcome.CodeTransient, res.Revocation.Detail+"; try again later")
	}
	return fail(http.StatusUnprocessableEntity, outcome.CodeProcessing, res.Problem)
}

// holderOf is the Patient a card's resources go to.
type holderOf struct {
	// id is the Patient's id; "" when the import creates it.
	id string
	// how: "identified" (by the holder identifier an earlier import gave),
	// "issued-here" (a card this server issued for this Patient: its
	// content is here already), "matched" (a certain match of the identity
	// matcher) or "created".
	how   string
	grade string
	score float64
}

// importCandidates bounds the candidates a refused import reports.
const importCandidates = 10

// cardHolder finds the card's holder among the Patients the caller may
// search; an error when the matcher finds candidates none of which is
// certain.
func (s *Service) cardHolder(ctx context.Context, r Request, res *healthcard.Result, c *healthcard.Contents) (*holderOf, error) {
	sctx, err := s.authorize(ctx, "Patient", auth.Search)
	if err != nil {
		return nil, err
	}
	q, err := s.reg.Parse([]string{"Patient"}, url.Values{"identifier": {healthcard.HolderSystem + "|" + c.Holder.Identifier}, "_count": {"2"}},
		search.Options{Base: r.Base, Strict: true})
	if err != nil {
		return nil, err
	}
	found, err := s.store.Search(sctx, q)
	if err != nil {
		return nil, err
	}
	if len(found.Matches) == 1 {
		v := found.Matches[0]
		noteAccess(sctx, audit.Event{Action: audit.ActionExecute, Interaction: "search-type", Type: "Patient", Query: q.Canonical}, []store.Version{v})
		return &holderOf{id: v.ID, how: "identified"}, nil
	}
	// The probe carries the holder identifier too: two Patients holding it
	// are certain matches, which must then be one linked set.
	cands, err := s.MatchPatients(ctx, c.Holder.Content, false, importCandidates)
	if err != nil {
		if e, ok := outcome.As(err); ok && e.Status == http.StatusBadRequest {
			return nil, outcome.Unprocessable(outcome.CodeProcessing, "the card's Patient cannot be matched to a person (%s); nothing was imported", e.Issues[0].Diagnostics).At("verifiableCredential")
		}
		return nil, err
	}
	if id, err := s.issuedHere(ctx, r, res, cands); err != nil || id != "" {
		return &holderOf{id: id, how: "issued-here"}, err
	}
	var certain []MatchCandidate
	for _, m := range cands {
		if m.Grade == "certain" {
			certain = append(certain, m)
		}
	}
	one := len(certain) == 1
	if len(certain) > 1 {
		if one, err = s.oneLinkedSet(ctx, certain); err != nil {
			return nil, err
		}
	}
	switch {
	case one:
		return &holderOf{id: certain[0].Version.ID, how: "matched", grade: certain[0].Grade, score: certain[0].Score}, nil
	case len(cands) == 0:
		return &holderOf{how: "created"}, nil
	}
	return nil, candidatesError(cands, len(certain))
}

// issuedHere finds, among the matcher's candidates, the Patient this server
// issued a card for: its rid is that Patient's (RID of this database's
// secret, the card's kid and the Patient id), which no other Patient's can
// be. "" when the card is another issuer's, has no rid, or was issued for
// none of them.
func (s *Service) issuedHere(ctx context.Context, r Request, res *healthcard.Result, cands []MatchCandidate) (string, error) {
	rid := res.JWS.Claims.VC.RID
	if res.Issuer != s.HealthCardIssuer(r.Base) || rid == "" || len(cands) == 0 || s.cards.keys.db == nil {
		return "", nil
	}
	secret, err := s.cards.keys.secret(ctx)
	if err != nil {
		return "", err
	}
	for _, c := range cands {
		if healthcard.RID(secret, res.JWS.Header.Kid, c.Version.ID) == rid {
			return c.Version.ID, nil
		}
	}
	return "", nil
}

// candidatesError reports the Patients that may be the card's holder. The
// issues name Patients by id and grade only: no names, which the caller
// sent and which logs must not hold.
func candidatesError(cands []MatchCandidate, certain int) error {
	why := fmt.Sprintf("the card's holder may be %d Patient(s) here, none of them with certainty", len(cands))
	if certain > 1 {
		why = fmt.Sprintf("the card's holder matches %d Patients with certainty, but they are not linked as one person", certain)
	}
	e := outcome.New(http.StatusUnprocessableEntity, outcome.CodeMultiple,
		"%s; nothing was imported. Confirm who the holder is (Patient/$match shows the evidence; a steward links records of one person), "+
			"then import again: a certain match, or no candidate at all, is needed", why).At("verifiableCredential")
	for _, c := range cands {
		e.Issues = append(e.Issues, outcome.Issue{Severity: outcome.Information, Code: outcome.CodeMultiple,
			Diagnostics: fmt.Sprintf("candidate Patient/%s: %s match, score %.4f", c.Version.ID, c.Grade, c.Score)})
	}
	return e
}
