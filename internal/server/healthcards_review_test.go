package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/healthcard"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// verifyAt verifies a card against the test server's own JWKS.
func verifyAt(t *testing.T, a *authAPI, jws string) *healthcard.Result {
	t.Helper()
	keys, err := healthcard.ParseJWKS(a.want(a.do("GET", a.srv.URL+"/fhir/.well-known/jwks.json", ""), http.StatusOK).body)
	if err != nil {
		t.Fatal(err)
	}
	// The CRL at [issuer]/.well-known/crl/<kid>.json (cards-specification.md "Revocation").
	crls := map[string]*healthcard.CRL{}
	for _, k := range keys {
		crl, err := healthcard.ParseCRL(a.want(a.do("GET", a.base+"/.well-known/crl/"+k.ID+".json", ""), http.StatusOK).body, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		crls[k.ID] = crl
	}
	tr := healthcard.StaticTrust{}
	tr.Add(&healthcard.Issuer{URL: a.base, Keys: keys, CRLs: crls})
	return (&healthcard.Verifier{Trust: tr}).Verify(context.Background(), jws)
}

// bundledResources are the card's fhirBundle entries.
func bundledResources(t *testing.T, res *healthcard.Result) []map[string]any {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(res.Bundle(), &b); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range b.Entry {
		out = append(out, e.Resource)
	}
	return out
}

// TestHealthCardsIssueParameters: $health-cards-issue's credentialValueSet
// and includeIdentityClaim over HTTP
// (OperationDefinition-patient-i-health-cards-issue; cards-specification.md
// "Presenting Health Cards to a Verifier": value set filters apply to
// Immunization.vaccineCode), the default identity claims (name and birth
// date only), and the JWS's iss (the base URL, no trailing slash) and nbf.
func TestHealthCardsIssueParameters(t *testing.T) {
	eachCardStore(t, func(t *testing.T, a *authAPI, tok string) {
		// A measles vaccination (CVX 03) beside the COVID-19 one (CVX 511).
		a.want(a.as(tok, "PUT", "/Immunization/mmr", strings.Replace(strings.Replace(imm("mmr", "p1"), `"511"`, `"03"`, 1), "2021-07-02", "2019-01-10", 1)), http.StatusCreated)

		issue := func(body string) *healthcard.Result {
			t.Helper()
			cards, _ := cardsOf(t, a.want(a.as(tok, "POST", "/Patient/p1/$health-cards-issue", body), http.StatusOK))
			if len(cards) != 1 {
				t.Fatalf("%s: %d cards", body, len(cards))
			}
			res := verifyAt(t, a, cards[0])
			if res.Status != healthcard.Valid {
				t.Fatalf("%s: %v %s", body, res.Status, res.Problem)
			}
			return res
		}
		vaccines := func(res *healthcard.Result) (codes []string) {
			for _, r := range bundledResources(t, res) {
				if r["resourceType"] == "Immunization" {
					codes = append(codes, string(mustJSON(r["vaccineCode"])))
				}
			}
			return codes
		}

		// Without a value set both vaccinations go in; with the COVID-19
		// value set only the COVID-19 one.
		all := issue(issueParams("Immunization"))
		if v := vaccines(all); len(v) != 2 {
			t.Errorf("Immunization card holds %v, want both vaccinations", v)
		}
		covid := issue(`{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueUri":"Immunization"},
			{"name":"credentialValueSet","valueUri":"https://terminology.smarthealth.cards/ValueSet/immunization-covid-all"}]}`)
		if v := vaccines(covid); len(v) != 1 || !strings.Contains(v[0], `"511"`) {
			t.Errorf("COVID-19 value set card holds %v, want CVX 511 only", v)
		}

		// A value of a type the operation does not read is named by the
		// parameter's name, not only by its position.
		bad := a.want(a.as(tok, "POST", "/Patient/p1/$health-cards-issue", `{"resourceType":"Parameters","parameter":[
			{"name":"credentialType","valueUri":"Immunization"},{"name":"includeIdentityClaim","valueBoolean":true}]}`), http.StatusBadRequest).issue(t)
		if ex := fmt.Sprint(bad["expression"]); !strings.Contains(ex, "includeIdentityClaim") {
			t.Errorf("includeIdentityClaim as valueBoolean: expression %s", ex)
		}

		// Identity claims: by default name and birthDate only
		// (cards-specification.md "Data minimization"); includeIdentityClaim
		// asks for others.
		pt := bundledResources(t, all)[0]
		if pt["resourceType"] != "Patient" || pt["name"] == nil || pt["birthDate"] != "1990-04-01" || pt["gender"] != nil || len(pt) != 3 {
			t.Errorf("default identity claims: %v", pt)
		}
		withGender := issue(`{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueUri":"Immunization"},
			{"name":"includeIdentityClaim","valueString":"Patient.name"},{"name":"includeIdentityClaim","valueString":"Patient.gender"}]}`)
		pt = bundledResources(t, withGender)[0]
		if pt["gender"] != "male" || pt["name"] == nil || pt["birthDate"] != nil {
			t.Errorf("includeIdentityClaim name+gender: %v", pt)
		}

		// iss is the configured issuer URL without a trailing slash, nbf
		// the time of issue (cards-specification.md "Health Cards are encoded as
		// Compact Serialization JSON Web Signatures").
		c := all.JWS.Claims
		if c.Issuer != a.base || strings.HasSuffix(c.Issuer, "/") || c.NotBefore == nil || *c.NotBefore == 0 {
			t.Errorf("iss %q nbf %v", c.Issuer, c.NotBefore)
		}
		var h map[string]string
		hb, _ := base64.RawURLEncoding.DecodeString(strings.Split(all.JWS.Raw, ".")[0])
		if err := json.Unmarshal(hb, &h); err != nil || h["alg"] != "ES256" || h["zip"] != "DEF" || len(h["kid"]) != 43 {
			t.Errorf("JWS header %s", hb)
		}
	})
}

// TestHealthCardsIssueTooLarge: a card must fit one QR code
// (cards-specification.md "Health Cards as QR Codes": version 22, a JWS of
// at most 1195 characters; chunking is deprecated). When the record does
// not fit, $health-cards-issue says so with an OperationOutcome that points
// at _since, and _since makes it fit.
func TestHealthCardsIssueTooLarge(t *testing.T) {
	eachCardStore(t, func(t *testing.T, a *authAPI, tok string) {
		// Sixty vaccinations with lot numbers that do not compress.
		for i := range 60 {
			body := strings.Replace(imm(fmt.Sprintf("v%d", i), "p1"), "2021-07-02", fmt.Sprintf("%d-%02d-%02d", 2000+i/12, i%12+1, i%27+1), 1)
			body = strings.Replace(body, `"occurrenceDateTime"`, fmt.Sprintf(`"lotNumber":"%x","occurrenceDateTime"`, uint64(i+1)*0x9E3779B97F4A7C15), 1)
			a.want(a.as(tok, "PUT", fmt.Sprintf("/Immunization/v%d", i), body), http.StatusCreated)
		}
		r := a.want(a.as(tok, "POST", "/Patient/p1/$health-cards-issue", issueParams("Immunization")), http.StatusUnprocessableEntity)
		is := r.issue(t)
		diag, _ := is["diagnostics"].(string)
		if is["code"] != "too-long" || !strings.Contains(diag, "_since") || !strings.Contains(diag, "credentialType") ||
			!strings.Contains(diag, fmt.Sprint(healthcard.MaxQRJWS)) || fmt.Sprint(is["expression"]) != "[_since]" {
			t.Errorf("OperationOutcome %s", r.body)
		}
		if strings.Contains(string(r.body), "shc:/") || strings.Contains(string(r.body), "eyJ") {
			t.Error("the refusal carries a card")
		}
		// The QR operation refuses the same way rather than chunking.
		a.want(a.as(tok, "GET", "/Patient/p1/$health-card-qr?credentialType=Immunization", ""), http.StatusUnprocessableEntity)
		// _since: the recent vaccinations fit.
		cards, _ := cardsOf(t, a.want(a.as(tok, "POST", "/Patient/p1/$health-cards-issue",
			`{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueUri":"Immunization"},{"name":"_since","valueDateTime":"2004"}]}`), http.StatusOK))
		if len(cards) != 1 || len(cards[0]) > healthcard.MaxQRJWS || verifyAt(t, a, cards[0]).Status != healthcard.Valid {
			t.Fatalf("with _since: %d cards of %v characters", len(cards), lens(cards))
		}
	})
}

func lens(ss []string) (out []int) {
	for _, s := range ss {
		out = append(out, len(s))
	}
	return out
}

// TestImportHealthCardHiddenHolder documents what $import-health-card does
// when the card's holder exists but the caller may not see that Patient (an
// R-labelled record, the caller without mekong/label.R): the matcher runs
// with the caller's access (CONTRACTS §2), so it finds no one and the import
// creates a second Patient. The answer must not betray the hidden record
// (no id, no "candidate", no 422). The duplicate is then the identity
// linker's to join: the two records are linked as one person, so a caller
// who may see both gets one linked record ($summary, $everything).
func TestImportHealthCardHiddenHolder(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			p := newCardPair(t, b, rest.HealthCardConfig{})
			p.loadWorker(t) // Sok Dara, born 1990-04-01
			jws := p.issue(t, "p1", issueParams("Immunization"))
			admin, importer := p.b.mint(adminScopes, ""), p.b.mint(importScopes, "")
			p.b.want(p.b.as(admin, "PUT", "/Patient/hidden", strings.Replace(person("Sok", "Dara", "1990-04-01", labelR),
				`{"resourceType":"Patient"`, `{"resourceType":"Patient","id":"hidden"`, 1)), http.StatusCreated)

			r := p.b.want(p.b.as(importer, "POST", "/$import-health-card", importBody(jws)), http.StatusOK)
			got := importedOf(t, r)
			if got.result != "imported" || got.found != "created" || got.patient == "hidden" {
				t.Fatalf("import by a caller who cannot see the holder: %s", r.body)
			}
			if strings.Contains(string(r.body), "hidden") || strings.Contains(string(r.body), "candidate") {
				t.Errorf("the answer betrays the hidden Patient: %s", r.body)
			}
			if _, err := p.bSvc.DrainLinks(t.Context()); err != nil {
				t.Fatal(err)
			}
			// Linked: the hidden (R) record shows the link to the new one;
			// the new, unlabelled one does not name the hidden one to the
			// importer who reads it.
			hidden := p.b.want(p.b.as(admin, "GET", "/Patient/hidden", ""), http.StatusOK).json(t)
			if !strings.Contains(string(mustJSON(hidden["link"])), `"Patient/`+got.patient+`"`) {
				t.Errorf("the created Patient is not linked to the hidden one: %v", hidden["link"])
			}
			if b := p.b.want(p.b.as(importer, "GET", "/Patient/"+got.patient, ""), http.StatusOK).body; strings.Contains(string(b), "hidden") {
				t.Errorf("the created Patient names the hidden one to the importer: %s", b)
			}
			// The same caller importing again changes nothing.
			if again := importedOf(t, p.b.want(p.b.as(importer, "POST", "/$import-health-card", importBody(jws)), http.StatusOK)); again.result != "unchanged" || again.patient != got.patient {
				t.Errorf("second import: %s", again.raw)
			}
		})
	}
}

// TestHealthCardsConfiguredKeys: with configured keys (--health-card-key),
// the one --health-card-signing-kid names signs, and the JWKS publishes all
// of them, so cards signed by the previous key still verify after a
// rotation by kid (cards-specification.md "Determining keys associated with
// an issuer"). Nothing is generated into the database.
func TestHealthCardsConfiguredKeys(t *testing.T) {
	k1, _ := healthcard.NewKey()
	k2, _ := healthcard.NewKey()
	st := storetest.Backends()[0].Open(t)
	old := newCardAPI(t, st, rest.HealthCardConfig{Keys: []*healthcard.Key{k1, k2}, SigningKid: k1.ID})
	tok := old.mint("user/*.cruds mekong/label.*", "")
	loadCardPatient(t, old, tok)
	cards, _ := cardsOf(t, old.want(old.as(tok, "POST", "/Patient/p1/$health-cards-issue", issueParams("Immunization")), http.StatusOK))
	// Rotated: k2 signs now, on the same database.
	a := newCardAPI(t, st, rest.HealthCardConfig{Keys: []*healthcard.Key{k1, k2}, SigningKid: k2.ID})
	fresh, _ := cardsOf(t, a.want(a.as(a.mint("user/*.rs", ""), "POST", "/Patient/p1/$health-cards-issue", issueParams("Immunization")), http.StatusOK))
	keys, err := healthcard.ParseJWKS(a.want(a.do("GET", a.srv.URL+"/.well-known/jwks.json", ""), http.StatusOK).body)
	if err != nil || len(keys) != 2 || keys[0].Private != nil || keys[1].Private != nil {
		t.Fatalf("JWKS: %d keys, %v", len(keys), err)
	}
	for i, c := range []struct {
		at       *authAPI
		jws, kid string
	}{{old, cards[0], k1.ID}, {a, fresh[0], k2.ID}} {
		res := verifyAt(t, c.at, c.jws)
		if res.Status != healthcard.Valid || res.JWS.Header.Kid != c.kid {
			t.Errorf("card %d: %v %s, kid %s, want %s", i, res.Status, res.Problem, res.JWS.Header.Kid, c.kid)
		}
	}
	// The rotated server still publishes the key of the older card.
	if keys[0].ID != k1.ID && keys[1].ID != k1.ID {
		t.Errorf("the JWKS after rotation lacks the previous key %s", k1.ID)
	}
}

// TestHealthCardsRevokeNeedsAdmin: revocation (cards-specification.md
// "Revocation") needs mekong/admin: no token is a 401, a clinician's token
// a 403, and the administrator's revocation is audited with its reason.
func TestHealthCardsRevokeNeedsAdmin(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			a := newCardAPI(t, b.Open(t), rest.HealthCardConfig{})
			body := `{"resourceType":"Parameters","parameter":[{"name":"reason","valueString":"issued in error"}]}`
			a.want(a.do("POST", "/Patient/p1/$health-cards-revoke", body), http.StatusUnauthorized)
			a.want(a.as(a.mint("user/*.cruds mekong/label.*", ""), "POST", "/Patient/p1/$health-cards-revoke", body), http.StatusForbidden)
			a.want(a.as(a.mint("mekong/admin", ""), "POST", "/Patient/p1/$health-cards-revoke", body), http.StatusOK)
			ae := a.want(a.as(a.mint("user/AuditEvent.rs", ""), "GET", "/AuditEvent?patient=Patient/p1&outcome=0", ""), http.StatusOK).body
			if !strings.Contains(string(ae), `"purposeOfEvent":[{"text":"health-cards revoke Patient/p1: issued in error"}]`) {
				t.Errorf("the revocation's AuditEvent lacks its reason: %.3000s", ae)
			}
		})
	}
}

// TestHealthCardsNeverHoldLabelled: issue 12, "No HIV or TB result is ever
// put in a card, whatever the token": a SARS-CoV-2 result a source labelled
// restricted (R) stays out of the laboratory card even for a token that may
// see every label, and an HIV- or TB-coded result never goes in, whatever
// credentialType or credentialValueSet asks.
func TestHealthCardsNeverHoldLabelled(t *testing.T) {
	eachCardStore(t, func(t *testing.T, a *authAPI, tok string) {
		a.want(a.as(tok, "PUT", "/Observation/c2", obs("c2", "p1", "94309-2",
			`"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},`)), http.StatusCreated)
		for _, body := range []string{
			issueParams(healthcard.TypeLaboratory), issueParams("Observation"), issueParams(healthcard.TypeCOVID19),
			issueParams("Immunization", "Observation"), issueParams(healthcard.TypeHealthCard),
			`{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueUri":"Observation"},
				{"name":"credentialValueSet","valueUri":"https://terminology.smarthealth.cards/ValueSet/lab-qualitative-test-covid"}]}`,
		} {
			_, links := cardsOf(t, a.want(a.as(tok, "POST", "/Patient/p1/$health-cards-issue", body), http.StatusOK))
			for _, l := range links {
				for _, id := range []string{"/Observation/c2", "/Observation/h1", "/Observation/t1"} {
					if strings.HasSuffix(l[1], id) {
						t.Errorf("%s: the card holds %s", body, id)
					}
				}
			}
		}
	})
}

// eachCardStore runs fn on both stores with health cards on and the
// worker of loadCardPatient loaded; tok may do anything and see every label.
func eachCardStore(t *testing.T, fn func(t *testing.T, a *authAPI, tok string)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			a := newCardAPI(t, b.Open(t), rest.HealthCardConfig{})
			tok := a.mint("user/*.cruds mekong/label.*", "")
			loadCardPatient(t, a, tok)
			fn(t, a, tok)
		})
	}
}
