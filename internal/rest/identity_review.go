package rest

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Review queue page sizes.
const (
	DefaultReviewCount = 20
	MaxReviewCount     = 100
)

// IdentityReview: GET [base]/Patient/$identity-review (the whole queue) or
// GET [base]/Patient/[id]/$identity-review (the pairs of one Patient). The
// pairs the engine found probable, best score first, as a Parameters: total,
// one pair per probable match with both Patients, the score, the grade, when
// it was queued, why it was queued rather than linked (note) and the
// evidence (each field compared, whether it agreed, and its weight), and a
// next link. A pair shows only when the caller may read both Patients. The
// reading is audited like a search of the Patients shown.
func (s *Service) IdentityReview(ctx context.Context, r Request) (*Response, error) {
	if s.ident == nil {
		return nil, outcome.NotSupported(http.StatusNotImplemented, "the review queue needs a store that keeps identity links")
	}
	if r.Type != store.LinkedType {
		return nil, outcome.New(http.StatusNotFound, outcome.CodeNotSupported, "$identity-review is GET /Patient/$identity-review or /Patient/[id]/$identity-review")
	}
	if r.ID != "" {
		if err := checkID(r.ID); err != nil {
			return nil, err
		}
	}
	if err := checkSteward(ctx); err != nil {
		return nil, err
	}
	q := store.ReviewQuery{Patient: r.ID, Count: DefaultReviewCount, Total: true}
	for name, vals := range r.Query {
		if len(vals) > 1 {
			return nil, outcome.Invalid("%s appears %d times; $identity-review takes it once", name, len(vals)).At(name)
		}
		switch v := vals[0]; name {
		case "_count":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxReviewCount {
				return nil, outcome.Invalid("_count %q must be a whole number from 1 to %d", v, MaxReviewCount).At("_count")
			}
			q.Count = n
		case "_cursor":
			q.Cursor = v
		case "_format", "_pretty":
		default:
			return nil, outcome.Invalid("%q is not a parameter of $identity-review (_count, _cursor)", name).At(name)
		}
	}
	rctx, err := s.authorize(ctx, store.LinkedType, auth.Read)
	if err != nil {
		return nil, err
	}
	if r.ID != "" {
		// The pairs of a Patient that does not exist (or that the caller
		// may not read) are a 404, as a read of it is; a deleted one 410.
		v, err := s.store.Read(rctx, store.LinkedType, r.ID)
		if err != nil {
			return nil, err
		}
		if v.Deleted {
			return nil, gone(v)
		}
	}
	page, err := s.ident.st.ReviewQueue(rctx, q)
	if err != nil {
		return nil, err
	}
	path := r.Base + "/Patient/$identity-review"
	if r.ID != "" {
		path = r.Base + "/Patient/" + r.ID + "/$identity-review"
	}
	params := []map[string]any{{"name": "total", "valueInteger": page.Total}}
	var patients []string
	for i := range page.Pairs {
		p := &page.Pairs[i]
		patients = append(patients, p.A, p.B)
		params = append(params, map[string]any{"name": "pair", "part": pairParts(p)})
	}
	if page.Next != "" {
		params = append(params, map[string]any{"name": "next", "valueUri": path + "?" + url.Values{"_count": {strconv.Itoa(q.Count)}, "_cursor": {page.Next}}.Encode()})
	}
	body, _ := fhirjson.Marshal(map[string]any{"resourceType": "Parameters", "parameter": params})
	ev := audit.Event{Action: audit.ActionExecute, Interaction: "operation", Type: store.LinkedType, ID: r.ID,
		Query: "$identity-review?" + r.Query.Encode(), Patients: unique(patients)}
	noteAccess(rctx, ev)
	return &Response{Status: http.StatusOK, Body: body}, nil
}

// pairParts are the parts of one pair of the review queue.
func pairParts(p *store.Pair) []map[string]any {
	ref := func(id string, v int64) map[string]any {
		m := map[string]any{"reference": "Patient/" + id}
		if v > 0 {
			m["reference"] = "Patient/" + id + "/_history/" + strconv.FormatInt(v, 10)
		}
		return m
	}
	parts := []map[string]any{
		{"name": "patient", "valueReference": ref(p.A, p.VersionA)},
		{"name": "other", "valueReference": ref(p.B, p.VersionB)},
		{"name": "score", "valueDecimal": math.Round(p.Score*10000) / 10000},
		{"name": "grade", "valueCode": p.Grade},
		{"name": "queued", "valueInstant": resource.FormatInstant(p.Updated)},
	}
	if p.Note != "" {
		parts = append(parts, map[string]any{"name": "note", "valueString": p.Note})
	}
	for _, e := range decodeEvidence(p.Evidence) {
		ep := []map[string]any{
			{"name": "field", "valueString": e.Field},
			{"name": "outcome", "valueCode": e.Outcome},
			{"name": "weight", "valueDecimal": math.Round(e.Weight*1000) / 1000},
		}
		if e.Detail != "" {
			ep = append(ep, map[string]any{"name": "detail", "valueString": e.Detail})
		}
		parts = append(parts, map[string]any{"name": "evidence", "part": ep})
	}
	return parts
}

func unique(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
