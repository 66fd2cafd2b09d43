package rest

import (
	"context"
	"net/http"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/bundle"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Search: https://hl7.org/fhir/R4/http.html#search and
// https://hl7.org/fhir/R4/search.html. Type-level when r.Type is set, else
// system-level over _type (default: every served type).
func (s *Service) Search(ctx context.Context, r Request) (*Response, error) {
	types, err := s.searchTypes(r)
	if err != nil {
		return nil, err
	}
	ctx, types, err = s.authorizeTypes(ctx, types, r.Type != "" || r.Query.Get("_type") != "", auth.Search)
	if err != nil {
		return nil, err
	}
	// :linked names a linked set; the search runs on its members (the page
	// links keep :linked, so each page names the set as it is).
	query, err := s.expandLinked(ctx, r.Query)
	if err != nil {
		return nil, err
	}
	q, err := s.reg.Parse(types, query, search.Options{Base: r.Base, Strict: r.Strict})
	if err != nil {
		return nil, err
	}
	if err := checkQueryAuditor(ctx, q); err != nil {
		return nil, err
	}
	if err := checkAuditLogQuery(q); err != nil {
		return nil, err
	}
	if len(q.Types) == 1 && q.Types[0] == "AuditEvent" {
		return s.searchAuditEvents(ctx, r, q)
	}
	res, err := s.store.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	noteAccess(ctx, audit.Event{Action: audit.ActionExecute, Interaction: searchInteraction(r.Type), Type: r.Type,
		Query: r.Query.Encode(), Patients: audit.PatientsInQuery(r.Type, query)}, res.Matches, res.Included)
	path := r.Base
	if r.Type != "" {
		path += "/" + r.Type
	}
	b := searchset(path, r.Query, res.Total, res.Next, res.Prev)
	if issues := searchIssues(q, res); len(issues) > 0 {
		b.Entries = append(b.Entries, bundle.Entry{Resource: outcome.JSON(issues), Mode: "outcome"})
	}
	add := func(v *store.Version, mode string) {
		b.Entries = append(b.Entries, bundle.Entry{
			FullURL:  r.Base + "/" + v.Type + "/" + v.ID,
			Resource: search.Subset(v.Type, v.Content, q.Summary, q.Elements),
			Mode:     mode,
		})
	}
	for i := range res.Matches {
		add(&res.Matches[i], "match")
	}
	for i := range res.Included {
		add(&res.Included[i], "include")
	}
	return &Response{Status: http.StatusOK, Body: b.JSON()}, nil
}

func (s *Service) searchTypes(r Request) ([]string, error) {
	if r.Type != "" {
		if err := s.checkType(r.Type); err != nil {
			return nil, err
		}
		return []string{r.Type}, nil
	}
	t := r.Query.Get("_type")
	if t == "" {
		// The server's records are searched only when named in _type.
		var types []string
		for _, typ := range s.Types() {
			if !isRecordType(typ) {
				types = append(types, typ)
			}
		}
		return types, nil
	}
	var types []string
	for _, name := range strings.Split(t, ",") {
		name = strings.TrimSpace(name)
		if !s.types[name] {
			return nil, outcome.Invalid("_type %q is not served here; supported types: %v", name, s.Types()).At("_type")
		}
		types = append(types, name)
	}
	return types, nil
}

// searchIssues reports what the search did not apply, and limits it hit.
func searchIssues(q *search.Query, res *store.SearchResult) []outcome.Issue {
	var issues []outcome.Issue
	for _, ig := range q.Ignored {
		issues = append(issues, outcome.Issue{Severity: outcome.Warning, Code: outcome.CodeNotSupported,
			Diagnostics: "parameter " + ig.Name + " was ignored: " + ig.Reason, Expression: []string{ig.Name}})
	}
	for _, w := range append(q.Warnings, res.Warnings...) {
		issues = append(issues, outcome.Issue{Severity: outcome.Warning, Code: outcome.CodeInformational, Diagnostics: w})
	}
	return issues
}

// criteria parses the search of a conditional update or delete. Unknown
// parameters are refused, not ignored: ignoring one would widen the match
// and change the wrong resource.
func (s *Service) criteria(r Request) (*search.Query, error) {
	q, err := s.reg.Parse([]string{r.Type}, r.Query, search.Options{Base: r.Base, Strict: true})
	if err != nil {
		return nil, err
	}
	if len(q.And) == 0 {
		return nil, outcome.Invalid("a conditional %s needs search criteria, e.g. ?identifier=system|value", "write")
	}
	return q, nil
}

// conditional is what every conditional write checks first: the type is
// served and writable, the token grants the action and may also search the
// type (the answer tells what exists), and the criteria parse strictly. It
// returns the context restricted to what the caller may touch.
func (s *Service) conditional(ctx context.Context, r Request, a auth.Action) (context.Context, *search.Query, error) {
	if err := s.checkType(r.Type); err != nil {
		return nil, nil, err
	}
	if err := s.checkWritable(r.Type); err != nil {
		return nil, nil, err
	}
	ctx, err := s.authorize(ctx, r.Type, a)
	if err != nil {
		return nil, nil, err
	}
	if err := authorizeMatch(ctx, r.Type); err != nil {
		return nil, nil, err
	}
	q, err := s.criteria(r)
	if err != nil {
		return nil, nil, err
	}
	return ctx, q, nil
}

// ConditionalUpdate: https://hl7.org/fhir/R4/http.html#cond-update.
func (s *Service) ConditionalUpdate(ctx context.Context, r Request) (*Response, error) {
	ctx, q, err := s.conditional(ctx, r, auth.Update)
	if err != nil {
		return nil, err
	}
	res, err := s.parse(r.Type, r.Body)
	if err != nil {
		return nil, err
	}
	w := store.Write{Type: r.Type, ID: res.ID, CreateID: s.NewID(), Method: store.MethodPut, Tenant: r.Tenant, Match: q}
	ifMatch, err := parseIfMatch(r.IfMatch)
	if err != nil {
		return nil, err
	}
	w.IfMatch = ifMatch
	refs, err := s.prepare(ctx, &w, res)
	if err != nil {
		return nil, err
	}
	result, err := s.writeChecked(ctx, r.Base, w, refs)
	if err != nil {
		return nil, err
	}
	return s.writeResponse(r, result), nil
}

// ConditionalDelete: https://hl7.org/fhir/R4/http.html#cdelete (single
// match mode: several matches are 412).
func (s *Service) ConditionalDelete(ctx context.Context, r Request) (*Response, error) {
	ctx, q, err := s.conditional(ctx, r, auth.Delete)
	if err != nil {
		return nil, err
	}
	result, err := s.store.Write(ctx, store.Write{Type: r.Type, Method: store.MethodDelete, Tenant: r.Tenant, Match: q})
	if err != nil {
		return nil, err
	}
	if result.Version == nil {
		return &Response{Status: http.StatusOK, Issues: outcome.Info("no %s matches %s; nothing to delete", r.Type, q.Canonical)}, nil
	}
	return &Response{Status: http.StatusOK, Version: result.Version,
		Issues: outcome.Info("deleted %s/%s (version %d)", r.Type, result.Version.ID, result.Version.VersionID)}, nil
}

func (s *Service) writeResponse(r Request, result *store.Result) *Response {
	v := result.Version
	if result.Outcome == store.Created {
		return &Response{Status: http.StatusCreated, Version: v, Body: v.Content,
			Location: Location(r.Base, v), Issues: outcome.Info("created %s/%s", v.Type, v.ID)}
	}
	return &Response{Status: http.StatusOK, Version: v, Body: v.Content,
		Issues: outcome.Info("updated %s/%s to version %d", v.Type, v.ID, v.VersionID)}
}
