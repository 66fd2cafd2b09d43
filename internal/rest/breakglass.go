package rest

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// DefaultBreakGlass is how long a break-the-glass grant lasts unless the
// policy says otherwise.
const DefaultBreakGlass = 60 * time.Minute

// MaxBreakGlassReason bounds the reason a user types (characters).
const MaxBreakGlassReason = 500

// BreakGlass opens the restricted data (HIV, TB...) of one patient to the
// caller for Policy.BreakGlassFor, for the reason given: emergency access
// as DHIS2's "breaking the glass" and the FHIR example
// https://hl7.org/fhir/R4/auditevent-example-breakglass-start.html shape
// (type DCM 110113 Security Alert, subtype DCM 110127 Emergency Override
// Started, purpose v3-ActReason ETREAT). The grant and its AuditEvent are
// stored in one transaction; from then on the access filter of every
// request of this user (this page or the REST API) lifts the hidden labels
// in that patient's compartment until the grant expires. The caller needs
// the mekong/break-glass scope and must be able to read the Patient.
func (s *Service) BreakGlass(ctx context.Context, patientID, reason string) (*store.Grant, error) {
	p := auth.FromContext(ctx)
	if !p.MayBreakGlass() {
		return nil, outcome.New(http.StatusForbidden, outcome.CodeForbidden,
			"emergency access (break-the-glass) needs the %s scope, which this sign-in does not have", auth.BreakGlassScope)
	}
	if s.grants == nil {
		return nil, outcome.NotSupported(http.StatusNotImplemented, "this store keeps no break-the-glass grants")
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return nil, outcome.Invalid("reason is required: say why this emergency access is needed").At("reason")
	case utf8.RuneCountInString(reason) > MaxBreakGlassReason:
		return nil, outcome.Invalid("reason is longer than %d characters", MaxBreakGlassReason).At("reason")
	}
	if err := checkID(patientID); err != nil {
		return nil, err
	}
	rctx, err := s.authorize(ctx, "Patient", auth.Read)
	if err != nil {
		return nil, err
	}
	v, err := s.store.Read(rctx, "Patient", patientID)
	if err != nil {
		return nil, err
	}
	if v.Deleted {
		return nil, gone(v)
	}
	at := now()
	dur := s.Policy.BreakGlassFor
	if dur <= 0 {
		dur = DefaultBreakGlass
	}
	g := store.Grant{ID: s.NewID(), Issuer: p.Issuer, Subject: p.Subject, Patient: patientID, Reason: reason, Started: at, Expires: at.Add(dur)}
	ev := audit.Event{Action: audit.ActionExecute, Interaction: "operation", Type: "Patient", ID: patientID, Patients: []string{patientID},
		EventType: &audit.TypeSecurityAlert, Subtypes: []audit.Coding{audit.SubtypeEmergencyOverrideStarted},
		PurposeOfEvent: []audit.Coding{audit.PurposeEmergencyTreatment}, Reason: reason}
	records, err := s.audit.AuditEvents(ev, audit.RequestOf(ctx), p, http.StatusOK, at)
	if err != nil {
		return nil, err
	}
	if err := s.grants.StartBreakGlass(ctx, g, records); err != nil {
		return nil, err
	}
	ev.Stored = true
	audit.Note(ctx, ev)
	return &g, nil
}

// Grants returns the caller's live break-the-glass grants.
func (s *Service) Grants(ctx context.Context) ([]store.Grant, error) {
	p := auth.FromContext(ctx)
	if s.grants == nil || !p.MayBreakGlass() {
		return nil, nil
	}
	return s.grants.ActiveGrants(ctx, p.Issuer, p.Subject, now())
}

// exempt lists the patients p holds a live grant for; only principals that
// may break the glass pay for the lookup.
func (s *Service) exempt(ctx context.Context, p *auth.Principal) ([]string, error) {
	gs, err := s.Grants(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, g := range gs {
		if !contains(ids, g.Patient) {
			ids = append(ids, g.Patient)
		}
	}
	return ids, nil
}
