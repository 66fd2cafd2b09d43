package rest

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// An identity steward's decisions (issue 11): confirm a queued pair or link
// two Patients by hand ($identity-link), reject a queued pair or unlink
// ($identity-unlink), always with a reason. A decision is stored as a
// manual pair, which the engine never changes: a pair decided distinct is
// never linked again, not even when its sources send the Patients again.
// Each needs the mekong/identity scope and read access to both Patients,
// and is audited with who decided and why.

// maxReason bounds a steward's reason.
const maxReason = 1000

// decisionIn is the input of $identity-link and $identity-unlink.
type decisionIn struct {
	a, b, reason string
}

// Decision kinds, as the operations answer them.
const (
	decisionLink    = "link"    // two Patients linked by hand
	decisionConfirm = "confirm" // a queued pair confirmed
	decisionUnlink  = "unlink"  // a link (direct or through others) removed
	decisionReject  = "reject"  // a queued pair rejected
)

// checkSteward refuses callers without the steward's scope.
func checkSteward(ctx context.Context) error {
	if p := auth.FromContext(ctx); p == nil || p.IdentitySteward() {
		return nil
	}
	return outcome.New(http.StatusForbidden, outcome.CodeForbidden,
		"identity decisions and the review queue need the identity steward's scope %s", auth.IdentityScope).
		WithHeader("WWW-Authenticate", `Bearer realm="mekong", error="insufficient_scope"`)
}

// decisionInput reads patient, other and reason, and checks that the caller
// is a steward who may read both Patients (a Patient it may not read is not
// found, as everywhere).
func (s *Service) decisionInput(ctx context.Context, r Request, op string) (*decisionIn, error) {
	if s.ident == nil {
		return nil, outcome.NotSupported(http.StatusNotImplemented, "identity decisions need a store that keeps identity links")
	}
	if r.Type != store.LinkedType || r.ID != "" {
		return nil, outcome.New(http.StatusNotFound, outcome.CodeNotSupported, "$%s is POST /Patient/$%s", op, op)
	}
	if err := checkSteward(ctx); err != nil {
		return nil, err
	}
	ps, err := operationInput(r.Body, op, "patient", "other", "reason")
	if err != nil {
		return nil, err
	}
	in := &decisionIn{}
	for _, f := range []struct {
		name string
		to   *string
	}{{"patient", &in.a}, {"other", &in.b}} {
		p := ps[f.name]
		if p == nil || p.ValueReference == nil {
			return nil, outcome.Invalid("$%s needs %s, a valueReference to a Patient (\"Patient/[id]\")", op, f.name).At(f.name)
		}
		id, ok := strings.CutPrefix(p.ValueReference.Reference, "Patient/")
		if !ok || !resource.ValidID(id) {
			return nil, outcome.Invalid("%s %q is not a reference to a Patient (\"Patient/[id]\")", f.name, p.ValueReference.Reference).At(f.name)
		}
		*f.to = id
	}
	if in.a == in.b {
		return nil, outcome.Invalid("patient and other are the same Patient").At("other")
	}
	if p := ps["reason"]; p != nil && p.ValueString != nil {
		in.reason = strings.TrimSpace(*p.ValueString)
	}
	if in.reason == "" {
		return nil, outcome.Invalid("$%s needs a reason (valueString): every identity decision says why", op).At("reason")
	}
	if utf8.RuneCountInString(in.reason) > maxReason {
		return nil, outcome.Invalid("reason is longer than %d characters", maxReason).At("reason")
	}
	rctx, err := s.authorize(ctx, store.LinkedType, auth.Read)
	if err != nil {
		return nil, err
	}
	vs, err := s.ident.st.Patients(rctx, []string{in.a, in.b})
	if err != nil {
		return nil, err
	}
	found := map[string]bool{}
	for _, v := range vs {
		found[v.ID] = true
	}
	for _, f := range []struct{ name, id string }{{"patient", in.a}, {"other", in.b}} {
		if !found[f.id] {
			return nil, outcome.NotFound("Patient/%s (%s) is not found", f.id, f.name).At(f.name)
		}
	}
	return in, nil
}

// actor names the steward in a pair (the token's subject, else its client).
func actor(ctx context.Context) string {
	p := auth.FromContext(ctx)
	switch {
	case p == nil || p.Unauthenticated:
		return "unauthenticated (--auth none or the command line)"
	case p.Subject != "":
		return p.Subject
	}
	return "client " + p.ClientID
}

// stewardDecision is the shape of both decisions: read the input, then in
// one identity transaction look at the pair as it stands (queued or not
// decides between the two kinds of decision) and apply the decision; then
// answer and audit it.
func (s *Service) stewardDecision(ctx context.Context, r Request, op, queuedKind, otherKind string,
	apply func(ctx context.Context, lt *linkTx, in *decisionIn, ex *store.Pair) error) (*Response, error) {
	in, err := s.decisionInput(ctx, r, op)
	if err != nil {
		return nil, err
	}
	kind := otherKind
	var stats LinkStats
	err = s.identityTransaction(ctx, &stats, func(ctx context.Context, lt *linkTx) error {
		// The sets as they are, shown again once decided.
		if err := lt.touch(ctx, in.a, in.b); err != nil {
			return err
		}
		ex, err := lt.pairOf(ctx, in.a, in.b)
		if err != nil {
			return err
		}
		kind = otherKind
		if ex != nil && ex.State == store.PairReview {
			kind = queuedKind
		}
		return apply(ctx, lt, in, ex)
	})
	if err != nil {
		return nil, err
	}
	return s.decisionResponse(ctx, r, in, kind, stats)
}

// steward is the manual pair of a decision, keeping the engine's score and
// evidence when it had compared the two.
func steward(ctx context.Context, ex *store.Pair, in *decisionIn, state string) store.Pair {
	a, b := store.PairKey(in.a, in.b)
	p := store.Pair{A: a, B: b}
	if ex != nil {
		p = *ex
	}
	p.State, p.Manual, p.Note = state, true, ""
	p.Reason, p.Actor, p.Updated = in.reason, actor(ctx), time.Now().UTC()
	return p
}

// decisionResponse answers a decision with a Parameters: what was decided
// and the linked set of patient afterwards, as the caller may see it. The
// decision is audited with who (the token's agent) and why (the reason).
func (s *Service) decisionResponse(ctx context.Context, r Request, in *decisionIn, kind string, stats LinkStats) (*Response, error) {
	ev := audit.Event{Action: audit.ActionUpdate, Interaction: "operation", Type: store.LinkedType, ID: in.a,
		Patients: []string{in.a, in.b}, Reason: in.reason,
		Subtypes: []audit.Coding{{System: identityOperations, Code: "identity-" + kind, Display: "identity " + kind}}}
	audit.Note(ctx, ev)
	set, err := s.LinkedSet(ctx, in.a)
	if err != nil {
		return nil, err
	}
	params := []map[string]any{
		{"name": "decision", "valueCode": kind},
		{"name": "patient", "valueReference": map[string]string{"reference": "Patient/" + in.a}},
		{"name": "other", "valueReference": map[string]string{"reference": "Patient/" + in.b}},
		{"name": "reason", "valueString": in.reason},
	}
	for _, m := range set {
		params = append(params, map[string]any{"name": "member", "valueReference": map[string]string{"reference": "Patient/" + m}})
	}
	params = append(params, map[string]any{"name": "updated", "valueInteger": stats.Projected})
	body, _ := fhirjson.Marshal(map[string]any{"resourceType": "Parameters", "parameter": params})
	return &Response{Status: http.StatusOK, Body: body}, nil
}

// identityOperations is the code system of the AuditEvent subtypes of
// identity decisions: Mekong's OperationDefinitions.
const identityOperations = "https://mekong-fhir.github.io/fhir/OperationDefinition"
