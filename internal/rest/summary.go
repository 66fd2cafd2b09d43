package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/ips"
	"github.com/mekong-fhir/mekong/internal/store"
)

// IPSOptions configures the documents $summary builds.
type IPSOptions struct {
	// Author is the organization that authors and keeps the documents
	// (serve --organization-name, --organization-identifier).
	Author ips.Organization
	// Limit bounds the Immunizations and the Observations a document holds
	// (the most recent of each), so memory is bounded by configuration,
	// not by how long a record is (serve --summary-max-entries).
	Limit int
}

// DefaultSummaryLimit is the default IPSOptions.Limit.
const DefaultSummaryLimit = 500

// summaryProfile is the profile $summary produces; the profile parameter
// may name it, unversioned or with a 2.x version.
const summaryProfile = ips.ProfileComposition

// summaryTypes are the record types a summary is drawn from, with the
// reference parameter that makes a resource about the patient (its
// subject, not a performer: an Observation a patient performed on someone
// else is not part of their summary).
var summaryTypes = []struct{ typ, param string }{{"Immunization", "patient"}, {"Observation", "subject"}}

// Summary: GET|POST [base]/Patient/[id]/$summary and
// [base]/Patient/$summary?identifier=system|value, the International
// Patient Summary operation (http://hl7.org/fhir/uv/ips/STU2/OperationDefinition-summary.html).
// The answer is an IPS document Bundle built by package ips from what the
// caller may see: the Patient needs read, the record types search, as for
// $everything, and every query runs under the caller's store.Access, so a
// hidden resource (an HIV or TB result without the label permission) is
// never read and cannot leave a trace in the document.
func (s *Service) Summary(ctx context.Context, r Request) (res *Response, err error) {
	ev := audit.Event{Action: audit.ActionExecute, Interaction: "operation", Type: r.Type, ID: r.ID, Query: "$summary"}
	noted := false
	defer func() {
		if err != nil && !noted {
			// A refused or failed $summary is audited as such, not as
			// the read or create its URL would otherwise suggest.
			if r.ID != "" {
				ev.Patients = []string{r.ID}
			}
			audit.Note(ctx, ev)
		}
	}()
	if err := s.checkType(r.Type); err != nil {
		return nil, err
	}
	if r.Type != search.PatientCompartment.Code {
		return nil, outcome.New(http.StatusNotFound, outcome.CodeNotSupported,
			"$summary is defined for Patient only (GET /Patient/[id]/$summary), not for %s", r.Type)
	}
	p, err := summaryParamsOf(r)
	if err != nil {
		return nil, err
	}
	if q := p.values.Encode(); q != "" {
		ev.Query += "?" + q
	}
	id := r.ID
	if id == "" {
		if id, err = s.summaryPatientByIdentifier(ctx, r, p.identifier); err != nil {
			return nil, err
		}
		ev.ID = id
	} else if err := checkID(id); err != nil {
		return nil, err
	}
	rctx, err := s.authorize(ctx, "Patient", auth.Read)
	if err != nil {
		return nil, err
	}
	pv, err := s.store.Read(rctx, "Patient", id)
	if err != nil {
		return nil, err
	}
	if pv.Deleted {
		return nil, gone(pv)
	}
	// The record types are searched, as by $everything: the caller sees
	// the types it may search, and needs at least one.
	sctx, allowed, err := s.authorizeTypes(ctx, []string{"Patient", "Immunization", "Observation"}, false, auth.Search)
	if err != nil {
		return nil, err
	}
	// The whole linked record (CONTRACTS §2): the members the caller may
	// read, each read again under the caller's access.
	set, err := s.LinkedSet(ctx, id)
	if err != nil {
		return nil, err
	}
	in := ips.Input{
		Base: r.Base, Patient: ips.Resource{Type: "Patient", ID: id, Content: pv.Content},
		Author: s.IPS.Author, Limit: s.summaryLimit(), Restricted: s.Policy.Restricted,
		Truncated: map[string]bool{}, ID: s.NewID(), Time: now(),
	}
	members := []string{id}
	for _, other := range set[1:] {
		lv, err := s.store.Read(rctx, "Patient", other)
		if e, ok := outcome.As(err); ok && e.Status == http.StatusNotFound {
			continue // unlinked or hidden since LinkedSet read it
		}
		if err != nil {
			return nil, err
		}
		if lv.Deleted {
			continue
		}
		members = append(members, other)
		in.Linked = append(in.Linked, ips.Resource{Type: "Patient", ID: other, Content: lv.Content})
	}
	set = members
	for _, st := range summaryTypes {
		if !s.types[st.typ] || !slices.Contains(allowed, st.typ) {
			continue
		}
		vs, truncated, err := s.summaryRecords(sctx, r.Base, st.typ, st.param, set)
		if err != nil {
			return nil, err
		}
		in.Truncated[st.typ] = truncated
		for _, v := range vs {
			in.Resources = append(in.Resources, ips.Resource{Type: v.Type, ID: v.ID, Content: v.Content})
		}
	}
	doc, err := ips.Build(in)
	if err != nil {
		return nil, err
	}
	included := make([]store.Version, len(doc.Included))
	for i, res := range doc.Included {
		included[i] = store.Version{Type: res.Type, ID: res.ID, Content: res.Content}
	}
	ev.Patients = set
	noteAccess(ctx, ev, included)
	noted = true
	return &Response{Status: http.StatusOK, Body: doc.JSON}, nil
}

func (s *Service) summaryLimit() int {
	if s.IPS.Limit > 0 {
		return s.IPS.Limit
	}
	return DefaultSummaryLimit
}

// summaryRecords reads the resources of typ whose param refers to one of
// patients, newest first, at most the limit; truncated says more exist.
// Entered-in-error records are left out in the query, so they do not take
// the place of real ones.
func (s *Service) summaryRecords(ctx context.Context, base, typ, param string, patients []string) ([]store.Version, bool, error) {
	limit := s.summaryLimit()
	refs := make([]string, len(patients))
	for i, id := range patients {
		refs[i] = "Patient/" + id
	}
	count := min(limit+1, search.MaxCount)
	q, err := s.reg.Parse([]string{typ}, url.Values{
		param: {strings.Join(refs, ",")}, "status:not": {"entered-in-error"},
		"_sort": {"-date"}, "_count": {strconv.Itoa(count)}, "_total": {"none"},
	}, search.Options{Base: base})
	if err != nil {
		return nil, false, err
	}
	var out []store.Version
	for {
		res, err := s.store.Search(ctx, q)
		if err != nil {
			return nil, false, err
		}
		out = append(out, res.Matches...)
		if len(out) > limit {
			return out[:limit], true, nil
		}
		if res.Next == "" {
			return out, false, nil
		}
		q.Cursor = res.Next
	}
}

// summaryPatientByIdentifier finds the one Patient the type-level form
// names, with the caller's search access. The identifier's value is not
// repeated in errors: it identifies a person.
func (s *Service) summaryPatientByIdentifier(ctx context.Context, r Request, identifier string) (string, error) {
	if identifier == "" {
		return "", outcome.Invalid("Patient/$summary needs the identifier parameter (identifier=system|value), or use Patient/[id]/$summary").At("identifier")
	}
	sctx, err := s.authorize(ctx, "Patient", auth.Search)
	if err != nil {
		return "", err
	}
	q, err := s.reg.Parse([]string{"Patient"}, url.Values{"identifier": {identifier}, "_count": {"2"}, "_total": {"none"}},
		search.Options{Base: r.Base})
	if err != nil {
		return "", err
	}
	res, err := s.store.Search(sctx, q)
	if err != nil {
		return "", err
	}
	switch len(res.Matches) {
	case 0:
		return "", outcome.NotFound("no Patient has the identifier given").At("identifier")
	case 1:
		return res.Matches[0].ID, nil
	}
	return "", outcome.Unprocessable(outcome.CodeMultiple,
		"several Patients have the identifier given; ask for one by id (Patient/[id]/$summary)").At("identifier")
}

type summaryParams struct {
	identifier, profile string
	// values are the parameters as given, for the audit record.
	values url.Values
}

// summaryParamsOf reads identifier and profile from the query and, for a
// POST, a Parameters body. IPS STU1.1's spelling "identifer" and its
// Identifier and uri types are accepted too. Anything else is a 400
// naming the parameter: a document cannot carry a warning that one was
// ignored.
func summaryParamsOf(r Request) (summaryParams, error) {
	p := summaryParams{values: url.Values{}}
	set := func(name, value string) error {
		canon := name
		if canon == "identifer" {
			canon = "identifier"
		}
		if p.values.Has(canon) {
			return outcome.Invalid("%s appears more than once; $summary takes it once", canon).At(canon)
		}
		p.values.Set(canon, value)
		switch canon {
		case "identifier":
			p.identifier = value
		case "profile":
			p.profile = value
		default:
			return outcome.Invalid("parameter %q is not a parameter of $summary (identifier, profile)", name).At(name)
		}
		return nil
	}
	for _, name := range sortedKeys(r.Query) {
		if name == "_format" || name == "_pretty" {
			continue // content negotiation
		}
		for _, v := range r.Query[name] {
			if err := set(name, v); err != nil {
				return p, err
			}
		}
	}
	if len(r.Body) > 0 {
		var body struct {
			ResourceType string `json:"resourceType"`
			Parameter    []struct {
				Name            string `json:"name"`
				ValueString     string `json:"valueString"`
				ValueCanonical  string `json:"valueCanonical"`
				ValueURI        string `json:"valueUri"`
				ValueIdentifier *struct {
					System string `json:"system"`
					Value  string `json:"value"`
				} `json:"valueIdentifier"`
			} `json:"parameter"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || body.ResourceType != "Parameters" {
			return p, outcome.Invalid("the body of POST $summary is a Parameters resource (identifier, profile), or empty").At("Parameters")
		}
		for i, prm := range body.Parameter {
			v := prm.ValueString + prm.ValueCanonical + prm.ValueURI
			if id := prm.ValueIdentifier; id != nil {
				v = id.Value
				if id.System != "" {
					v = id.System + "|" + id.Value
				}
			}
			if err := set(prm.Name, v); err != nil {
				if e, ok := outcome.As(err); ok {
					for j := range e.Issues {
						e.Issues[j].Expression = []string{"Parameters.parameter[" + strconv.Itoa(i) + "]"}
					}
				}
				return p, err
			}
		}
	}
	if r.ID != "" && p.values.Has("identifier") {
		return p, outcome.Invalid("identifier selects the patient of Patient/$summary; Patient/%s/$summary already names one", r.ID).At("identifier")
	}
	if p.profile != "" {
		base, version, _ := strings.Cut(p.profile, "|")
		if base != summaryProfile || (version != "" && !strings.HasPrefix(version, "2.")) {
			return p, outcome.Invalid("profile %q is not supported: Mekong produces IPS 2.0 documents (%s)", p.profile, summaryProfile).At("profile")
		}
	}
	return p, nil
}
