package app_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/rest"
)

// twin is the same man as the fixture's person, recorded by IOM with his
// passport name only and no identifier the others carry: the matcher can
// only call the two probable, so they wait for a steward.
const twin = `{"resourceType":"Patient",
 "identifier":[{"system":"https://mekong-fhir.github.io/fhir/sid/iom-case-number","value":"KHM-MHA-2024-0999"}],
 "name":[{"family":"SOK","given":["DARA"]}],"gender":"male","birthDate":"1992-04-17"}`

func (e *env) createTwin() string {
	e.t.Helper()
	res, err := e.svc.Create(context.Background(), rest.Request{Base: e.srv.URL + "/fhir", Type: "Patient", Body: []byte(twin)})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.DrainLinks(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	return res.Version.ID
}

// A name spelt another way is found through the matcher ($match), with
// its grade.
func TestFuzzyNameSearch(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn("clinic")
	page := b.search("Sokh Darra", "1992")
	wantIn(t, page, "1 found", "DARA SOK", "Match possible", "Cambodian passport N01234567")
}

// Identity review (issue 11's steward decisions, CONTRACTS §2): the
// steward sees the probable pair side by side with the evidence, links
// them with a reason (the record then shows the linked record and both
// records' data), unlinks them with a reason, and rejects a queued pair
// with a reason; every decision is
// audited with the reason; other roles have no review.
func TestIdentityReview(t *testing.T) {
	e := newEnv(t, envOpts{})
	twinID := e.createTwin()
	s := e.browser()
	s.signIn("steward")
	_, page := s.get("/app/review")
	wantIn(t, page, "1 pairs wait for review", "probable", "DARA SOK", "IOM case KHM-MHA-2024-0999", "Cambodian passport N01234567",
		"Evidence", "Birth date agree", "Same person: link", "Different people: reject")
	form := url.Values{"patient": {e.dara}, "other": {twinID}, "next": {"review"}}
	status, out := s.post("/app/review", "/app/identity/link", form)
	if status != 400 || !strings.Contains(out, "needs a reason") {
		t.Fatalf("a decision without a reason: %d %s", status, text(out))
	}
	form.Set("reason", "Same passport photo at Poipet; IOM typed the name only")
	_, out = s.post("/app/review", "/app/identity/link", form)
	wantIn(t, out, "Linked. The decision is recorded.", "No pairs wait for review")

	// The record shows the linked record, for everyone who may read it.
	c := e.browser()
	c.signIn("clinic")
	_, rec := c.get("/app/patient/" + e.dara)
	wantIn(t, rec, "Linked records", "IOM case KHM-MHA-2024-0999", "COVID-19: 4 doses")
	if strings.Contains(rec, "/app/identity/unlink") {
		t.Error("clinic staff are offered an unlink")
	}
	if status, _ := c.get("/app/review"); status != 403 {
		t.Errorf("review as clinic staff: %d, want 403", status)
	}

	// Unlink from the record, with a reason.
	_, rec = s.get("/app/patient/" + e.dara)
	uf := url.Values{"patient": {e.dara}, "other": {twinID}, "reason": {"Different father's name on the IOM form"}}
	uf.Set("csrf", csrfOf(rec))
	_, after := s.do("POST", "/app/identity/unlink", uf)
	if strings.Contains(after, "Linked records") || !strings.Contains(text(after), "DARA SOK") {
		t.Fatalf("after unlink: %s", text(after))
	}
	a := e.browser()
	a.signIn("auditor")
	_, log := a.get("/app/patient/" + e.dara + "/access-log")
	wantIn(t, log, "Same passport photo at Poipet", "Different father's name on the IOM form", "dev-steward")

	// Reject a queued pair, with a reason: the pair leaves the queue and
	// the records stay apart.
	e2 := newEnv(t, envOpts{})
	twin2 := e2.createTwin()
	s2 := e2.browser()
	s2.signIn("steward")
	rf := url.Values{"patient": {e2.dara}, "other": {twin2}, "next": {"review"}}
	if status, out := s2.post("/app/review", "/app/identity/unlink", rf); status != 400 || !strings.Contains(out, "needs a reason") {
		t.Fatalf("a rejection without a reason: %d %s", status, text(out))
	}
	rf.Set("reason", "Different mother's name; another village")
	_, out = s2.post("/app/review", "/app/identity/unlink", rf)
	wantIn(t, out, "Decided different people. The decision is recorded.", "No pairs wait for review")
	_, rec = s2.get("/app/patient/" + e2.dara)
	wantNotIn(t, rec, "Linked records", "KHM-MHA-2024-0999")
	a2 := e2.browser()
	a2.signIn("auditor")
	_, log = a2.get("/app/patient/" + e2.dara + "/access-log")
	wantIn(t, log, "Different mother's name; another village", "dev-steward")
}
