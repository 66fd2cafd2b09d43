package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/rest"
)

// The identity parts of the page (issue 11's service, CONTRACTS §2):
// fuzzy name search through MatchPatients, the records linked to a person,
// and for identity stewards the review queue of probable pairs, side by
// side with the evidence, and the decisions (link, reject, unlink), each
// with a reason.

// identityOn reports whether the gateway links records.
func (a *App) identityOn() bool { return a.svc.IdentityEnabled() }

// matchPatients is the fuzzy name search ($match): the probe is the name
// as typed and the birth year; ok is false when the gateway has no
// identity service, and the page then searches with the name parameter.
func (a *App) matchPatients(ctx context.Context, lang, name, year string) ([]Person, bool, error) {
	if !a.identityOn() {
		return nil, false, nil
	}
	probe := map[string]any{"resourceType": "Patient", "name": probeNames(name)}
	if year != "" {
		probe["birthDate"] = year
	}
	body, _ := fhirjson.Marshal(probe)
	cands, err := a.svc.MatchPatients(ctx, body, false, 20)
	var oe *outcome.Error
	if errors.As(err, &oe) && oe.Status == http.StatusBadRequest {
		// Too little to match on (one word, no birth year): the name
		// search alone answers.
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	var out []Person
	for _, c := range cands {
		p, err := personOf(lang, c.Version.Content, a.now())
		if err != nil {
			continue
		}
		p.Grade = c.Grade
		out = append(out, p)
	}
	return out, true, nil
}

// probeNames are the ways a typed name may split into family and given
// names: family first (Khmer, and Latin as passports print it) and family
// last (Thai), so the matcher compares both.
func probeNames(name string) []map[string]any {
	w := strings.Fields(name)
	if len(w) == 1 {
		return []map[string]any{{"text": name, "family": w[0]}, {"given": w}}
	}
	return []map[string]any{{"text": name, "family": w[0], "given": w[1:]}, {"family": w[len(w)-1], "given": w[:len(w)-1]}}
}

// linkedPeople are the banners of the records linked to id (itself excluded).
func (a *App) linkedPeople(ctx context.Context, lang, base string, ids []string) []Person {
	var out []Person
	for _, id := range ids[1:] {
		res, err := a.svc.Read(ctx, rest.Request{Base: base, Type: "Patient", ID: id})
		if err != nil {
			continue // unlinked or hidden meanwhile: not shown
		}
		if p, err := personOf(lang, res.Body, a.now()); err == nil {
			out = append(out, p)
		}
	}
	return out
}

type evidenceRow struct {
	Field, Outcome, Detail string
	Weight                 string
}

type pairView struct {
	A, B     Person
	Score    string
	Grade    string
	Note     string
	Evidence []evidenceRow
}

type reviewView struct {
	Total int
	Pairs []pairView
	Done  string
}

// review is the steward's queue of probable pairs.
func (a *App) review(c echo.Context) error {
	lang := langOf(c)
	ctx := c.Request().Context()
	base := a.base(c)
	res, err := a.svc.IdentityReview(ctx, rest.Request{Base: base, Type: "Patient", Query: url.Values{"_count": {"20"}}})
	if err != nil {
		return a.fail(c, err)
	}
	var params struct {
		Parameter []struct {
			Name         string          `json:"name"`
			ValueInteger int             `json:"valueInteger"`
			Part         json.RawMessage `json:"part"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(res.Body, &params); err != nil {
		return a.fail(c, err)
	}
	v := reviewView{Done: c.QueryParam("done")}
	for _, p := range params.Parameter {
		switch p.Name {
		case "total":
			v.Total = p.ValueInteger
		case "pair":
			if pv, ok := a.pairOf(ctx, lang, base, p.Part); ok {
				v.Pairs = append(v.Pairs, pv)
			}
		}
	}
	return a.render(c, http.StatusOK, "review", T(lang, "review.title"), v)
}

type part struct {
	Name           string                      `json:"name"`
	ValueString    string                      `json:"valueString"`
	ValueCode      string                      `json:"valueCode"`
	ValueDecimal   json.Number                 `json:"valueDecimal"`
	ValueReference *struct{ Reference string } `json:"valueReference"`
	Part           []part                      `json:"part"`
}

func (a *App) pairOf(ctx context.Context, lang, base string, raw json.RawMessage) (pairView, bool) {
	var parts []part
	if json.Unmarshal(raw, &parts) != nil {
		return pairView{}, false
	}
	var pv pairView
	read := func(ref string) (Person, bool) {
		id := strings.TrimPrefix(ref, "Patient/")
		id, _, _ = strings.Cut(id, "/")
		res, err := a.svc.Read(ctx, rest.Request{Base: base, Type: "Patient", ID: id})
		if err != nil {
			return Person{}, false
		}
		p, err := personOf(lang, res.Body, a.now())
		return p, err == nil
	}
	ok := 0
	for _, p := range parts {
		switch p.Name {
		case "patient", "other":
			if p.ValueReference == nil {
				continue
			}
			person, found := read(p.ValueReference.Reference)
			if !found {
				return pairView{}, false
			}
			if p.Name == "patient" {
				pv.A = person
			} else {
				pv.B = person
			}
			ok++
		case "score":
			pv.Score = p.ValueDecimal.String()
		case "grade":
			pv.Grade = p.ValueCode
		case "note":
			pv.Note = p.ValueString
		case "evidence":
			var e evidenceRow
			for _, ep := range p.Part {
				switch ep.Name {
				case "field":
					e.Field = evidenceField(lang, ep.ValueString)
				case "outcome":
					e.Outcome = ep.ValueCode
					if _, ok := messages["ev."+ep.ValueCode]; ok {
						e.Outcome = T(lang, "ev."+ep.ValueCode)
					}
				case "weight":
					e.Weight = ep.ValueDecimal.String()
				case "detail":
					e.Detail = ep.ValueString
				}
			}
			pv.Evidence = append(pv.Evidence, e)
		}
	}
	return pv, ok == 2
}

// evidenceField names a compared field in words: an identifier by its
// issuing system, the others by their message.
func evidenceField(lang, f string) string {
	if sys, ok := strings.CutPrefix(f, "identifier:"); ok {
		return identLabel(lang, sys)
	}
	if _, ok := messages["ev."+f]; ok {
		return T(lang, "ev."+f)
	}
	return f
}

// decide carries out a steward's decision on two records: link (the same
// person) or unlink (different people: rejects a queued pair, or undoes a
// link), with the reason given.
func (a *App) decide(c echo.Context) error {
	ctx := c.Request().Context()
	decision := c.Param("decision")
	patient, other := c.FormValue("patient"), c.FormValue("other")
	body, _ := fhirjson.Marshal(map[string]any{"resourceType": "Parameters", "parameter": []map[string]any{
		{"name": "patient", "valueReference": map[string]string{"reference": "Patient/" + patient}},
		{"name": "other", "valueReference": map[string]string{"reference": "Patient/" + other}},
		{"name": "reason", "valueString": c.FormValue("reason")},
	}})
	r := rest.Request{Base: a.base(c), Type: "Patient", Body: body}
	var err error
	switch decision {
	case "link":
		_, err = a.svc.IdentityLink(ctx, r)
	case "unlink":
		_, err = a.svc.IdentityUnlink(ctx, r)
	default:
		return a.notFound(c)
	}
	if err != nil {
		return a.fail(c, err)
	}
	next := c.FormValue("next")
	if next != "review" {
		return c.Redirect(http.StatusSeeOther, "/app/patient/"+url.PathEscape(patient))
	}
	return c.Redirect(http.StatusSeeOther, "/app/review?done="+decision)
}

// isSteward reports whether the signed-in user may review identities.
func isSteward(ctx context.Context) bool { return auth.FromContext(ctx).IdentitySteward() }
