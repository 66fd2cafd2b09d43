package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/ingest"
	"github.com/mekong-fhir/mekong/internal/rest"
)

// maxRecordEntries bounds what one person page reads of each type; a
// record longer than that says so rather than growing without bound.
const maxRecordEntries = 1000

type searchView struct {
	Q, Year  string
	Searched bool
	ByName   bool
	Fuzzy    bool
	Problem  string
	Results  []Person
}

func (a *App) searchPage(c echo.Context) error {
	return a.render(c, http.StatusOK, "search", T(langOf(c), "search.title"), searchView{})
}

var yearRE = regexp.MustCompile(`^[0-9]{4}$`)

// search answers the search form. It is a POST, so what was typed (a
// passport number, a name) never appears in a URL, a log line or the
// browser's history.
func (a *App) search(c echo.Context) error {
	lang := langOf(c)
	v := searchView{Q: strings.TrimSpace(c.FormValue("q")), Year: strings.TrimSpace(c.FormValue("year"))}
	switch {
	case v.Q == "":
		v.Problem = T(lang, "search.empty")
	case v.Year != "" && !yearRE.MatchString(v.Year):
		v.Problem = T(lang, "search.year.bad")
	}
	if v.Problem != "" {
		return a.render(c, http.StatusUnprocessableEntity, "search", T(lang, "search.title"), v)
	}
	v.Searched = true
	ctx := c.Request().Context()
	q := url.Values{"_count": {"50"}}
	if ident, ok := identifierQuery(v.Q); ok {
		q.Set("identifier", ident)
	} else {
		v.ByName = true
		// The matcher finds names spelt differently in any script; the
		// name parameter then adds records whose names begin with what was
		// typed, so neither way of finding someone is lost.
		ms, ok, err := a.matchPatients(ctx, lang, v.Q, v.Year)
		if err != nil {
			return a.fail(c, err)
		}
		v.Fuzzy, v.Results = ok, ms
		for _, w := range strings.Fields(v.Q) {
			q.Add("name", w)
		}
	}
	if v.Year != "" {
		q.Set("birthdate", v.Year)
	}
	res, err := a.svc.Search(ctx, rest.Request{Base: a.base(c), Type: "Patient", Query: q})
	if err != nil {
		return a.fail(c, err)
	}
	for _, body := range matches(res.Body) {
		if p, err := personOf(lang, body, a.now()); err == nil && !hasPerson(v.Results, p.ID) {
			v.Results = append(v.Results, p)
		}
	}
	return a.render(c, http.StatusOK, "search", T(lang, "search.title"), v)
}

func hasPerson(ps []Person, id string) bool {
	for _, p := range ps {
		if p.ID == id {
			return true
		}
	}
	return false
}

// identifierQuery tells an identifier from a name: identifiers carry
// digits (N01234567, 1-1017-00123-45-6, KHM-MHA-2024-0001); names do not.
// A Thai ID typed with dashes or spaces is searched as its 13 digits.
func identifierQuery(q string) (string, bool) {
	if !strings.ContainsFunc(q, unicode.IsDigit) {
		return "", false
	}
	compact := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, q)
	if digits := strings.ReplaceAll(compact, "-", ""); len(digits) == 13 && strings.Trim(digits, "0123456789") == "" {
		compact = digits
	}
	r := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `|`, `\|`, `$`, `\$`)
	return r.Replace(compact), true
}

// matches returns the resources of a searchset's match entries.
func matches(bundle []byte) [][]byte {
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
			Search   struct {
				Mode string `json:"mode"`
			} `json:"search"`
		} `json:"entry"`
		Link []struct {
			Relation string `json:"relation"`
			URL      string `json:"url"`
		} `json:"link"`
	}
	if json.Unmarshal(bundle, &b) != nil {
		return nil
	}
	var out [][]byte
	for _, e := range b.Entry {
		if e.Search.Mode == "match" {
			out = append(out, e.Resource)
		}
	}
	return out
}

// nextCursor returns the _cursor of a searchset's next link, "" at the end.
func nextCursor(bundle []byte) string {
	var b struct {
		Link []struct {
			Relation string `json:"relation"`
			URL      string `json:"url"`
		} `json:"link"`
	}
	if json.Unmarshal(bundle, &b) != nil {
		return ""
	}
	for _, l := range b.Link {
		if l.Relation == "next" {
			if u, err := url.Parse(l.URL); err == nil {
				return u.Query().Get("_cursor")
			}
		}
	}
	return ""
}

// searchAll follows a search's pages up to maxRecordEntries resources.
func (a *App) searchAll(ctx context.Context, base, typ string, q url.Values) ([][]byte, bool, error) {
	var out [][]byte
	for {
		res, err := a.svc.Search(ctx, rest.Request{Base: base, Type: typ, Query: q})
		if err != nil {
			return nil, false, err
		}
		out = append(out, matches(res.Body)...)
		next := nextCursor(res.Body)
		if next == "" {
			return out, false, nil
		}
		if len(out) >= maxRecordEntries {
			return out, true, nil
		}
		q.Set("_cursor", next)
	}
}

type personView struct {
	Record
	Linked        []string
	LinkedPeople  []Person
	Steward       bool
	Truncated     bool
	MaxEntries    int
	MayBreakGlass bool
	BreakGlassMin int
	Grant         *grantView
	Started       bool
	MayAccessLog  bool
	Card, Summary bool
}

type grantView struct{ Until, Reason string }

// person is the record page: banner, vaccinations, results and timeline
// of the person and the records linked to it.
func (a *App) person(c echo.Context) error {
	lang := langOf(c)
	ctx := c.Request().Context()
	id := c.Param("id")
	base := a.base(c)
	res, err := a.svc.Read(ctx, rest.Request{Base: base, Type: "Patient", ID: id})
	if err != nil {
		return a.fail(c, err)
	}
	p, err := personOf(lang, res.Body, a.now())
	if err != nil {
		return a.fail(c, err)
	}
	ids, err := a.linkedSet(ctx, id)
	if err != nil {
		return a.fail(c, err)
	}
	refs := make([]string, len(ids))
	for i, x := range ids {
		refs[i] = "Patient/" + x
	}
	v := personView{Record: Record{Person: p}, Linked: ids, MayAccessLog: a.svc.MayReadAccessLog(ctx),
		Card: a.hasCard(), Summary: a.cfg.Documents.Summary != nil, Started: c.QueryParam("btg") == "started"}
	imms, t1, err := a.searchAll(ctx, base, "Immunization", url.Values{"patient": {strings.Join(refs, ",")}, "_count": {"200"}})
	if err != nil {
		return a.fail(c, err)
	}
	obs, t2, err := a.searchAll(ctx, base, "Observation", url.Values{"subject": {strings.Join(refs, ",")}, "_count": {"200"}})
	if err != nil {
		return a.fail(c, err)
	}
	v.Truncated, v.MaxEntries = t1 || t2, maxRecordEntries
	v.LinkedPeople = a.linkedPeople(ctx, lang, base, ids)
	v.Steward = isSteward(ctx) && a.identityOn()
	var ve, re []Event
	v.Vaccines, ve = vaccinations(lang, imms)
	v.Results, re = results(lang, obs)
	v.Timeline = timeline(ve, re)
	pr := auth.FromContext(ctx)
	if pr.MayBreakGlass() {
		// Offered on every record, whether or not it holds anything
		// confidential: the offer itself must not tell.
		v.MayBreakGlass = true
		v.BreakGlassMin = int(a.breakGlassFor() / time.Minute)
		grants, err := a.svc.Grants(ctx)
		if err != nil {
			return a.fail(c, err)
		}
		for _, g := range grants {
			if containsID(ids, g.Patient) {
				v.Grant = &grantView{Until: FormatTime(lang, g.Expires, a.cfg.Location), Reason: g.Reason}
			}
		}
	}
	return a.render(c, http.StatusOK, "person", p.DisplayName(), v)
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func (a *App) breakGlassFor() time.Duration {
	if d := a.svc.Policy.BreakGlassFor; d > 0 {
		return d
	}
	return rest.DefaultBreakGlass
}

// breakGlass opens the person's confidential results for the configured
// time, with the reason given; the rest layer stores the grant and its
// AuditEvent, and the access filter honours it from the next request on.
func (a *App) breakGlass(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	ids, err := a.linkedSet(ctx, id)
	if err != nil {
		return a.fail(c, err)
	}
	for _, x := range ids {
		if _, err := a.svc.BreakGlass(ctx, x, c.FormValue("reason")); err != nil {
			return a.fail(c, err)
		}
	}
	return c.Redirect(http.StatusSeeOther, "/app/patient/"+url.PathEscape(id)+"?btg=started")
}

// export downloads the person's record in a source format through
// $export-source (th43: the 43-file ZIP; dhis2: a tracker payload).
func (a *App) export(c echo.Context) error {
	format := c.QueryParam("format")
	if format != ingest.TH43 && format != ingest.DHIS2 {
		return a.fail(c, outcome.Invalid("format %q: the page offers th43 and dhis2", format).At("format"))
	}
	out, err := ingest.Export(c.Request().Context(), a.svc, a.base(c), c.Param("id"), format, ingest.ExportOptions{Options: a.cfg.Mappings})
	if err != nil {
		return a.fail(c, err)
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": out.Filename}))
	return c.Blob(http.StatusOK, out.ContentType, out.Body)
}

type logRow struct {
	When, Who, What, Why string
	Emergency, Failed    bool
}

type logView struct {
	Person Person
	Rows   []logRow
}

// accessLog shows who read or changed the person's record: the
// AuditEvents about the patient, newest first.
func (a *App) accessLog(c echo.Context) error {
	lang := langOf(c)
	ctx := c.Request().Context()
	id := c.Param("id")
	base := a.base(c)
	res, err := a.svc.AccessLog(ctx, base, id, 200)
	if err != nil {
		return a.fail(c, err)
	}
	v := logView{Person: Person{ID: id}}
	if pr, err := a.svc.Read(ctx, rest.Request{Base: base, Type: "Patient", ID: id}); err == nil {
		v.Person, _ = personOf(lang, pr.Body, a.now())
	}
	for _, body := range matches(res.Body) {
		v.Rows = append(v.Rows, logRowOf(lang, body, a.cfg.Location))
	}
	return a.render(c, http.StatusOK, "accesslog", T(lang, "log.title"), v)
}

func logRowOf(lang string, body []byte, loc *time.Location) logRow {
	var ev struct {
		Type struct {
			Code string `json:"code"`
		} `json:"type"`
		Subtype []struct {
			Code string `json:"code"`
		} `json:"subtype"`
		Action   string `json:"action"`
		Recorded string `json:"recorded"`
		Outcome  string `json:"outcome"`
		Purpose  []struct {
			Coding []struct {
				Code string `json:"code"`
			} `json:"coding"`
			Text string `json:"text"`
		} `json:"purposeOfEvent"`
		Agent []struct {
			Requestor bool `json:"requestor"`
			Who       *struct {
				Display    string `json:"display"`
				Identifier *struct {
					Value string `json:"value"`
				} `json:"identifier"`
			} `json:"who"`
			PurposeOfUse []struct {
				Coding []struct {
					Code string `json:"code"`
				} `json:"coding"`
			} `json:"purposeOfUse"`
		} `json:"agent"`
		Entity []struct {
			What *struct {
				Reference string `json:"reference"`
			} `json:"what"`
			Role *struct {
				Code string `json:"code"`
			} `json:"role"`
			Description string `json:"description"`
			Query       string `json:"query"`
		} `json:"entity"`
	}
	_ = json.Unmarshal(body, &ev)
	row := logRow{Failed: ev.Outcome != "" && ev.Outcome != "0"}
	if t, err := time.Parse(time.RFC3339Nano, ev.Recorded); err == nil {
		row.When = FormatTime(lang, t, loc)
	}
	var why []string
	for _, ag := range ev.Agent {
		if !ag.Requestor || ag.Who == nil {
			continue
		}
		if ag.Who.Identifier != nil {
			row.Who = ag.Who.Identifier.Value
		} else {
			row.Who = ag.Who.Display
		}
		for _, p := range ag.PurposeOfUse {
			for _, cd := range p.Coding {
				why = append(why, cd.Code)
			}
		}
	}
	target, query := "", ""
	for _, e := range ev.Entity {
		if e.What != nil && e.Role != nil && e.Role.Code == "4" {
			target = e.What.Reference
		}
		if e.Role != nil && e.Role.Code == "24" {
			// BALP's query entity: "<type> <interaction>" and the raw
			// query, base64; the auditor reads the type and the query.
			query, _, _ = strings.Cut(e.Description, " ")
			if query == "system" {
				query = ""
			}
			if raw, err := base64.StdEncoding.DecodeString(e.Query); err == nil && len(raw) > 0 {
				q := string(raw)
				if u, err := url.QueryUnescape(q); err == nil {
					q = u
				}
				query = strings.TrimSpace(query + " ?" + q)
			}
		}
	}
	switch {
	case ev.Type.Code == "110113":
		row.Emergency = true
		row.What = T(lang, "log.emergency")
	case ev.Action == "R":
		row.What = T(lang, "log.read", target)
	case ev.Action == "E":
		row.What = T(lang, "log.search", strings.TrimSpace(target+" "+query))
	default:
		row.What = T(lang, "log.write", target)
	}
	for _, p := range ev.Purpose {
		for _, cd := range p.Coding {
			why = append(why, cd.Code)
		}
		if p.Text != "" {
			why = append(why, p.Text)
		}
	}
	row.Why = strings.Join(dedup(why), " · ")
	return row
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// linkedSet is the person and the records linked to it (CONTRACTS §2):
// the identity service's linked set when it is served, else the record alone.
func (a *App) linkedSet(ctx context.Context, id string) ([]string, error) {
	if a.links != nil {
		return a.links.LinkedSet(ctx, id)
	}
	return []string{id}, nil
}

func restRead(base, id string) rest.Request {
	return rest.Request{Base: base, Type: "Patient", ID: id}
}

func patientQuery(id string) url.Values {
	return url.Values{"patient": {"Patient/" + id}, "_count": {"200"}}
}
