package rest

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/bundle"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/store"
)

// AuditEvents are not resources in the store: they are rendered from the
// audit log (store.AuditLog) when an auditor reads them, as BALP
// AuditEvents (https://profiles.ihe.net/ITI/BALP/). Each has one version.

// auditLog is the store's audit log; every Mekong store has one.
func (s *Service) auditLog() (store.AuditLog, error) {
	if s.log == nil {
		return nil, outcome.New(http.StatusNotImplemented, outcome.CodeNotSupported, "this store keeps no audit log")
	}
	return s.log, nil
}

// auditVersion is a log row as a version: its rendered AuditEvent.
func auditVersion(r *store.AuditRecord) store.Version {
	return store.Version{Type: "AuditEvent", ID: r.ID, VersionID: 1, LastUpdated: r.Recorded, Method: store.MethodPost, Content: audit.Render(r)}
}

// readAuditEvent is read and vread of AuditEvent/id (version 1 only).
func (s *Service) readAuditEvent(ctx context.Context, r Request, interaction string) (*Response, error) {
	log, err := s.auditLog()
	if err != nil {
		return nil, err
	}
	rec, err := log.ReadAudit(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if interaction == "vread" && r.VersionID != 1 {
		return nil, outcome.NotFound("AuditEvent/%s has no version %d: audit records have one version", r.ID, r.VersionID)
	}
	v := auditVersion(rec)
	ev := audit.Event{Action: audit.ActionRead, Interaction: interaction, Type: v.Type, ID: v.ID, VersionID: 1}
	ev.Merge(audit.Facts{Labels: labelsOf(rec)})
	audit.Note(ctx, ev)
	return &Response{Status: http.StatusOK, Version: &v, Body: v.Content}, nil
}

func labelsOf(r *store.AuditRecord) []audit.Label {
	out := make([]audit.Label, len(r.Labels))
	for i, l := range r.Labels {
		out[i] = audit.Label(l)
	}
	return out
}

// AuditSearchParams are the AuditEvent search parameters the audit log
// answers (https://hl7.org/fhir/R4/auditevent.html#search, plus purpose);
// the CapabilityStatement lists these only.
var AuditSearchParams = []string{"_id", "_lastUpdated", "_security", "patient", "agent", "date", "entity", "action", "outcome", "type", "subtype", "source", "purpose"}

var auditSearchParams = strings.Join(AuditSearchParams, ", ")

// searchAuditEvents is a type-level AuditEvent search, answered by the log.
func (s *Service) searchAuditEvents(ctx context.Context, r Request, q *search.Query) (*Response, error) {
	log, err := s.auditLog()
	if err != nil {
		return nil, err
	}
	aq, err := auditQuery(q)
	if err != nil {
		return nil, err
	}
	page, err := log.SearchAudit(ctx, aq)
	if err != nil {
		return nil, err
	}
	ev := audit.Event{Action: audit.ActionExecute, Interaction: searchInteraction(r.Type), Type: r.Type, Query: r.Query.Encode(),
		Patients: audit.PatientsInQuery(r.Type, r.Query)}
	for i := range page.Records {
		ev.Merge(audit.Facts{Labels: labelsOf(&page.Records[i])})
	}
	audit.Note(ctx, ev)
	b := searchset(r.Base+"/AuditEvent", r.Query, page.Total, page.Next, "")
	if issues := searchIssues(q, &store.SearchResult{}); len(issues) > 0 {
		b.Entries = append(b.Entries, bundle.Entry{Resource: outcome.JSON(issues), Mode: "outcome"})
	}
	for i := range page.Records {
		rec := &page.Records[i]
		b.Entries = append(b.Entries, bundle.Entry{
			FullURL:  r.Base + "/AuditEvent/" + rec.ID,
			Resource: search.Subset("AuditEvent", audit.Render(rec), q.Summary, q.Elements),
			Mode:     "match",
		})
	}
	return &Response{Status: http.StatusOK, Body: b.JSON()}, nil
}

// auditQuery turns a parsed AuditEvent search into the log's query. What
// the log cannot answer (chains, _has, includes, the parameters it keeps no
// column for) is a 400 naming the parameter: an auditor must not get a
// wider answer than asked for.
func auditQuery(q *search.Query) (store.AuditQuery, error) {
	aq := store.AuditQuery{Count: q.Count, Cursor: q.Cursor,
		Total: q.Total == "accurate" || q.Total == "estimate" || q.Summary == "count"}
	if q.Summary == "count" {
		aq.Count = 0
	}
	if len(q.Includes) > 0 || len(q.RevIncludes) > 0 {
		return aq, outcome.Invalid("AuditEvent searches support no _include or _revinclude").At("_include")
	}
	for _, k := range q.Sort {
		if k.Param == nil || (k.Param.Code != "date" && k.Param.Code != "_lastUpdated") {
			return aq, outcome.Invalid("AuditEvents sort by date only (_sort=date or _sort=-date, the default)").At("_sort")
		}
		aq.Ascending = !k.Desc
	}
	for i := range q.And {
		c := &q.And[i]
		unsupported := func(what string) error {
			return outcome.Invalid("%s: %s is not supported on AuditEvent; its parameters are %s", c.Name, what, auditSearchParams).At(c.Name)
		}
		if c.Chain != nil || c.Has != nil {
			return aq, unsupported("chaining")
		}
		if c.Missing != nil {
			return aq, unsupported(":missing")
		}
		if c.Param == nil {
			return aq, unsupported("this parameter")
		}
		switch c.Modifier {
		case "", "identifier", "Patient":
		default:
			return aq, unsupported("the modifier :" + c.Modifier)
		}
		var err error
		switch c.Param.Code {
		case "_id":
			var ids []string
			for _, v := range c.Values {
				ids = append(ids, v.Token.Code)
			}
			aq.IDs = append(aq.IDs, ids)
		case "patient":
			var ps []string
			for _, v := range c.Values {
				if c.Modifier == "identifier" {
					return aq, unsupported(":identifier")
				}
				if v.Ref.ID != "" && (v.Ref.Type == "" || v.Ref.Type == "Patient") {
					ps = append(ps, v.Ref.ID)
				}
			}
			aq.Patients = append(aq.Patients, ps)
		case "agent":
			var as []store.AuditAgent
			for _, v := range c.Values {
				as = append(as, agentOf(c.Modifier, v))
			}
			aq.Agents = append(aq.Agents, as)
		case "date", "_lastUpdated":
			var rs []store.AuditRange
			for _, v := range c.Values {
				rs = append(rs, dateRanges(v.Date)...)
			}
			aq.Dates = append(aq.Dates, rs)
		case "entity":
			var es []store.AuditEntity
			for _, v := range c.Values {
				e, err := entityOf(c.Modifier, v)
				if err != nil {
					return aq, outcome.Invalid("%s: %v", c.Name, err).At(c.Name)
				}
				es = append(es, e)
			}
			aq.Entities = append(aq.Entities, es)
		case "action", "outcome":
			var codes []string
			for _, v := range c.Values {
				codes = append(codes, v.Token.Code)
			}
			if c.Param.Code == "action" {
				aq.Actions = append(aq.Actions, codes)
			} else {
				aq.Outcomes = append(aq.Outcomes, codes)
			}
		case "type", "subtype", "purpose", "_security":
			var ts []store.AuditToken
			for _, v := range c.Values {
				t := v.Token
				ts = append(ts, store.AuditToken{System: t.System, Code: t.Code, AnySystem: t.AnySystem, AnyCode: t.AnyCode})
			}
			switch c.Param.Code {
			case "type":
				aq.Types = append(aq.Types, ts)
			case "subtype":
				aq.Subtypes = append(aq.Subtypes, ts)
			case "purpose":
				aq.Purposes = append(aq.Purposes, ts)
			default:
				aq.Labels = append(aq.Labels, ts)
			}
		case "source":
			var ss []string
			for _, v := range c.Values {
				switch {
				case c.Modifier == "identifier" && (v.Token.AnySystem || v.Token.System == audit.GatewaySystem):
					ss = append(ss, v.Token.Code)
				case c.Modifier == "" && v.Ref.Type == "" && v.Ref.ID != "":
					ss = append(ss, v.Ref.ID)
				}
			}
			aq.Sources = append(aq.Sources, ss)
		default:
			err = unsupported("this parameter")
		}
		if err != nil {
			return aq, err
		}
		if c.Modifier == "Patient" && c.Param.Code != "patient" {
			return aq, unsupported("the modifier :Patient")
		}
	}
	return aq, nil
}

// agentOf resolves an agent value to the rows' user, client and
// organization columns, as audit.OrganizationRef writes them.
func agentOf(modifier string, v search.Value) store.AuditAgent {
	if modifier == "identifier" {
		t := v.Token
		a := store.AuditAgent{Issuer: t.System, Subject: t.Code, AnyIssuer: t.AnySystem}
		switch {
		case t.AnySystem:
			a.ClientID, a.Organizations = t.Code, []string{t.Code}
		case t.System == audit.ClientSystem:
			a.ClientID = t.Code
		case t.System == "urn:ietf:rfc:3986":
			a.Organizations = []string{t.Code}
		case t.System == "":
			a.Organizations = []string{t.Code}
		default:
			a.Organizations = []string{t.System + "|" + t.Code}
		}
		return a
	}
	r := v.Ref
	switch {
	case r.URL != "":
		return store.AuditAgent{Subject: r.URL, AnyIssuer: true, Organizations: []string{r.URL}}
	case r.Type == "":
		return store.AuditAgent{Subject: r.ID, AnyIssuer: true, ClientID: r.ID, Organizations: []string{r.ID, "Organization/" + r.ID}}
	}
	ref := r.Type + "/" + r.ID
	return store.AuditAgent{Subject: ref, AnyIssuer: true, Organizations: []string{ref}}
}

// entityOf reads an entity value: Type/id, Type/id/_history/n, a bare id,
// or (:identifier) a request id.
func entityOf(modifier string, v search.Value) (store.AuditEntity, error) {
	if modifier == "identifier" {
		return store.AuditEntity{RequestID: v.Token.Code}, nil
	}
	e := store.AuditEntity{Type: v.Ref.Type, ID: v.Ref.ID}
	if _, ver, ok := strings.Cut(v.Raw, "/_history/"); ok && e.Type != "" {
		n, err := strconv.ParseInt(ver, 10, 64)
		if err != nil || n < 1 {
			return e, errBadVersion
		}
		e.Version = n
	}
	if e.ID == "" {
		return e, errBadEntity
	}
	return e, nil
}

type restError string

func (e restError) Error() string { return string(e) }

const (
	errBadVersion = restError("the version after /_history/ must be a whole number from 1")
	errBadEntity  = restError("an entity is Type/id, Type/id/_history/n or an id of this server")
)

// dateRanges are the recorded times a date value matches, a recorded time
// being an instant (https://hl7.org/fhir/R4/search.html#prefix).
func dateRanges(d search.DateValue) []store.AuditRange {
	lo, hi := d.Range.Lo, d.Range.Hi
	switch d.Prefix {
	case search.PrefixNe:
		return []store.AuditRange{{Hi: lo}, {Lo: hi}}
	case search.PrefixLt, search.PrefixEb:
		return []store.AuditRange{{Hi: lo}}
	case search.PrefixLe:
		return []store.AuditRange{{Hi: hi}}
	case search.PrefixGt, search.PrefixSa:
		return []store.AuditRange{{Lo: hi}}
	case search.PrefixGe:
		return []store.AuditRange{{Lo: lo}}
	case search.PrefixAp:
		// "approximately": within 10% of the gap between the value and now.
		gap := time.Now().UnixMicro() - lo
		if gap < 0 {
			gap = -gap
		}
		return []store.AuditRange{{Lo: lo - gap/10, Hi: hi + gap/10}}
	}
	return []store.AuditRange{{Lo: lo, Hi: hi}}
}

// checkAuditLogQuery refuses searches that would reach AuditEvents other
// than through the log: several types at once, or includes, _has and
// chains through AuditEvent from another type's search.
func checkAuditLogQuery(q *search.Query) error {
	if len(q.Types) > 1 {
		for _, t := range q.Types {
			if t == "AuditEvent" {
				return outcome.Invalid("AuditEvents are searched on their own: GET [base]/AuditEvent?...").At("_type")
			}
		}
	}
	for _, inc := range q.Includes {
		if inc.TargetType == "AuditEvent" {
			return outcome.Invalid("AuditEvents cannot be included; search them at [base]/AuditEvent").At("_include")
		}
	}
	for _, inc := range q.RevIncludes {
		if inc.SourceType == "AuditEvent" {
			return outcome.Invalid("AuditEvents cannot be included; search them at [base]/AuditEvent?entity=...").At("_revinclude")
		}
	}
	for _, c := range q.And {
		for h := c.Has; h != nil; h = h.Next.Has {
			if h.Type == "AuditEvent" {
				return outcome.Invalid("_has:AuditEvent is not supported; search AuditEvents at [base]/AuditEvent").At(c.Name)
			}
		}
	}
	return nil
}
