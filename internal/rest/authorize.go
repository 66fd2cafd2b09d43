package rest

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Policy is the server's data access policy.
type Policy struct {
	// Restricted are the security labels ("system|code") whose resources
	// exist only for principals permitted to see them (Principal.Labels).
	Restricted []string
	// Labeling labels sensitive Observations on write (see label).
	Labeling []LabelRule
	// BreakGlassFor is how long a break-the-glass grant lasts (default
	// DefaultBreakGlass).
	BreakGlassFor time.Duration
	// ClinicAccessLog lets a user of the organization that manages a
	// Patient (Patient.managingOrganization) read who accessed that
	// patient's record (AccessLog), besides auditors.
	ClinicAccessLog bool
}

// DefaultPolicy restricts HIV, R and V and labels HIV and TB results.
func DefaultPolicy() Policy {
	return Policy{Restricted: DefaultRestricted, Labeling: []LabelRule{HIVRule, TBRule}}
}

// authorize checks the request's principal may do a on typ
// (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html) and
// returns ctx carrying the store.Access every query of the interaction is
// restricted by. Without a principal (the command line) nothing is
// restricted; the HTTP layer always sets one.
//
// The actions of each interaction: read, vread and instance history r;
// search and type or system history s; create c; update u, and update as
// create also c (it creates, and SMART v2 gives creating its own letter);
// delete d; conditional update u (+c when it creates), conditional delete d;
// batch and transaction entries each their own; $validate c or u (a dry run
// of a write, touching no data).
func (s *Service) authorize(ctx context.Context, typ string, a auth.Action) (context.Context, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return ctx, nil
	}
	if p.Unauthenticated {
		return store.WithAccess(ctx, &store.Access{All: true}), nil
	}
	if !p.Allows(typ, a) {
		return nil, denied(typ, a)
	}
	acc, err := s.access(ctx, p, a, a == auth.Update && p.Allows(typ, auth.Create))
	if err != nil {
		return nil, err
	}
	return store.WithAccess(ctx, acc), nil
}

// authorizeMatch checks a conditional interaction's caller may also search
// typ: its criteria search, and its answer (the matched resource, or 200
// against 201) tells what exists, so a create-only client must not use it
// to read what it may not search.
func authorizeMatch(ctx context.Context, typ string) error {
	p := auth.FromContext(ctx)
	if p == nil || p.Unauthenticated || p.Allows(typ, auth.Search) {
		return nil
	}
	return denied(typ, auth.Search)
}

// authorizeTypes is authorize for a search or history over several types.
// An explicit list must be allowed whole; without one (all types) the
// caller sees the types it may search, and needs at least one.
func (s *Service) authorizeTypes(ctx context.Context, types []string, explicit bool, a auth.Action) (context.Context, []string, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return ctx, types, nil
	}
	if p.Unauthenticated {
		return store.WithAccess(ctx, &store.Access{All: true}), types, nil
	}
	var allowed []string
	for _, t := range types {
		if p.Allows(t, a) {
			allowed = append(allowed, t)
		} else if explicit {
			return nil, nil, denied(t, a)
		}
	}
	if len(allowed) == 0 {
		return nil, nil, denied(strings.Join(types, ","), a)
	}
	acc, err := s.access(ctx, p, a, false)
	if err != nil {
		return nil, nil, err
	}
	return store.WithAccess(ctx, acc), allowed, nil
}

// access derives what p may touch with a: every served type it has a scope
// for, each limited to p's patient when only patient/ scopes grant it, and
// the restricted labels it has no permission for hidden, except in the
// compartments of the patients it holds a live break-the-glass grant for
// (reads and searches only: a grant is for seeing, not for changing).
func (s *Service) access(ctx context.Context, p *auth.Principal, a auth.Action, mayCreate bool) (*store.Access, error) {
	acc := &store.Access{Types: map[string]string{}, MayCreate: mayCreate || a == auth.Create}
	for t := range s.types {
		if !p.Allows(t, a) {
			continue
		}
		if p.PatientOnly(t, a) {
			if p.Patient == "" {
				continue // a patient/ scope without a patient grants nothing
			}
			acc.Types[t] = p.Patient
			continue
		}
		acc.Types[t] = ""
	}
	for _, l := range s.Policy.Restricted {
		if !p.MaySee(l) {
			acc.Hidden = append(acc.Hidden, l)
		}
	}
	if len(acc.Hidden) > 0 && (a == auth.Read || a == auth.Search) {
		exempt, err := s.exempt(ctx, p)
		if err != nil {
			return nil, err
		}
		acc.Exempt = exempt
	}
	return acc, nil
}

var actionNames = map[auth.Action]string{auth.Create: "create", auth.Read: "read", auth.Update: "update", auth.Delete: "delete", auth.Search: "search"}

func denied(typ string, a auth.Action) error {
	return outcome.New(http.StatusForbidden, outcome.CodeForbidden,
		"the access token's scopes do not allow %s on %s (a SMART scope such as user/%s.%c is needed)",
		actionNames[a], typ, strings.Split(typ, ",")[0], a).
		WithHeader("WWW-Authenticate", `Bearer realm="mekong", error="insufficient_scope"`)
}

// AuthorizeBulk checks a bulk export, import or a bulk job's status and
// files (https://hl7.org/fhir/uv/bulkdata/authorization.html). Bulk jobs
// read or write whole types outside any one query, and run later on a
// worker, so the per-query restrictions cannot follow them: the token needs
// the actions on every served type from system/ or user/ scopes (a
// patient/ scope is limited to one patient and cannot cover a bulk job),
// and permission for every restricted label, since the files hold
// everything.
func (s *Service) AuthorizeBulk(ctx context.Context, actions ...auth.Action) error {
	p := auth.FromContext(ctx)
	if p == nil || p.Unauthenticated {
		return nil
	}
	for _, t := range s.DataTypes() { // bulk data is the clinical data, not the server's records
		for _, a := range actions {
			if !p.Allows(t, a) {
				return denied(t, a)
			}
			if p.PatientOnly(t, a) {
				return outcome.New(http.StatusForbidden, outcome.CodeForbidden,
					"bulk data needs system/ or user/ scopes: a patient/ scope on %s covers one patient's record, not a bulk job", t)
			}
		}
	}
	for _, l := range s.Policy.Restricted {
		if !p.MaySee(l) {
			return outcome.New(http.StatusForbidden, outcome.CodeForbidden,
				"bulk data includes resources labelled %s; the token needs permission for every restricted label (see the README's label scopes)", l)
		}
	}
	return nil
}
