package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
)

// AccessLog returns a searchset of the AuditEvents about one patient,
// newest first (who, when, what, why): the clinic page's "who saw this
// record". Auditors (an AuditEvent search scope) may read any patient's;
// when Policy.ClinicAccessLog is set, so may users of the organization that
// manages the Patient (Patient.managingOrganization equals the token's
// organization), for that patient only. Either way the caller's label
// permissions apply: an access to data it may not see stays hidden.
func (s *Service) AccessLog(ctx context.Context, base, patientID string, count int) (*Response, error) {
	if err := checkID(patientID); err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	q := url.Values{"patient": {"Patient/" + patientID}, "_sort": {"-date"}, "_count": {strconv.Itoa(count)}}
	if p == nil || p.Unauthenticated || p.Allows("AuditEvent", auth.Search) {
		return s.Search(ctx, Request{Base: base, Type: "AuditEvent", Query: q})
	}
	if !s.Policy.ClinicAccessLog || p.Organization == "" {
		return nil, accessLogDenied()
	}
	res, err := s.Read(ctx, Request{Base: base, Type: "Patient", ID: patientID})
	if err != nil {
		return nil, err
	}
	var pat struct {
		ManagingOrganization json.RawMessage `json:"managingOrganization"`
	}
	_ = json.Unmarshal(res.Body, &pat)
	if pat.ManagingOrganization == nil || !sameOrganization(pat.ManagingOrganization, p.Organization) {
		return nil, accessLogDenied()
	}
	// The clinic's user searches this patient's AuditEvents as if it held
	// an AuditEvent search scope, with its own label permissions.
	clinic := *p
	clinic.Scopes = append(append([]auth.Scope(nil), p.Scopes...), auth.Scope{Context: auth.UserContext, Type: "AuditEvent", Actions: "s"})
	return s.Search(auth.WithPrincipal(ctx, &clinic), Request{Base: base, Type: "AuditEvent", Query: q})
}

// MayReadAccessLog reports whether AccessLog would let the caller in for
// some patient: an auditor, or any organization's user under
// Policy.ClinicAccessLog (checked per patient by AccessLog).
func (s *Service) MayReadAccessLog(ctx context.Context) bool {
	p := auth.FromContext(ctx)
	return p.Allows("AuditEvent", auth.Search) || (s.Policy.ClinicAccessLog && p != nil && p.Organization != "")
}

func accessLogDenied() error {
	return outcome.New(http.StatusForbidden, outcome.CodeForbidden,
		"the access log of a record is readable by auditors (user/AuditEvent.rs), and by the clinic that manages the record where the policy allows it")
}

// sameOrganization compares a Reference (JSON) with the token's
// organization in the forms audit.OrganizationRef reads.
func sameOrganization(ref json.RawMessage, org string) bool {
	var r struct {
		Reference  string `json:"reference"`
		Identifier *struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"identifier"`
	}
	if json.Unmarshal(ref, &r) != nil {
		return false
	}
	want, _ := fhirjson.Marshal(audit.OrganizationRef(org))
	var w struct {
		Reference  string `json:"reference"`
		Identifier *struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"identifier"`
	}
	_ = json.Unmarshal(want, &w)
	switch {
	case w.Reference != "":
		return r.Reference == w.Reference
	case w.Identifier != nil && r.Identifier != nil:
		return r.Identifier.Value == w.Identifier.Value && (w.Identifier.System == "" || r.Identifier.System == w.Identifier.System)
	}
	return false
}
