package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// matchBody is a $match Parameters: the probe and any more parameters (raw JSON).
func matchBody(probe string, more ...string) string {
	ps := []string{`{"name":"resource","resource":` + probe + `}`}
	ps = append(ps, more...)
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(ps, ",") + `]}`
}

type matched struct {
	id, grade string
	score     float64
}

// matches reads a $match Bundle: its matches in order and its total, after
// checking the shape https://hl7.org/fhir/R4/patient-operation-match.html
// requires: a searchset, search.mode match, a score from 0 to 1 and the
// match-grade extension on every entry.
func matches(t *testing.T, r resp) ([]matched, int) {
	t.Helper()
	var b struct {
		ResourceType, Type string
		Total              *int
		Entry              []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
			Search   struct {
				Mode      string   `json:"mode"`
				Score     *float64 `json:"score"`
				Extension []struct {
					URL       string `json:"url"`
					ValueCode string `json:"valueCode"`
				} `json:"extension"`
			} `json:"search"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil || b.ResourceType != "Bundle" || b.Type != "searchset" || b.Total == nil {
		t.Fatalf("not a searchset Bundle with a total (%v): %s", err, r.body)
	}
	var out []matched
	for _, e := range b.Entry {
		if e.Search.Mode == "outcome" {
			continue
		}
		var p struct{ ResourceType, ID string }
		_ = json.Unmarshal(e.Resource, &p)
		if e.Search.Mode != "match" || e.Search.Score == nil || *e.Search.Score < 0 || *e.Search.Score > 1 || p.ResourceType != "Patient" ||
			!strings.HasSuffix(e.FullURL, "/Patient/"+p.ID) || len(e.Search.Extension) != 1 ||
			e.Search.Extension[0].URL != "http://hl7.org/fhir/StructureDefinition/match-grade" {
			t.Fatalf("entry does not follow Patient/$match: %s", r.body)
		}
		out = append(out, matched{id: p.ID, grade: e.Search.Extension[0].ValueCode, score: *e.Search.Score})
	}
	if *b.Total != len(out) {
		t.Fatalf("total %d with %d matches", *b.Total, len(out))
	}
	return out, *b.Total
}

func ids(ms []matched) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.id)
	}
	return out
}

// https://hl7.org/fhir/R4/patient-operation-match.html: results ordered
// from most to least likely, each graded certain, probable or possible with
// a score; onlyCertainMatches keeps the certain ones ("if there are
// multiple potential matches, then the match should not return the results
// with this flag set to true": several certain Patients that are not one
// linked person give none); count caps the answer.
func TestMatchGradesOrderCount(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		p1 := a.create(person("Sok", "Dara", "1990-04-01", passportKHM+"|N0000001"))
		p2 := a.create(person("Sok", "Vanna", "1990-04-01"))
		p3 := a.create(person("Sok", "Chea", "1990-07-07"))
		a.create(person("Chan", "Dara", "1985-01-01"))
		probe := person("SOK", "DARA", "1990-04-01", passportKHM+"|N0000001")

		got, _ := matches(t, a.want(a.do("POST", "/Patient/$match", matchBody(probe)), http.StatusOK))
		want := []matched{{p1, "certain", 0.99}, {p2, "probable", 0.8}, {p3, "possible", 0.3}}
		if !slices.Equal(got, want) {
			t.Fatalf("$match %v, want %v", got, want)
		}
		got, _ = matches(t, a.want(a.do("POST", "/Patient/$match", matchBody(probe, `{"name":"count","valueInteger":2}`)), http.StatusOK))
		if !slices.Equal(ids(got), []string{p1, p2}) {
			t.Fatalf("count=2: %v", got)
		}
		got, _ = matches(t, a.want(a.do("POST", "/Patient/$match", matchBody(probe, `{"name":"onlyCertainMatches","valueBoolean":true}`)), http.StatusOK))
		if !slices.Equal(got, want[:1]) {
			t.Fatalf("onlyCertainMatches: %v", got)
		}
		// "POST a patient record to Patient/$match": a bare Patient, the other parameters in the URL.
		got, _ = matches(t, a.want(a.do("POST", "/Patient/$match?count=1", probe), http.StatusOK))
		if !slices.Equal(got, want[:1]) {
			t.Fatalf("a bare Patient with count=1: %v", got)
		}
		// Nothing matches: an empty searchset, no error.
		got, _ = matches(t, a.want(a.do("POST", "/Patient/$match", matchBody(person("Keo", "Pisey", "2001-01-01"))), http.StatusOK))
		if len(got) != 0 {
			t.Fatalf("no match: %v", got)
		}

		// Two certain Patients that are not linked (the linker has not run):
		// ambiguous, so onlyCertainMatches returns none and says why.
		p5 := a.create(person("Sok", "Dara", "1990-04-01", passportKHM+"|N0000001"))
		only := a.want(a.do("POST", "/Patient/$match", matchBody(probe, `{"name":"onlyCertainMatches","valueBoolean":true}`)), http.StatusOK)
		if got, _ := matches(t, only); len(got) != 0 || !strings.Contains(string(only.body), `"multiple-matches"`) {
			t.Fatalf("two unlinked certain matches with onlyCertainMatches: %s", only.body)
		}
		// Once linked they are one person, and both come back.
		a.link()
		a.wantLinked("level3", p1, p5)
		got, _ = matches(t, a.want(a.do("POST", "/Patient/$match", matchBody(probe, `{"name":"onlyCertainMatches","valueBoolean":true}`)), http.StatusOK))
		if !slices.Equal(ids(got), []string{p1, p5}) {
			t.Fatalf("one linked person with two certain records: %v", got)
		}
	})
}

// Bad input is a 400 naming the parameter, and nothing is matched.
func TestMatchBadInput(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		probe := person("Sok", "Dara", "1990-04-01")
		for _, c := range []struct {
			name, body, param string
		}{
			{"no body", "", "resource"},
			{"no resource", `{"resourceType":"Parameters","parameter":[{"name":"count","valueInteger":3}]}`, "resource"},
			{"not a Patient", matchBody(`{"resourceType":"Observation","status":"final","code":{"text":"x"}}`), "resource"},
			{"unparseable JSON", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient"`, "resource"},
			{"malformed Patient", matchBody(`{"resourceType":"Patient","name":"Sok Dara"}`), "resource"},
			{"nothing to match on", matchBody(`{"resourceType":"Patient","gender":"male"}`), "resource"},
			{"count 0", matchBody(probe, `{"name":"count","valueInteger":0}`), "count"},
			{"count 101", matchBody(probe, `{"name":"count","valueInteger":101}`), "count"},
			{"count not an integer", matchBody(probe, `{"name":"count","valueString":"5"}`), "count"},
			{"bare Patient, count in URL out of range", "", "count"},
			{"onlyCertainMatches not a boolean", matchBody(probe, `{"name":"onlyCertainMatches","valueString":"yes"}`), "onlyCertainMatches"},
			{"unknown parameter", matchBody(probe, `{"name":"onlySingleMatch","valueBoolean":true}`), "onlySingleMatch"},
			{"resource twice", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + probe + `},{"name":"resource","resource":` + probe + `}]}`, "resource"},
		} {
			path := "/Patient/$match"
			body := c.body
			if c.name == "bare Patient, count in URL out of range" {
				path, body = "/Patient/$match?count=1000", probe
			}
			r := a.do("POST", path, body)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400: %s", c.name, r.status, r.body)
				continue
			}
			is := r.issue(t)
			if fmt.Sprint(is["expression"]) != "["+c.param+"]" {
				t.Errorf("%s: expression %v, want %s (%v)", c.name, is["expression"], c.param, is["diagnostics"])
			}
		}
	})
}

// "A Patient the token may not read is never returned, counted or hinted
// at": candidates are read with the caller's access, so a Patient labelled
// R is invisible to a token without R, and a patient app sees its own
// Patient only (and not even that when it is labelled R: the app has no R
// permission). $match needs the Patient search permission.
func TestMatchAccess(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		p1 := a.create(person("Sok", "Dara", "1990-04-01", passportKHM+"|N0000001"))
		p2 := a.create(person("Sok", "Dara", "1990-04-01", labelR))
		probe := matchBody(person("Sok", "Dara", "1990-04-01", passportKHM+"|N0000001"))
		for who, want := range map[string][]string{"steward": {p1, p2}, "nurse": {p1}, "patient:" + p1: {p1}, "patient:" + p2: nil} {
			r := a.want(a.as(who, "POST", "/Patient/$match", probe), http.StatusOK)
			got, total := matches(t, r)
			if !slices.Equal(ids(got), want) || total != len(want) {
				t.Errorf("%s: %v (total %d), want %v", who, got, total, want)
			}
			if who == "nurse" && strings.Contains(string(r.body), "outcome") {
				t.Errorf("nurse: the answer hints at something: %s", r.body)
			}
		}
		a.want(a.as("observer", "POST", "/Patient/$match", probe), http.StatusForbidden)
	})
}

// Every $match is audited as a query (BALP Query) naming each Patient
// returned, and only those.
func TestMatchAudited(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		p1 := a.create(person("Sok", "Dara", "1990-04-01", passportKHM+"|N0000001"))
		p2 := a.create(person("Sok", "Vanna", "1990-04-01"))
		a.want(a.as("nurse", "POST", "/Patient/$match", matchBody(person("Sok", "Dara", "1990-04-01"), `{"name":"count","valueInteger":1}`)), http.StatusOK)
		events := func(patient string) []map[string]any {
			var out []map[string]any
			for _, e := range entries(t, a.want(a.do("GET", "/AuditEvent?patient=Patient/"+patient+"&subtype=operation", ""), http.StatusOK).json(t)) {
				e := e["resource"].(map[string]any)
				for _, en := range asList(e["entity"]) {
					q, _ := base64.StdEncoding.DecodeString(fmt.Sprint(en.(map[string]any)["query"]))
					if strings.HasPrefix(string(q), "$match?") {
						out = append(out, e)
					}
				}
			}
			return out
		}
		got := events(p1)
		if len(got) != 1 {
			t.Fatalf("AuditEvents of the $match for Patient/%s: %d", p1, len(got))
		}
		ae := string(mustJSON(got[0]))
		for _, want := range []string{`"action":"E"`, `"value":"nurse-9"`, `"display":"Query"`, `IHE.BasicAudit.PatientQuery`} {
			if !strings.Contains(ae, want) {
				t.Errorf("AuditEvent lacks %s: %s", want, ae)
			}
		}
		if strings.Contains(ae, "Dara") {
			t.Errorf("the AuditEvent holds the probe's name: %s", ae)
		}
		if n := len(events(p2)); n != 0 {
			t.Errorf("Patient/%s was not returned but is named in %d AuditEvents", p2, n)
		}
	})
}

// "resource: Use this to provide an entire set of patient details for the
// MPI to match against; the resource need not be valid for storage"
// (https://hl7.org/fhir/R4/patient-operation-match.html): a probe the store
// would refuse (it carries an element R4 does not define) still
// matches, and nothing is stored.
func TestMatchProbeNeedNotBeStorable(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		p1 := a.create(person("Sok", "Dara", "1990-04-01", passportKHM+"|N0000001"))
		probe := person("Sok", "Dara", "1990-04-01", passportKHM+"|N0000001", `"unknownElement":"from an older system"`)
		if r := a.do("POST", "/Patient", probe); r.status < 400 {
			t.Fatalf("the store accepted the probe (%d); the test needs one it refuses", r.status)
		}
		got, _ := matches(t, a.want(a.do("POST", "/Patient/$match", matchBody(probe)), http.StatusOK))
		if len(got) != 1 || got[0].id != p1 || got[0].grade != "certain" {
			t.Fatalf("$match with an unstorable probe: %v", got)
		}
		if n := a.count("/Patient"); n != 1 {
			t.Errorf("%d Patients after $match, want 1", n)
		}
	})
}
