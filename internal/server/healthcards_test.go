package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/healthcard"
	"github.com/mekong-fhir/mekong/internal/healthcard/trust"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// Tests of SMART Health Cards over HTTP
// (https://hl7.org/fhir/uv/smart-health-cards-and-links/cards-specification.html and
// OperationDefinition-patient-i-health-cards-issue.html).

// newCardAPI is an authenticated API with health cards on (cfg), its
// issuer the test server's base URL unless cfg names one (a loopback http
// URL, allowed for development).
func newCardAPI(t *testing.T, st store.Store, cfg rest.HealthCardConfig, opts ...func(*rest.Service)) *authAPI {
	t.Helper()
	return newAuthAPI(t, st, server.Config{}, append([]func(*rest.Service){func(svc *rest.Service) { svc.EnableHealthCards(cfg, st) }}, opts...)...)
}

const issueBody = `{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueUri":"%s"}]}`

func issueParams(types ...string) string {
	var ps []string
	for _, t := range types {
		ps = append(ps, `{"name":"credentialType","valueUri":"`+t+`"}`)
	}
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(ps, ",") + `]}`
}

func cardsOf(t *testing.T, r resp) (cards []string, links [][]string) {
	t.Helper()
	var p struct {
		Parameter []struct {
			Name        string `json:"name"`
			ValueString string `json:"valueString"`
			Part        []struct {
				Name         string `json:"name"`
				ValueURI     string `json:"valueUri"`
				ValueInteger *int   `json:"valueInteger"`
			} `json:"part"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	for _, x := range p.Parameter {
		switch x.Name {
		case "verifiableCredential":
			cards = append(cards, x.ValueString)
		case "resourceLink":
			links = append(links, []string{x.Part[1].ValueURI, x.Part[2].ValueURI})
		}
	}
	return cards, links
}

func loadCardPatient(t *testing.T, a *authAPI, tok string) {
	t.Helper()
	for _, b := range []string{
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Sok","given":["Dara"]}],"birthDate":"1990-04-01","gender":"male"}`,
		imm("i1", "p1"),
		// SARS-CoV-2 PCR, HIV and TB results; only the first may go in a card.
		obs("c1", "p1", "94500-6", ""), obs("h1", "p1", "56888-1", ""), obs("t1", "p1", "85362-2", ""),
	} {
		var m map[string]any
		_ = json.Unmarshal([]byte(b), &m)
		a.want(a.as(tok, "PUT", "/"+m["resourceType"].(string)+"/"+m["id"].(string), b), http.StatusCreated)
	}
}

func TestHealthCardsIssueAndVerify(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			a := newCardAPI(t, b.Open(t), rest.HealthCardConfig{})
			all := a.mint("user/*.cruds mekong/label.*", "")
			loadCardPatient(t, a, all)
			iss := a.base // the issuer is the base URL here

			// The JWKS is public, with CORS, and lists the key with its CRL counter.
			r := a.want(a.do("GET", a.srv.URL+"/fhir/.well-known/jwks.json", ""), http.StatusOK)
			if r.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("jwks.json without CORS")
			}
			keys, err := healthcard.ParseJWKS(r.body)
			if err != nil || len(keys) != 1 || keys[0].CRLVersion != 1 {
				t.Fatalf("jwks %s %v", r.body, err)
			}
			tr := healthcard.StaticTrust{}
			tr.Add(&healthcard.Issuer{URL: iss, Keys: keys, CRLs: map[string]*healthcard.CRL{keys[0].ID: {Kid: keys[0].ID, Method: "rid", Ctr: 1}}})
			verify := func(jws string) *healthcard.Result {
				return (&healthcard.Verifier{Trust: tr}).Verify(context.Background(), jws)
			}

			// An immunization card: resource-type form and legacy form.
			for _, ct := range []string{"Immunization", healthcard.TypeImmunization} {
				r = a.want(a.as(all, "POST", "/Patient/p1/$health-cards-issue", issueParams(ct)), http.StatusOK)
				cards, links := cardsOf(t, r)
				if len(cards) != 1 || len(links) != 2 || links[1][0] != "resource:1" || links[1][1] != a.base+"/Immunization/i1" {
					t.Fatalf("%s: cards %d links %v", ct, len(cards), links)
				}
				res := verify(cards[0])
				if res.Status != healthcard.Valid {
					t.Fatalf("%s: %v %s", ct, res.Status, res.Problem)
				}
				if got := res.JWS.HasType(healthcard.TypeImmunization); got != (ct != "Immunization") {
					t.Errorf("%s: legacy vc.type #immunization %v", ct, got)
				}
				if len(res.JWS.Raw) > healthcard.MaxQRJWS {
					t.Errorf("card of %d characters", len(res.JWS.Raw))
				}
			}
			// A laboratory card holds the SARS-CoV-2 result only, never HIV or
			// TB, though this token may see them.
			r = a.want(a.as(all, "POST", "/Patient/p1/$health-cards-issue", issueParams(healthcard.TypeLaboratory)), http.StatusOK)
			cards, links := cardsOf(t, r)
			if len(cards) != 1 || len(links) != 2 || !strings.HasSuffix(links[1][1], "/Observation/c1") {
				t.Fatalf("laboratory card links %v", links)
			}
			res := verify(cards[0])
			if res.Status != healthcard.Valid || bytes.Contains(res.Bundle(), []byte("56888-1")) || bytes.Contains(res.Bundle(), []byte("85362-2")) {
				t.Fatalf("laboratory card %v: %s", res.Status, res.Bundle())
			}
			// #covid19 alone: a vaccination card and a results card.
			cards, _ = cardsOf(t, a.want(a.as(all, "POST", "/Patient/p1/$health-cards-issue", issueParams(healthcard.TypeCOVID19)), http.StatusOK))
			if len(cards) != 2 {
				t.Fatalf("#covid19: %d cards", len(cards))
			}
			// Nothing to issue: a Parameters without parameters.
			r = a.want(a.as(all, "POST", "/Patient/p1/$health-cards-issue", issueParams("DiagnosticReport")), http.StatusOK)
			if string(r.body) != `{"resourceType":"Parameters"}` {
				t.Errorf("no cards: %s", r.body)
			}
			// _since after the data: no card.
			body := `{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueUri":"Immunization"},{"name":"_since","valueDateTime":"2030"}]}`
			if cards, _ := cardsOf(t, a.want(a.as(all, "POST", "/Patient/p1/$health-cards-issue", body), http.StatusOK)); len(cards) != 0 {
				t.Error("_since did not filter")
			}
			// Bad input names the parameter.
			for _, bad := range []struct{ body, param string }{
				{`{"resourceType":"Parameters"}`, "credentialType"},
				{`{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueUri":"Immunization"},{"name":"credentialValueSet","valueUri":"http://x/vs"}]}`, "credentialValueSet"},
				{`{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueUri":"Immunization"},{"name":"includeIdentityClaim","valueString":"Patient.address"}]}`, "includeIdentityClaim"},
				{`{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueUri":"Immunization"},{"name":"_since","valueDateTime":"March"}]}`, "_since"},
			} {
				r := a.want(a.as(all, "POST", "/Patient/p1/$health-cards-issue", bad.body), http.StatusBadRequest)
				if exp := r.issue(t)["expression"]; exp == nil || exp.([]any)[0] != bad.param {
					t.Errorf("bad %s: %s", bad.param, r.body)
				}
			}
			// Access like a read: another patient's token gets 404, no scope 403.
			a.want(a.as(a.mint("patient/*.rs", "p2"), "POST", "/Patient/p1/$health-cards-issue", issueParams("Immunization")), http.StatusNotFound)
			a.want(a.as(a.mint("user/Observation.rs", ""), "POST", "/Patient/p1/$health-cards-issue", issueParams("Immunization")), http.StatusForbidden)
			a.want(a.as(all, "POST", "/Patient/nobody/$health-cards-issue", issueParams("Immunization")), http.StatusNotFound)

			// The QR PNG decodes (gozxing) to the card, which verifies.
			r = a.want(a.as(all, "GET", "/Patient/p1/$health-card-qr?credentialType=Immunization", ""), http.StatusOK)
			if r.header.Get("Content-Type") != "image/png" {
				t.Fatalf("QR content type %s", r.header.Get("Content-Type"))
			}
			qrCards, err := healthcard.ReadCards(r.body)
			if err != nil || len(qrCards) != 1 || verify(qrCards[0]).Status != healthcard.Valid {
				t.Fatalf("QR: %v", err)
			}
			a.want(a.as(all, "GET", "/Patient/p1/$health-card-qr?credentialType="+url.QueryEscape(healthcard.TypeCOVID19), ""), http.StatusBadRequest)

			// Revocation needs mekong/admin; afterwards the CRL revokes the
			// cards issued so far and the JWKS counter moved.
			a.want(a.as(all, "POST", "/Patient/p1/$health-cards-revoke", ""), http.StatusForbidden)
			a.want(a.as(a.mint("user/*.cruds mekong/admin", ""), "POST", "/Patient/p1/$health-cards-revoke",
				`{"resourceType":"Parameters","parameter":[{"name":"reason","valueString":"issued in error"}]}`), http.StatusOK)
			r = a.want(a.do("GET", a.srv.URL+"/.well-known/crl/"+keys[0].ID+".json", ""), http.StatusOK)
			crl, err := healthcard.ParseCRL(r.body, keys[0].ID)
			if err != nil || crl.Ctr != 2 || len(crl.RIDs) != 1 {
				t.Fatalf("crl %s %v", r.body, err)
			}
			keys, _ = healthcard.ParseJWKS(a.want(a.do("GET", a.srv.URL+"/fhir/.well-known/jwks.json", ""), http.StatusOK).body)
			tr[iss].Keys, tr[iss].CRLs[keys[0].ID] = keys, crl
			if res := verify(qrCards[0]); res.Status != healthcard.Invalid || res.Revocation.State != healthcard.Failed {
				t.Fatalf("revoked card: %v %s", res.Status, res.Problem)
			}
			// A trust list fetching keys and lists over HTTP agrees.
			online, _ := trust.New(&trust.Config{Issuers: []trust.IssuerConfig{{Iss: iss}}}, ".")
			if res := (&healthcard.Verifier{Trust: online}).Verify(context.Background(), qrCards[0]); res.Status != healthcard.Invalid || res.Revocation.State != healthcard.Failed {
				t.Fatalf("online trust: %v %s", res.Status, res.Problem)
			}
			// The revocation was audited.
			r = a.want(a.as(all, "GET", "/AuditEvent?patient=p1&_count=100", ""), http.StatusOK)
			if !bytes.Contains(r.body, []byte(`"code":"operation"}],"action":"U"`)) {
				t.Errorf("no AuditEvent of the revocation: %.1500s", r.body)
			}
			// The capability is advertised.
			if r := a.do("GET", a.srv.URL+"/.well-known/smart-configuration", ""); !bytes.Contains(r.body, []byte(`"health-cards"`)) {
				t.Errorf("smart-configuration: %s", r.body)
			}
		})
	}
}

func TestTwoInstancesOneIssuer(t *testing.T) {
	// Two gateway instances on one database sign with one key and publish
	// one key set: the key is generated once, into the database.
	st := storetest.Backends()[0].Open(t)
	a1, a2 := newCardAPI(t, st, rest.HealthCardConfig{}), newCardAPI(t, st, rest.HealthCardConfig{})
	j1 := a1.want(a1.do("GET", a1.srv.URL+"/.well-known/jwks.json", ""), http.StatusOK).body
	j2 := a2.want(a2.do("GET", a2.srv.URL+"/.well-known/jwks.json", ""), http.StatusOK).body
	if !bytes.Equal(j1, j2) {
		t.Fatalf("instances publish different keys:\n%s\n%s", j1, j2)
	}
}

// A card covers the person: issuing for one Patient of a linked set puts
// in the vaccinations recorded on the others (CONTRACTS §2, LinkedSet).
func TestHealthCardsIssueLinkedSet(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var svc *rest.Service
			a := newCardAPI(t, b.Open(t), rest.HealthCardConfig{}, func(s *rest.Service) {
				s.SetIdentity(gradeEngine{}, rest.IdentityOptions{})
				svc = s
			})
			tok := a.mint("user/*.cruds mekong/label.*", "")
			a.want(a.as(tok, "PUT", "/Patient/kh", `{"resourceType":"Patient","id":"kh","name":[{"family":"Sok","given":["Dara"]}],"birthDate":"1990-04-01"}`), http.StatusCreated)
			a.want(a.as(tok, "PUT", "/Immunization/kh1", imm("kh1", "kh")), http.StatusCreated)
			a.want(a.as(tok, "PUT", "/Patient/th", `{"resourceType":"Patient","id":"th","name":[{"family":"Sok","given":["Dara"]}],"birthDate":"1990-04-01"}`), http.StatusCreated)
			a.want(a.as(tok, "PUT", "/Immunization/th1", strings.Replace(imm("th1", "th"), "2021-07-02", "2021-09-30", 1)), http.StatusCreated)
			a.want(a.as(tok, "PUT", "/Patient/other", `{"resourceType":"Patient","id":"other","name":[{"family":"Chan","given":["Vanna"]}],"birthDate":"1995-02-11"}`), http.StatusCreated)
			a.want(a.as(tok, "PUT", "/Immunization/o1", imm("o1", "other")), http.StatusCreated)
			links := func() []string {
				_, l := cardsOf(t, a.want(a.as(tok, "POST", "/Patient/kh/$health-cards-issue", issueParams("Immunization")), http.StatusOK))
				var hosted []string
				for _, x := range l {
					hosted = append(hosted, strings.TrimPrefix(x[1], a.base+"/"))
				}
				return hosted
			}
			// Before the linker has run: kh alone.
			if got := strings.Join(links(), " "); got != "Patient/kh Immunization/kh1" {
				t.Errorf("unlinked: %s", got)
			}
			if _, err := svc.DrainLinks(t.Context()); err != nil {
				t.Fatal(err)
			}
			// Linked: both records' vaccinations, under one Patient (resource:0); never the other person's.
			if got := strings.Join(links(), " "); got != "Patient/kh Immunization/kh1 Immunization/th1" {
				t.Errorf("linked: %s", got)
			}
		})
	}
}
