package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/healthcard"
	"github.com/mekong-fhir/mekong/internal/store"
)

// AdminScope is the permission to revoke health cards (and other
// administration of the issuer).
const AdminScope = "mekong/admin"

// HealthCardsRevoke: POST Patient/[id]/$health-cards-revoke (a Mekong
// operation, admin only). Revokes every card issued to the Patient until
// now, under every published key: each key's revocation list gets the
// Patient's rid with the current time as its timestamp
// (cards-specification.md, "Revocation"), so cards issued later are valid.
// The body may be a Parameters with a "reason" (valueString). Audited.
func (s *Service) HealthCardsRevoke(ctx context.Context, r Request) (*Response, error) {
	c, err := s.cardService()
	if err != nil {
		return nil, err
	}
	if p := auth.FromContext(ctx); p != nil && !p.Unauthenticated && !slices.Contains(p.RawScopes, AdminScope) {
		return nil, outcome.New(http.StatusForbidden, outcome.CodeForbidden, "revoking health cards needs the %s scope", AdminScope).
			WithHeader("WWW-Authenticate", `Bearer realm="mekong", error="insufficient_scope"`)
	}
	if r.Type != "Patient" {
		return nil, outcome.NotFound("health cards are revoked per Patient, not %s", r.Type)
	}
	if err := checkID(r.ID); err != nil {
		return nil, err
	}
	reason := ""
	if len(r.Body) > 0 {
		var p struct {
			ResourceType string `json:"resourceType"`
			Parameter    []struct {
				Name        string `json:"name"`
				ValueString string `json:"valueString"`
			} `json:"parameter"`
		}
		if err := json.Unmarshal(r.Body, &p); err != nil || p.ResourceType != "Parameters" {
			return nil, outcome.Invalid("the body must be a Parameters resource").At("Parameters")
		}
		for _, x := range p.Parameter {
			if x.Name != "reason" {
				return nil, outcome.Invalid("unknown parameter %q; $health-cards-revoke takes reason", x.Name).At(x.Name)
			}
			reason = x.ValueString
		}
	}
	if c.keys.db == nil {
		return nil, errNoCardStore
	}
	secret, err := c.keys.secret(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := c.keys.published(ctx)
	if err != nil {
		return nil, err
	}
	now := c.keys.now().Truncate(time.Second).Add(time.Second) // covers cards issued within this second
	type revoked struct {
		Kid, RID string
		Ctr      int
	}
	var done []revoked
	for _, k := range keys {
		rid := healthcard.RID(secret, k.ID, r.ID)
		ctr, err := c.keys.db.RevokeHealthCards(ctx, store.HealthCardRevocation{Kid: k.ID, RID: rid, Before: now, Revoked: c.keys.now(), Reason: reason})
		if err != nil {
			return nil, err
		}
		done = append(done, revoked{k.ID, rid, ctr})
	}
	// The operation and the reason given are kept with the event
	// (CONTRACTS §4: card revocations are audited with their reason).
	why := "health-cards revoke Patient/" + r.ID
	if reason != "" {
		why += ": " + reason
	}
	ev := audit.Event{Action: audit.ActionUpdate, Interaction: "operation", Type: "Patient", ID: r.ID, Patients: []string{r.ID},
		Query: "$health-cards-revoke", Reason: why}
	if err := s.recordOutsideRequest(ctx, ev); err != nil {
		return nil, err
	}
	audit.Note(ctx, ev)
	var issues []outcome.Issue
	for _, d := range done {
		issues = append(issues, outcome.Issue{Severity: outcome.Information, Code: outcome.CodeInformational,
			Diagnostics: "cards of Patient/" + r.ID + " issued before " + now.UTC().Format(time.RFC3339) + " under key " + d.Kid +
				" are revoked (rid " + d.RID + "; revocation list version " + itoa(int64(d.Ctr)) + ")"})
	}
	return &Response{Status: http.StatusOK, Body: outcome.JSON(issues)}, nil
}

// recordOutsideRequest writes the AuditEvent of work done from the command
// line, where no HTTP request's collector will.
func (s *Service) recordOutsideRequest(ctx context.Context, ev audit.Event) error {
	if audit.FromContext(ctx) != nil {
		return nil
	}
	log, err := s.auditLog()
	if err != nil {
		return err
	}
	return log.AppendAudit(ctx, audit.Records(ev, audit.Request{Server: "mekong command line"}, auth.FromContext(ctx), http.StatusOK, time.Now(), s.audit.Source))
}
