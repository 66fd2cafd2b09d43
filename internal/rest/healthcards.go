package rest

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/healthcard"
	"github.com/mekong-fhir/mekong/internal/store"
)

// cardService issues SMART Health Cards from stored data and verifies the
// cards given to $import-health-card.
type cardService struct {
	keys cardKeys
	cfg  HealthCardConfig
}

// EnableHealthCards turns on $health-cards-issue, $health-card-qr,
// $import-health-card, the JWKS and the revocation lists. The store keeps
// the keys unless cfg configures them.
func (s *Service) EnableHealthCards(cfg HealthCardConfig, db store.Store) {
	hc, _ := db.(store.HealthCards)
	s.cards = &cardService{keys: cardKeys{cfg: cfg, db: hc}, cfg: cfg}
}

// HealthCardsEnabled reports whether EnableHealthCards was called.
func (s *Service) HealthCardsEnabled() bool { return s.cards != nil }

func (s *Service) cardService() (*cardService, error) {
	if s.cards == nil {
		return nil, outcome.NotSupported(http.StatusNotFound, "SMART Health Cards are not enabled on this server")
	}
	return s.cards, nil
}

// HealthCardIssuer is the iss of cards issued for a request to base.
func (s *Service) HealthCardIssuer(base string) string {
	if s.cards != nil && s.cards.cfg.Issuer != "" {
		return s.cards.cfg.Issuer
	}
	return strings.TrimRight(base, "/")
}

// HealthCardJWKS is the issuer's public key set ([issuer]/.well-known/jwks.json).
func (s *Service) HealthCardJWKS(ctx context.Context) ([]byte, error) {
	c, err := s.cardService()
	if err != nil {
		return nil, err
	}
	keys, err := c.keys.published(ctx)
	if err != nil {
		return nil, err
	}
	return healthcard.JWKS(keys), nil
}

// HealthCardCRL is the revocation list of one key
// ([issuer]/.well-known/crl/[kid].json); 404 for a key not published here.
func (s *Service) HealthCardCRL(ctx context.Context, kid string) ([]byte, error) {
	crl, err := s.crl(ctx, kid)
	if err != nil {
		return nil, err
	}
	out, _ := fhirjson.Marshal(crl)
	return out, nil
}

func (s *Service) crl(ctx context.Context, kid string) (*healthcard.CRL, error) {
	c, err := s.cardService()
	if err != nil {
		return nil, err
	}
	keys, err := c.keys.published(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(keys, func(k *healthcard.Key) bool { return k.ID == kid }) || c.keys.db == nil {
		return nil, outcome.NotFound("no revocation list: %q is not a key of this issuer", kid)
	}
	revs, ctr, err := c.keys.db.HealthCardRevocations(ctx, kid)
	if err != nil {
		return nil, err
	}
	list := make([]healthcard.Revocation, len(revs))
	for i, r := range revs {
		list[i] = healthcard.Revocation{RID: r.RID, Before: r.Before}
	}
	return healthcard.NewCRL(kid, ctr, list), nil
}

// ownTrust trusts the server's own cards, with its keys and revocation
// lists read straight from the database (no HTTP round trip to itself).
type ownTrust struct {
	s   *Service
	iss string
}

func (t ownTrust) Key(ctx context.Context, iss, kid string) (*healthcard.Key, error) {
	if iss != t.iss {
		return nil, healthcard.ErrUntrustedIssuer
	}
	keys, err := t.s.cards.keys.published(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.ID == kid {
			return k, nil
		}
	}
	return nil, healthcard.ErrUnknownKey
}

func (t ownTrust) CRL(ctx context.Context, iss string, k *healthcard.Key) (*healthcard.CRL, error) {
	if iss != t.iss {
		return nil, healthcard.ErrUntrustedIssuer
	}
	return t.s.crl(ctx, k.ID)
}

func (t ownTrust) Name(iss string) string {
	if iss == t.iss {
		return "this server"
	}
	return ""
}

// Verifier checks cards as $import-health-card does: the server's own
// cards and those of the configured trusted issuers.
func (s *Service) Verifier(base string) *healthcard.Verifier {
	c := s.cards
	chain := healthcard.Chain{ownTrust{s: s, iss: s.HealthCardIssuer(base)}}
	if c.cfg.Trust != nil {
		chain = append(chain, c.cfg.Trust)
	}
	return &healthcard.Verifier{Trust: chain, Now: c.cfg.Now}
}

// issuedCard is one card and the stored resources it holds.
type issuedCard struct {
	JWS   string
	Links []healthcard.Link
}

// issueCards builds the cards a request asks for (see cardRequest), signed
// and each fitting one QR code.
func (s *Service) issueCards(ctx context.Context, r Request, req *cardRequest) ([]issuedCard, error) {
	c, err := s.cardService()
	if err != nil {
		return nil, err
	}
	if r.Type != "Patient" {
		return nil, outcome.New(http.StatusNotFound, outcome.CodeNotSupported, "health cards are issued for a Patient (POST /Patient/[id]/$health-cards-issue), not a %s", r.Type)
	}
	if err := checkID(r.ID); err != nil {
		return nil, err
	}
	iss := s.HealthCardIssuer(r.Base)
	if err := healthcard.CheckIssuerURL(iss, true); err != nil {
		return nil, outcome.New(http.StatusInternalServerError, outcome.CodeException, "the health card issuer is misconfigured: %v", err)
	}
	rctx, err := s.authorize(ctx, "Patient", auth.Read)
	if err != nil {
		return nil, err
	}
	pv, err := s.store.Read(rctx, "Patient", r.ID)
	if err != nil {
		return nil, err
	}
	if pv.Deleted {
		return nil, gone(pv)
	}
	// A card covers the person, not one source's record: every Patient
	// linked to this one that the caller may read (CONTRACTS §2).
	ids, err := s.LinkedSet(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	resources, err := s.cardResources(ctx, ids, req)
	if err != nil {
		return nil, err
	}
	ev := audit.Event{Action: audit.ActionRead, Interaction: "operation", Type: "Patient", ID: r.ID, VersionID: pv.VersionID, Patients: ids}
	noteAccess(ctx, ev, []store.Version{*pv}, resources)
	key, err := c.keys.signing(ctx)
	if err != nil {
		return nil, err
	}
	secret, err := c.keys.secret(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if c.cfg.Now != nil {
		now = c.cfg.Now()
	}
	var aliases []string
	for _, id := range ids[1:] {
		aliases = append(aliases, "Patient/"+id)
	}
	var out []issuedCard
	for _, group := range req.cards(resources) {
		entries := make([]healthcard.Entry, len(group.resources))
		for i, v := range group.resources {
			entries[i] = healthcard.Entry{Ref: v.Type + "/" + v.ID, Content: v.Content}
		}
		b, err := healthcard.BuildBundle(healthcard.BundleInput{Patient: healthcard.Entry{Ref: "Patient/" + r.ID, Content: pv.Content},
			Aliases: aliases, Resources: entries, Claims: req.claims})
		if err != nil {
			return nil, err
		}
		cred := &healthcard.Credential{Issuer: iss, IssuedAt: now, Types: group.types, Bundle: b.JSON, RID: healthcard.RID(secret, key.ID, r.ID)}
		if c.cfg.TTL > 0 {
			cred.Expires = now.Add(c.cfg.TTL)
		}
		jws, err := healthcard.Sign(key, cred)
		if err != nil {
			return nil, err
		}
		if len(jws) > healthcard.MaxQRJWS {
			return nil, outcome.New(http.StatusUnprocessableEntity, outcome.CodeTooLong,
				"the card would hold %d %s and be %d characters long; one QR code holds %d (SMART Health Cards are never split over several QR codes). "+
					"Ask for less: _since (e.g. the last two years), one credentialType at a time, or a credentialValueSet",
				len(entries), group.what, len(jws), healthcard.MaxQRJWS).At("_since")
		}
		out = append(out, issuedCard{JWS: jws, Links: b.Links})
	}
	return out, nil
}

// maxCardCandidates bounds the resources read to choose a card's content.
const maxCardCandidates = 5000

// cardResources reads the Immunizations and Observations of the patients
// the caller may see (the store applies scopes and labels), then keeps
// what a card may hold: completed Immunizations and final SARS-CoV-2
// results, never one labelled HIV, TB, R or V whatever the token.
func (s *Service) cardResources(ctx context.Context, ids []string, req *cardRequest) ([]store.Version, error) {
	types := req.resourceTypes()
	if len(types) == 0 {
		return nil, nil
	}
	sctx, allowed, err := s.authorizeTypes(ctx, types, true, auth.Search)
	if err != nil {
		return nil, err
	}
	members := s.reg.Members(search.PatientCompartment, allowed)
	var out []store.Version
	for _, id := range ids {
		q := store.CompartmentQuery{Type: "Patient", ID: id, Members: members, Count: 200}
		for {
			page, err := s.store.Compartment(sctx, q)
			if err != nil {
				return nil, err
			}
			for _, v := range page.Resources {
				if v.Type != "Patient" && req.keep(v, ids) {
					out = append(out, v)
				}
			}
			if len(out) > maxCardCandidates {
				return nil, outcome.New(http.StatusUnprocessableEntity, outcome.CodeTooLong,
					"more than %d resources match; narrow the request with _since", maxCardCandidates).At("_since")
			}
			if page.Next == "" {
				break
			}
			q.Cursor = page.Next
		}
	}
	slices.SortStableFunc(out, func(a, b store.Version) int { return strings.Compare(clinicalDate(a), clinicalDate(b)) })
	return out, nil
}
