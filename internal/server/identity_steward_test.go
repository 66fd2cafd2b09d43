package server_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/internal/rest"
)

// review reads a page of the review queue: its pairs as "a b", total and next.
func (a *idAPI) review(who, path string) (pairs []map[string]any, total int, next string) {
	a.t.Helper()
	ps := parameters(a.t, a.want(a.as(who, "GET", path, ""), http.StatusOK))
	for _, p := range ps["pair"] {
		pairs = append(pairs, p.(map[string]any))
	}
	total = int(ps["total"][0].(float64))
	if n := ps["next"]; len(n) > 0 {
		next = n[0].(string)
	}
	return pairs, total, next
}

func pairIDs(ps []map[string]any) []string {
	var out []string
	for _, p := range ps {
		a := strings.Split(refTo(p["patient"]), "/")[0]
		b := strings.Split(refTo(p["other"]), "/")[0]
		out = append(out, a+" "+b)
	}
	return out
}

func key(x, y string) string {
	if x > y {
		x, y = y, x
	}
	return x + " " + y
}

// Issue 11, the review queue and manual decisions: probable pairs wait for
// a steward, paged best first with their score and evidence; confirm and
// link make one set (Patient.link level4 where a steward decided), reject
// and unlink make the two different people for good: the engine never links
// them again, even when their sources send them again.
func TestReviewQueueAndDecisions(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		d1 := a.create(person("Sok", "Dara", "1990-04-01"))
		d2 := a.create(person("Sok", "Vanna", "1990-04-01")) // probable with d1
		s1 := a.create(person("Chan", "Sophea", "1988-01-01"))
		s2 := a.create(person("Chan", "Srey", "1988-01-01")) // probable with s1
		lone := a.create(person("Keo", "Pisey", "1970-05-05"))
		st := a.link()
		if st.Queued != 2 || st.Linked != 0 {
			t.Fatalf("linker: %+v, want 2 pairs queued for review", st)
		}

		// The queue, paged one pair at a time, with a total on each page.
		first, total, next := a.review("steward", "/Patient/$identity-review?_count=1")
		if total != 2 || len(first) != 1 || next == "" {
			t.Fatalf("first page: %v total %d next %q", pairIDs(first), total, next)
		}
		second, total, last := a.review("steward", strings.TrimPrefix(next, a.base))
		if total != 2 || len(second) != 1 || last != "" {
			t.Fatalf("second page: %v total %d next %q", pairIDs(second), total, last)
		}
		got := append(pairIDs(first), pairIDs(second)...)
		slices.Sort(got)
		want := []string{key(d1, d2), key(s1, s2)}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("queue %v, want %v", got, want)
		}
		p := first[0]
		if p["score"] != 0.8 || p["grade"] != "probable" || p["queued"] == nil || !strings.Contains(refTo(p["patient"]), "/_history/1") {
			t.Errorf("pair: %v", p)
		}
		ev := fmt.Sprint(p["evidence"])
		if !strings.Contains(ev, "name") || !strings.Contains(ev, "birthDate") || !strings.Contains(ev, "agree") || !strings.Contains(ev, "partial") {
			t.Errorf("evidence: %v", ev)
		}
		if mine, total, _ := a.review("steward", "/Patient/"+d2+"/$identity-review"); total != 1 || pairIDs(mine)[0] != key(d1, d2) {
			t.Errorf("d2's pairs: %v total %d", pairIDs(mine), total)
		}
		if _, total, _ := a.review("steward", "/Patient/"+lone+"/$identity-review"); total != 0 {
			t.Errorf("a Patient without pairs: total %d", total)
		}
		// The pairs of a Patient that is not there: 404, as its read is.
		a.want(a.as("steward", "GET", "/Patient/nobody-here/$identity-review", ""), http.StatusNotFound)

		// Confirm d1–d2.
		out := parameters(t, a.want(a.as("steward", "POST", "/Patient/$identity-link", decision(d1, d2, "same mother's name on both intake forms")), http.StatusOK))
		if out["decision"][0] != "confirm" || len(out["member"]) != 2 || out["reason"][0] != "same mother's name on both intake forms" {
			t.Fatalf("confirm: %v", out)
		}
		a.wantLinked("level4", d1, d2)
		if _, total, _ := a.review("steward", "/Patient/$identity-review"); total != 1 {
			t.Errorf("after confirming, %d pairs wait", total)
		}
		// Reject s1–s2.
		out = parameters(t, a.want(a.as("steward", "POST", "/Patient/$identity-unlink", decision(s2, s1, "different mothers")), http.StatusOK))
		if out["decision"][0] != "reject" || len(out["member"]) != 1 {
			t.Fatalf("reject: %v", out)
		}
		if _, total, _ := a.review("steward", "/Patient/$identity-review"); total != 0 {
			t.Errorf("after rejecting, %d pairs wait", total)
		}
		// Link by hand, then unlink.
		out = parameters(t, a.want(a.as("steward", "POST", "/Patient/$identity-link", decision(lone, s1, "same photo on both cards")), http.StatusOK))
		if out["decision"][0] != "link" {
			t.Fatalf("link: %v", out)
		}
		a.wantLinked("level4", lone, s1)
		out = parameters(t, a.want(a.as("steward", "POST", "/Patient/$identity-unlink", decision(lone, s1, "the photos were of siblings")), http.StatusOK))
		if out["decision"][0] != "unlink" {
			t.Fatalf("unlink: %v", out)
		}
		a.wantLinked("", lone)
		a.wantLinked("", s1)

		// The sources send every Patient again, and a new record certain to
		// be s2's double arrives: the engine keeps every decision.
		for _, id := range []string{d1, d2, s1, s2, lone} {
			r := a.want(a.do("GET", "/Patient/"+id, ""), http.StatusOK)
			a.want(a.do("PUT", "/Patient/"+id, string(r.body)), http.StatusOK)
		}
		twin := a.create(person("Chan", "Srey", "1988-01-01"))
		a.link()
		a.wantLinked("level4", d1, d2)
		a.wantLinked("", lone)
		a.wantLinked("level3", s2, twin)
		if pairs, total, _ := a.review("steward", "/Patient/$identity-review"); total != 1 || pairIDs(pairs)[0] != key(s1, twin) {
			// twin–s1 is probable, like s2–s1 was: a new pair for a steward.
			t.Errorf("after re-sending: %v (total %d), want only %s", pairIDs(pairs), total, key(s1, twin))
		}
		if _, err := a.linksOf(s1, s2); err == nil {
			t.Errorf("s1 and s2 were linked again")
		}

		// Each decision is audited with who and why.
		aes := a.want(a.do("GET", "/AuditEvent?patient=Patient/"+s1+"&subtype="+q("https://mekong-fhir.github.io/fhir/OperationDefinition|identity-reject"), ""), http.StatusOK)
		body := string(aes.body)
		if !strings.Contains(body, `"text":"different mothers"`) || !strings.Contains(body, `"value":"steward-1"`) {
			t.Errorf("the rejection's AuditEvent lacks who or why: %s", body)
		}
		// So is every other kind of decision, each under its own subtype.
		for _, d := range []struct{ kind, patient, why string }{
			{"confirm", d1, "same mother's name on both intake forms"},
			{"link", lone, "same photo on both cards"},
			{"unlink", lone, "the photos were of siblings"},
		} {
			body := string(a.want(a.do("GET", "/AuditEvent?patient=Patient/"+d.patient+"&subtype="+q("https://mekong-fhir.github.io/fhir/OperationDefinition|identity-"+d.kind), ""), http.StatusOK).body)
			if !strings.Contains(body, `"text":"`+d.why+`"`) || !strings.Contains(body, `"value":"steward-1"`) {
				t.Errorf("the %s decision's AuditEvent lacks who or why: %s", d.kind, body)
			}
		}
	})
}

// linksOf reports an error unless x's links name y.
func (a *idAPI) linksOf(x, y string) ([]string, error) {
	ls := a.links(x)
	for _, l := range ls {
		if strings.HasPrefix(l, y+":") {
			return ls, nil
		}
	}
	return ls, fmt.Errorf("Patient/%s does not link Patient/%s", x, y)
}

// A steward cannot join two sets when another steward decided that members
// of them are different people; unlinking a pair that other links still
// join puts the engine's links on the way back in review, or, when only
// stewards' links join them, is refused naming those links.
func TestDecisionConflicts(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		x := a.create(person("Sok", "Dara", "1990-04-01"))
		y := a.create(person("Sok", "Dara", "1990-04-01"))
		z := a.create(person("Sok", "Dara", "1990-04-01"))
		w := a.create(person("Lim", "Kosal", "1960-02-02"))
		a.link()
		a.wantLinked("level3", x, y, z)
		// x and z are different people: the engine's links joining them go back to review.
		a.want(a.as("steward", "POST", "/Patient/$identity-unlink", decision(x, z, "different fathers")), http.StatusOK)
		if _, err := a.linksOf(x, z); err == nil {
			t.Fatal("x and z still linked")
		}
		pairs, _, _ := a.review("steward", "/Patient/$identity-review")
		for _, p := range pairs {
			if !strings.Contains(fmt.Sprint(p["note"]), "decided are different people") {
				t.Errorf("a pair put back in review says why: %v", p)
			}
		}
		// The engine never joins them again.
		a.want(a.do("PUT", "/Patient/"+z, string(a.want(a.do("GET", "/Patient/"+z, ""), http.StatusOK).body)), http.StatusOK)
		a.link()
		if _, err := a.linksOf(x, z); err == nil {
			t.Fatal("the engine linked x and z again")
		}
		// w is linked by hand to z; linking w to x would join x and z.
		a.want(a.as("steward", "POST", "/Patient/$identity-link", decision(w, z, "same person")), http.StatusOK)
		r := a.want(a.as("steward", "POST", "/Patient/$identity-link", decision(w, x, "same person")), http.StatusConflict)
		if !strings.Contains(string(r.body), "different people") {
			t.Errorf("409 without the reason: %s", r.body)
		}
		// Unlinking w and z when only... a steward's link joins them: fine
		// (it is that very link); a path of stewards' links is refused.
		v := a.create(person("Lim", "Vibol", "1961-03-03"))
		a.link()
		a.want(a.as("steward", "POST", "/Patient/$identity-link", decision(v, w, "same person")), http.StatusOK)
		r = a.want(a.as("steward", "POST", "/Patient/$identity-unlink", decision(v, z, "not the same")), http.StatusConflict)
		if !strings.Contains(string(r.body), "steward-1") {
			t.Errorf("409 does not name the stewards' links: %s", r.body)
		}
		if _, err := a.linksOf(v, z); err != nil {
			t.Errorf("a refused unlink changed the set: %v", err)
		}
	})
}

// Decisions need the steward's scope, a reason and both Patients readable;
// bad input is a 400 naming the parameter.
func TestDecisionInput(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		x := a.create(person("Sok", "Dara", "1990-04-01"))
		y := a.create(person("Chan", "Dara", "1991-04-01"))
		hidden := a.create(person("Keo", "Dara", "1992-04-01", labelR))
		for _, op := range []string{"$identity-link", "$identity-unlink"} {
			a.want(a.as("nurse", "POST", "/Patient/"+op, decision(x, y, "r")), http.StatusForbidden)
			a.want(a.as("nurse", "GET", "/Patient/$identity-review", ""), http.StatusForbidden)
			for _, c := range []struct{ body, param string }{
				{decision(x, y, ""), "reason"},
				{decision(x, y, "   "), "reason"},
				{decision(x, y, strings.Repeat("x", 1001)), "reason"},
				{decision(x, x, "r"), "other"},
				{strings.Replace(decision(x, y, "r"), `"Patient/`+y+`"`, `"Observation/`+y+`"`, 1), "other"},
				{`{"resourceType":"Parameters","parameter":[{"name":"other","valueReference":{"reference":"Patient/` + y + `"}},{"name":"reason","valueString":"r"}]}`, "patient"},
				{`not json`, "patient"},
			} {
				r := a.want(a.as("steward", "POST", "/Patient/"+op, c.body), http.StatusBadRequest)
				if e := fmt.Sprint(r.issue(t)["expression"]); e != "["+c.param+"]" {
					t.Errorf("%s %s: expression %s, want %s", op, c.body, e, c.param)
				}
			}
			// A Patient the steward may not read is not found.
			r := a.want(a.as("stewardNoR", "POST", "/Patient/"+op, decision(x, hidden, "r")), http.StatusNotFound)
			if e := fmt.Sprint(r.issue(t)["expression"]); e != "[other]" {
				t.Errorf("%s hidden: %s", op, r.body)
			}
		}
		for _, c := range []string{"_count=0", "_count=101", "_count=x", "foo=1"} {
			a.want(a.as("steward", "GET", "/Patient/$identity-review?"+c, ""), http.StatusBadRequest)
		}
		a.want(a.as("steward", "GET", "/Patient/$identity-review?_cursor="+base64.RawURLEncoding.EncodeToString([]byte(`{"s":1}`))+"x", ""), http.StatusBadRequest)
	})
}

// Issue 11, "Manual decisions": the engine never overrides a steward, and
// "the links must survive a source re-sending its own version of the
// Patient". Here the source is IOM through $ingest: its SOK DARA is certain
// to be a clinic's Sok Dara (the engine links them) and probable with Sok
// Vanna (queued). A steward unlinks the first pair, rejects the second and
// links SOK DARA by hand to a record the engine would never pair with him.
// IOM then sends its file again, unchanged and then with his Khmer given
// name respelled (a new version of the Patient, so the engine runs on it
// again): every decision stands.
func TestDecisionsSurviveReingest(t *testing.T) {
	payloads := samplePayloads(t)
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		clinic := a.create(person("Sok", "Dara", "1992-04-17", thaiCID+"|1100000000017"))
		sibling := a.create(person("Sok", "Vanna", "1992-04-17"))
		other := a.create(person("Keo", "Pisey", "1970-05-05"))
		a.want(a.send("ingest", payloads["iom-csv"]), http.StatusOK)
		found := matchIDs(t, a.want(a.do("GET", "/Patient?identifier="+q(passportKHM+"|N01234567"), ""), http.StatusOK).json(t))
		if len(found) != 1 {
			t.Fatalf("ingested Patients with the IOM passport: %v", found)
		}
		iom := found[0]
		a.link()
		a.wantLinked("level3", iom, clinic)
		if pairs, _, _ := a.review("steward", "/Patient/"+iom+"/$identity-review"); !slices.Contains(pairIDs(pairs), key(iom, sibling)) {
			t.Fatalf("SOK DARA's queued pairs: %v", pairIDs(pairs))
		}

		for _, d := range []struct{ other, op, want string }{
			{clinic, "$identity-unlink", "unlink"},
			{sibling, "$identity-unlink", "reject"},
			{other, "$identity-link", "link"},
		} {
			out := parameters(t, a.want(a.as("steward", "POST", "/Patient/"+d.op, decision(iom, d.other, "checked the paper files")), http.StatusOK))
			if out["decision"][0] != d.want {
				t.Fatalf("%s %s: decision %v, want %s", d.op, d.other, out["decision"], d.want)
			}
		}
		decided := func(when string) {
			t.Helper()
			if got := a.links(iom); !slices.Equal(got, []string{other + ":level4"}) {
				t.Errorf("%s: SOK DARA's links %v, want only %s:level4 (the steward's)", when, got, other)
			}
			if got := a.links(clinic); len(got) != 0 {
				t.Errorf("%s: the clinic's Sok Dara is linked again: %v", when, got)
			}
			if pairs, _, _ := a.review("steward", "/Patient/"+iom+"/$identity-review"); len(pairs) != 0 {
				t.Errorf("%s: SOK DARA is back in review: %v", when, pairIDs(pairs))
			}
		}
		decided("after the decisions")

		before := a.want(a.do("GET", "/Patient/"+iom, ""), http.StatusOK).header.Get("ETag")
		a.want(a.send("ingest", payloads["iom-csv"]), http.StatusOK)
		a.link()
		decided("after IOM sent the same file again")
		changed := payloads["iom-csv"]
		changed.body = strings.Replace(changed.body, "SOK,DARA,សុខ,ដារ៉ា", "SOK,DARA,សុខ,ដារា", 1)
		if changed.body == payloads["iom-csv"].body {
			t.Fatal("the sample's first row changed; update this test")
		}
		a.want(a.send("ingest", changed), http.StatusOK)
		if after := a.want(a.do("GET", "/Patient/"+iom, ""), http.StatusOK).header.Get("ETag"); after == before {
			t.Fatal("the respelled file made no new version of SOK DARA: the engine did not run again")
		}
		a.link()
		decided("after IOM sent his name respelled")
	})
}

// Issue 11, "The review queue": each pair with its score and the evidence,
// which fields agreed and which disagreed, as the real matcher weighed them.
// A Khmer-script record and a Latin one of the same woman, whose passport
// was renewed between them, are probable: the queue shows the renewed
// passport as a disagreement beside the agreeing birth date and gender.
func TestReviewEvidenceFromMatcher(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		a.useShippedMatcher()
		kh := a.create(`{"resourceType":"Patient","identifier":[{"system":"` + passportKHM + `","value":"N1111111"}],` +
			`"name":[{"text":"ញឹម ស្រីលក្ខណ៍"}],"gender":"female","birthDate":"1994-02-11"}`)
		iom := a.create(`{"resourceType":"Patient","identifier":[{"system":"` + passportKHM + `","value":"N2222222"}],` +
			`"name":[{"family":"NHEM","given":["SREYLEAK"]}],"gender":"female","birthDate":"1994-02-11"}`)
		if st := a.link(); st.Queued != 1 || st.Linked != 0 {
			t.Fatalf("linker %+v, want the pair queued", st)
		}
		pairs, total, _ := a.review("steward", "/Patient/$identity-review")
		if total != 1 || pairIDs(pairs)[0] != key(kh, iom) {
			t.Fatalf("queue %v total %d", pairIDs(pairs), total)
		}
		p := pairs[0]
		score, _ := p["score"].(float64)
		if p["grade"] != "probable" || score <= 0 || score >= 1 {
			t.Errorf("pair grade %v score %v", p["grade"], p["score"])
		}
		outcome := map[string]string{}
		for _, e := range asList(p["evidence"]) {
			var field, out string
			for _, part := range e.([]any) { // the evidence parameter's parts
				part := part.(map[string]any)
				switch part["name"] {
				case "field":
					field = part["valueString"].(string)
				case "outcome":
					out = part["valueCode"].(string)
				}
			}
			outcome[field] = out
		}
		for field, want := range map[string]string{"identifier:" + passportKHM: "disagree", "birthDate": "agree", "gender": "agree"} {
			if outcome[field] != want {
				t.Errorf("evidence %s = %q, want %q (all: %v)", field, outcome[field], want, outcome)
			}
		}
		if outcome["name"] == "" || outcome["name"] == "disagree" {
			t.Errorf("name evidence %q (all: %v)", outcome["name"], outcome)
		}
	})
}

// The README's identity walkthrough with the real matcher (issue 11, "how a
// steward reviews"): the IOM and Thai records of one woman are linked
// (certain), her Khmer-script record waits in review paired with each of
// them (probable); confirming one pair joins her to the set, and the other
// pair, now inside the set, leaves the queue.
func TestStewardStoryWithMatcher(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		a.useShippedMatcher()
		iom := a.create(`{"resourceType":"Patient","identifier":[{"system":"` + passportKHM + `","value":"N9876501"}],` +
			`"name":[{"family":"NHEM","given":["SREYLEAK"]}],"gender":"female","birthDate":"1994-02-11"}`)
		th := a.create(`{"resourceType":"Patient","identifier":[{"system":"https://terms.sil-th.org/id/hn/10742","value":"HN0042"}],` +
			`"name":[{"family":"ญึม","given":["สรีเลียก"]}],"gender":"female","birthDate":"1994-02-11"}`)
		kh := a.create(`{"resourceType":"Patient","name":[{"text":"ញឹម ស្រីលក្ខណ៍"}],"gender":"female","birthDate":"1994-02-11"}`)
		a.link()
		a.wantLinked("level3", iom, th)
		pairs, total, _ := a.review("steward", "/Patient/"+kh+"/$identity-review")
		got := pairIDs(pairs)
		slices.Sort(got)
		want := []string{key(kh, iom), key(kh, th)}
		slices.Sort(want)
		if total != 2 || !slices.Equal(got, want) {
			t.Fatalf("the Khmer record's pairs %v (total %d), want %v", got, total, want)
		}
		a.want(a.as("steward", "POST", "/Patient/$identity-link", decision(kh, th, "same mother and village")), http.StatusOK)
		if _, total, _ := a.review("steward", "/Patient/$identity-review"); total != 0 {
			t.Errorf("after confirming, %d pairs wait", total)
		}
		if got := a.links(kh); !slices.Equal(got, func() []string { w := []string{iom + ":level3", th + ":level4"}; slices.Sort(w); return w }()) {
			t.Errorf("the Khmer record's links %v", got)
		}
	})
}

// useShippedMatcher replaces the grade engine with the matcher and its
// default configuration, as the server ships.
func (a *idAPI) useShippedMatcher() {
	a.t.Helper()
	m, err := match.New(match.DefaultConfig())
	if err != nil {
		a.t.Fatal(err)
	}
	a.svc.SetIdentity(m, rest.IdentityOptions{})
}
