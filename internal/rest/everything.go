package rest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/bundle"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// $everything paging: the operation's default is "the whole record in one
// Bundle", but a migrant followed for years can have thousands of results,
// so Mekong always pages and a client follows next links to the end.
const (
	DefaultEverythingCount = 100
	MaxEverythingCount     = search.MaxCount
)

// Everything: GET Patient/[id]/$everything
// (https://hl7.org/fhir/R4/patient-operation-everything.html). A searchset
// of the patient and every served resource in its Patient compartment
// (https://hl7.org/fhir/R4/compartmentdefinition-patient.html), with a
// total, paged by opaque next links without a cap. _since keeps what changed
// at or after an instant; _type narrows the types. start and end (care
// dates) are accepted and not applied: the whole record is returned, and an
// OperationOutcome entry says so. Resources referenced from the compartment
// (Practitioners, Organizations) are not served here, so none are added.
func (s *Service) Everything(ctx context.Context, r Request) (*Response, error) {
	if err := s.checkType(r.Type); err != nil {
		return nil, err
	}
	if r.Type != search.PatientCompartment.Code {
		return nil, outcome.New(http.StatusNotFound, outcome.CodeNotSupported,
			"$everything is defined for Patient only (GET /Patient/[id]/$everything), not for %s", r.Type)
	}
	if err := checkID(r.ID); err != nil {
		return nil, err
	}
	q, issues, err := s.everythingQuery(r)
	if err != nil {
		return nil, err
	}
	// The patient must exist and be live on every page: 404 and 410 come
	// from its current version, not from an empty compartment.
	rctx, err := s.authorize(ctx, r.Type, auth.Read)
	if err != nil {
		return nil, err
	}
	v, err := s.store.Read(rctx, r.Type, r.ID)
	if err != nil {
		return nil, err
	}
	if v.Deleted {
		return nil, gone(v)
	}
	// The record of a linked set is every member's (those the caller may
	// read): one person, several source records.
	set, err := s.LinkedSet(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	q.Also = set[1:]
	if len(q.Also) > 0 && r.Query.Get("_cursor") == "" {
		refs := make([]string, len(q.Also))
		for i, id := range q.Also {
			refs[i] = "Patient/" + id
		}
		issues = append(issues, outcome.Issue{Severity: outcome.Information, Code: outcome.CodeInformational,
			Diagnostics: fmt.Sprintf("Patient/%s is linked as one person with %s: their records are included", r.ID, strings.Join(refs, ", "))})
	}
	if len(set) > 1 {
		// The audit names every member whose record is disclosed.
		ev := audit.Describe(http.MethodGet, r.Type, r.ID, 0, "", r.Query)
		ev.Patients = set
		audit.Note(ctx, ev)
	}
	// The compartment is a search over its member types: the token must
	// allow searching them (an explicit _type whole), and what it may not
	// see is left out in SQL.
	types := make([]string, len(q.Members))
	for i, m := range q.Members {
		types[i] = m.Type
	}
	sctx, allowed, err := s.authorizeTypes(ctx, types, r.Query.Get("_type") != "", auth.Search)
	if err != nil {
		return nil, err
	}
	members := q.Members[:0:0]
	for _, m := range q.Members {
		if slices.Contains(allowed, m.Type) {
			members = append(members, m)
		}
	}
	q.Members = members
	// AuditEvents are the audit log's, not the compartment's: they follow
	// the compartment's resources (everything.go's auditTail).
	withAudit := false
	for i, m := range q.Members {
		if m.Type == "AuditEvent" {
			withAudit = true
			q.Members = append(q.Members[:i:i], q.Members[i+1:]...)
			break
		}
	}
	page, err := s.everythingPage(sctx, q, withAudit, r.ID)
	if err != nil {
		return nil, err
	}
	b := searchset(r.Base+"/"+r.Type+"/"+r.ID+"/$everything", r.Query, page.Total, page.Next, "")
	if len(issues) > 0 {
		b.Entries = append(b.Entries, bundle.Entry{Resource: outcome.JSON(issues), Mode: "outcome"})
	}
	for i := range page.Resources {
		v := &page.Resources[i]
		b.Entries = append(b.Entries, bundle.Entry{FullURL: r.Base + "/" + v.Type + "/" + v.ID, Resource: v.Content, Mode: "match"})
	}
	return &Response{Status: http.StatusOK, Body: b.JSON()}, nil
}

// everythingQuery reads the operation's parameters. A malformed value is a
// 400 naming its parameter; an unknown parameter is reported in the Bundle,
// or refused under Prefer: handling=strict, as in search.
func (s *Service) everythingQuery(r Request) (store.CompartmentQuery, []outcome.Issue, error) {
	q := store.CompartmentQuery{Type: r.Type, ID: r.ID, Count: DefaultEverythingCount, Total: true}
	var issues []outcome.Issue
	warn := func(code outcome.IssueType, name, format string, args ...any) {
		issues = append(issues, outcome.Issue{Severity: outcome.Warning, Code: code,
			Diagnostics: name + ": " + fmt.Sprintf(format, args...), Expression: []string{name}})
	}
	var types []string
	for _, name := range sortedKeys(r.Query) {
		vals := r.Query[name]
		once := func() (string, error) {
			if len(vals) > 1 {
				return "", outcome.Invalid("%s appears %d times; $everything takes it once", name, len(vals)).At(name)
			}
			return vals[0], nil
		}
		switch name {
		case "_count":
			v, err := once()
			if err != nil {
				return q, nil, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return q, nil, outcome.Invalid("_count %q must be a whole number from 0 to %d", v, MaxEverythingCount).At("_count")
			}
			if n > MaxEverythingCount {
				warn(outcome.CodeInformational, name, "%d is above the maximum; %d used", n, MaxEverythingCount)
				n = MaxEverythingCount
			}
			q.Count = n
		case "_since":
			v, err := once()
			if err != nil {
				return q, nil, err
			}
			t, err := ParseInstant(v)
			if err != nil {
				return q, nil, outcome.Invalid("_since %q: %v", v, err).At("_since")
			}
			q.Since = t
		case "_type":
			for _, v := range vals {
				for _, t := range strings.Split(v, ",") {
					t = strings.TrimSpace(t)
					if !s.types[t] {
						return q, nil, outcome.Invalid("_type %q is not a resource type served here; supported types: %v", t, s.Types()).At("_type")
					}
					types = append(types, t)
				}
			}
		case "_cursor":
			v, err := once()
			if err != nil {
				return q, nil, err
			}
			q.Cursor = v
		case "start", "end":
			// Care-date filtering needs each type's clinical date; Mekong
			// returns the whole record rather than guess which date counts.
			warn(outcome.CodeNotSupported, name, "not applied; $everything returns the whole record whatever the care dates")
		case "_format", "_pretty":
			// Content negotiation handles these.
		default:
			if r.Strict {
				return q, nil, outcome.Invalid("parameter %q is not a parameter of $everything (start, end, _since, _type, _count) (Prefer: handling=strict)", name).At(name)
			}
			warn(outcome.CodeNotSupported, name, "ignored: not a parameter of $everything (start, end, _since, _type, _count)")
		}
	}
	if types == nil {
		// The patient's record, not the server's records about it: the
		// AuditEvents and Provenance come only when _type names them.
		for _, t := range s.Types() {
			if !isRecordType(t) {
				types = append(types, t)
			}
		}
	}
	q.Members = s.reg.Members(search.PatientCompartment, types)
	return q, issues, nil
}

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// everythingPage is one page of the compartment, then, when withAudit, of
// the patient's AuditEvents from the audit log, oldest first, recorded
// before the first page (each page read is itself audited about the
// patient: without the bound the pages would not end). The cursor wraps
// the compartment's, "cp.<until>.<cursor>", then the log's,
// "ae.<total>.<until>.<cursor>", carrying the total of the first page.
func (s *Service) everythingPage(ctx context.Context, q store.CompartmentQuery, withAudit bool, patient string) (*store.CompartmentPage, error) {
	if !withAudit {
		return s.store.Compartment(ctx, q)
	}
	log, err := s.auditLog()
	if err != nil {
		return nil, err
	}
	bad := outcome.Invalid("_cursor %q is not a cursor of this $everything", q.Cursor).At("_cursor")
	until := time.Now().UnixMicro()
	logQuery := func(until int64) store.AuditQuery {
		aq := store.AuditQuery{Patients: [][]string{{patient}}, Ascending: true,
			Dates: [][]store.AuditRange{{{Lo: q.Since.UnixMicro(), Hi: until}}}}
		if q.Since.IsZero() {
			aq.Dates[0][0].Lo = 0
		}
		return aq
	}
	if rest, ok := strings.CutPrefix(q.Cursor, "ae."); ok {
		f := strings.SplitN(rest, ".", 3)
		if len(f) != 3 {
			return nil, bad
		}
		total, err1 := strconv.Atoi(f[0])
		u, err2 := strconv.ParseInt(f[1], 36, 64)
		if err1 != nil || err2 != nil {
			return nil, bad
		}
		aq := logQuery(u)
		aq.Cursor, aq.Count = f[2], q.Count
		lp, err := log.SearchAudit(ctx, aq)
		if err != nil {
			return nil, err
		}
		return auditPage(&store.CompartmentPage{Total: total}, lp, total, u), nil
	}
	first := q.Cursor == ""
	if rest, ok := strings.CutPrefix(q.Cursor, "cp."); ok {
		u, c, found := strings.Cut(rest, ".")
		n, err := strconv.ParseInt(u, 36, 64)
		if !found || err != nil {
			return nil, bad
		}
		until, q.Cursor = n, c
	} else if !first {
		return nil, bad
	}
	page, err := s.store.Compartment(ctx, q)
	if err != nil {
		return nil, err
	}
	aq := logQuery(until)
	aq.Total = first && page.Total >= 0
	if page.Next == "" {
		aq.Count = q.Count - len(page.Resources)
	}
	var lp *store.AuditPage
	if aq.Total || aq.Count > 0 {
		if lp, err = log.SearchAudit(ctx, aq); err != nil {
			return nil, err
		}
	}
	if aq.Total {
		page.Total += lp.Total
	}
	switch {
	case page.Next != "":
		// The log's rows come after the compartment's pages.
		page.Next = "cp." + strconv.FormatInt(until, 36) + "." + page.Next
	case aq.Count > 0:
		page = auditPage(page, lp, page.Total, until)
	case q.Count > 0:
		// The compartment filled this page: the log starts on the next.
		page.Next = "ae." + strconv.Itoa(page.Total) + "." + strconv.FormatInt(until, 36) + "."
	}
	return page, nil
}

// auditPage appends the log page's AuditEvents and continues with its cursor.
func auditPage(page *store.CompartmentPage, lp *store.AuditPage, total int, until int64) *store.CompartmentPage {
	for i := range lp.Records {
		page.Resources = append(page.Resources, auditVersion(&lp.Records[i]))
	}
	page.Next = ""
	if lp.Next != "" {
		page.Next = "ae." + strconv.Itoa(total) + "." + strconv.FormatInt(until, 36) + "." + lp.Next
	}
	return page
}
