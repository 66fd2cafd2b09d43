package server_test

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/healthcard"
	"github.com/mekong-fhir/mekong/internal/healthcard/trust"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// Tests of POST [base]/$import-health-card: a card from another Mekong (or
// any issuer) verified as cards-specification.md requires ("Determining
// keys associated with an issuer", "Revocation", "Expiration of Health
// Cards": https://hl7.org/fhir/uv/smart-health-cards-and-links/cards-specification.html),
// its holder found through the identity matcher (CONTRACTS §2), and its
// Immunizations and Observations stored once, with a Provenance
// (https://hl7.org/fhir/R4/provenance.html) naming the issuer and the card.

// Scopes of the tests' tokens.
const (
	importScopes = "user/Patient.crs user/Immunization.crs user/Observation.crs"
	adminScopes  = "user/*.cruds mekong/label.*"
)

// cardPair is two gateways: a issues cards (the Cambodian side), b imports
// them, trusting a's issuer through its published JWKS (the Thai side). b
// grades matches with the test double of the matcher (gradeEngine).
type cardPair struct {
	a, b  *authAPI
	aSvc  *rest.Service
	bSvc  *rest.Service
	bDB   store.Store
	trust *trust.Store
}

func newCardPair(t *testing.T, b storetest.Backend, bCfg rest.HealthCardConfig) *cardPair {
	t.Helper()
	p := &cardPair{}
	p.a = newCardAPI(t, b.Open(t), rest.HealthCardConfig{}, func(svc *rest.Service) { p.aSvc = svc })
	tr, err := trust.New(&trust.Config{
		Issuers:  []trust.IssuerConfig{{Iss: p.a.base, Name: "Kampong Cham provincial gateway"}},
		CacheFor: trust.Duration(time.Nanosecond), // every import sees the issuer's current keys and revocations
	}, ".")
	if err != nil {
		t.Fatal(err)
	}
	p.trust = tr
	bCfg.Trust = healthcard.Chain{tr, specIssuer(t)}
	p.bDB = b.Open(t)
	p.b = newCardAPI(t, p.bDB, bCfg, func(svc *rest.Service) {
		svc.SetIdentity(gradeEngine{}, rest.IdentityOptions{})
		p.bSvc = svc
	})
	return p
}

// specIssuer trusts the specification's example issuer offline, as the
// README's make run does.
func specIssuer(t *testing.T) *trust.Store {
	t.Helper()
	tr, err := trust.Load("../../examples/cards/trusted-issuers.json")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// issue returns a's card for patient id of the given credential types.
func (p *cardPair) issue(t *testing.T, id string, params string) string {
	t.Helper()
	cards, _ := cardsOf(t, p.a.want(p.a.as(p.a.mint(adminScopes, ""), "POST", "/Patient/"+id+"/$health-cards-issue", params), http.StatusOK))
	if len(cards) != 1 {
		t.Fatalf("%d cards", len(cards))
	}
	return cards[0]
}

func importBody(values ...string) string {
	var ps []string
	for _, v := range values {
		b, _ := json.Marshal(v)
		ps = append(ps, `{"name":"verifiableCredential","valueString":`+string(b)+`}`)
	}
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(ps, ",") + `]}`
}

// imported is the answer of an import.
type imported struct {
	result, patient, found, grade string
	resources                     map[string]string // bundledResource -> reference
	dispositions                  map[string]string // bundledResource -> created/unchanged
	skipped                       []string          // "resource:N Type"
	provenances                   []string
	raw                           []byte
}

func importedOf(t *testing.T, r resp) *imported {
	t.Helper()
	var p struct {
		Parameter []struct {
			Name           string            `json:"name"`
			ValueCode      string            `json:"valueCode"`
			ValueReference map[string]string `json:"valueReference"`
			Part           []struct {
				Name           string            `json:"name"`
				ValueCode      string            `json:"valueCode"`
				ValueURI       string            `json:"valueUri"`
				ValueReference map[string]string `json:"valueReference"`
			} `json:"part"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	out := &imported{resources: map[string]string{}, dispositions: map[string]string{}, raw: r.body}
	for _, x := range p.Parameter {
		parts := map[string]string{}
		for _, y := range x.Part {
			parts[y.Name] = y.ValueCode + y.ValueURI + y.ValueReference["reference"]
		}
		switch x.Name {
		case "result":
			out.result = x.ValueCode
		case "holder":
			out.patient, out.found, out.grade = strings.TrimPrefix(parts["patient"], "Patient/"), parts["found"], parts["grade"]
		case "resource":
			out.resources[parts["bundledResource"]] = parts["reference"]
			out.dispositions[parts["bundledResource"]] = parts["disposition"]
		case "skipped":
			out.skipped = append(out.skipped, parts["bundledResource"]+" "+parts["type"])
		case "provenance":
			out.provenances = append(out.provenances, x.ValueReference["reference"])
		}
	}
	return out
}

// count is a search's total as tok sees it.
func count(t *testing.T, a *authAPI, tok, path string) int {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return int(a.want(a.as(tok, "GET", path+sep+"_summary=count", ""), http.StatusOK).json(t)["total"].(float64))
}

// stored counts what b holds, to show that a refused import stored nothing.
func (p *cardPair) stored(t *testing.T) string {
	t.Helper()
	tok := p.b.mint(adminScopes, "")
	return fmt.Sprintf("Patient %d, Immunization %d, Observation %d, Provenance %d",
		count(t, p.b, tok, "/Patient"), count(t, p.b, tok, "/Immunization"), count(t, p.b, tok, "/Observation"), count(t, p.b, tok, "/Provenance"))
}

// loadWorker gives a the worker p1 of the issue tests (a COVID-19
// vaccination, a SARS-CoV-2 PCR, HIV and TB results).
func (p *cardPair) loadWorker(t *testing.T) { loadCardPatient(t, p.a, p.a.mint(adminScopes, "")) }

func TestImportHealthCardRoundTrip(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			p := newCardPair(t, b, rest.HealthCardConfig{})
			p.loadWorker(t)
			jws := p.issue(t, "p1", issueParams("Immunization", "Observation"))
			admin, importer := p.b.mint(adminScopes, ""), p.b.mint(importScopes, "")

			// The first import creates the Patient from the card's identity
			// claims, the vaccination and the PCR result, and their Provenance.
			first := importedOf(t, p.b.want(p.b.as(importer, "POST", "/$import-health-card", importBody(jws)), http.StatusOK))
			if first.result != "imported" || first.found != "created" || len(first.resources) != 2 || len(first.provenances) != 1 {
				t.Fatalf("first import: %s", first.raw)
			}
			for _, d := range first.dispositions {
				if d != "created" {
					t.Fatalf("first import: %s", first.raw)
				}
			}
			before := p.stored(t)
			if before != "Patient 1, Immunization 1, Observation 1, Provenance 2" { // the writer's (one for the transaction) and the card's
				t.Fatalf("after the first import: %s", before)
			}
			// The Patient carries the card's identity claims and the holder identifier.
			pat := p.b.want(p.b.as(admin, "GET", "/Patient/"+first.patient, ""), http.StatusOK).json(t)
			if got := string(mustJSON(pat["name"])); got != `[{"family":"Sok","given":["Dara"]}]` || pat["birthDate"] != "1990-04-01" ||
				!strings.Contains(string(mustJSON(pat["identifier"])), healthcard.HolderSystem) {
				t.Errorf("Patient from the card: %s", mustJSON(pat))
			}
			// The resources keep their codes, point at that Patient and carry the entry identifier.
			var immRef, obsRef string
			for _, ref := range first.resources {
				if strings.HasPrefix(ref, "Immunization/") {
					immRef = ref
				} else {
					obsRef = ref
				}
			}
			im := p.b.want(p.b.as(admin, "GET", "/"+strings.Split(immRef, "/_history")[0], ""), http.StatusOK).json(t)
			if string(mustJSON(im["vaccineCode"])) != `{"coding":[{"code":"511","system":"http://hl7.org/fhir/sid/cvx"}]}` ||
				im["patient"].(map[string]any)["reference"] != "Patient/"+first.patient || im["occurrenceDateTime"] != "2021-07-02" ||
				!strings.Contains(string(mustJSON(im["identifier"])), healthcard.EntrySystem) {
				t.Errorf("imported Immunization: %s", mustJSON(im))
			}
			ob := p.b.want(p.b.as(admin, "GET", "/"+strings.Split(obsRef, "/_history")[0], ""), http.StatusOK).json(t)
			if !strings.Contains(string(mustJSON(ob["code"])), `"code":"94500-6"`) || ob["subject"].(map[string]any)["reference"] != "Patient/"+first.patient {
				t.Errorf("imported Observation: %s", mustJSON(ob))
			}

			// The card's Provenance: every created version as target, the issuer as
			// attester, the card (hash of its JWS) as source entity, the spec as policy.
			pr := p.b.want(p.b.as(admin, "GET", "/"+strings.Split(first.provenances[0], "/_history")[0], ""), http.StatusOK).json(t)
			targets := string(mustJSON(pr["target"]))
			for _, ref := range []string{"Patient/" + first.patient + "/_history/1", immRef, obsRef} {
				if !strings.Contains(targets, `"`+ref+`"`) {
					t.Errorf("Provenance target lacks %s: %s", ref, targets)
				}
			}
			agent := string(mustJSON(pr["agent"]))
			entity := string(mustJSON(pr["entity"]))
			if !strings.Contains(agent, `"code":"attester"`) || !strings.Contains(agent, `"value":"`+p.a.base+`"`) ||
				!strings.Contains(agent, "Kampong Cham provincial gateway") ||
				!strings.Contains(entity, `"role":"source"`) || !strings.Contains(entity, `"value":"`+healthcard.Hash(jws)+`"`) ||
				!strings.Contains(string(mustJSON(pr["policy"])), "cards-specification.html") {
				t.Errorf("card Provenance: %s", mustJSON(pr))
			}
			// ... found by the card and by the issuer.
			if n := count(t, p.b, admin, "/Provenance?entity:identifier="+url.QueryEscape(healthcard.CardSystem+"|"+healthcard.Hash(jws))); n != 1 {
				t.Errorf("Provenance by card: %d", n)
			}
			if n := count(t, p.b, admin, "/Provenance?agent:identifier="+url.QueryEscape("urn:ietf:rfc:3986|"+p.a.base)); n != 1 {
				t.Errorf("Provenance by issuer: %d", n)
			}
			// The import is audited: the creates, and the operation.
			ae := p.b.want(p.b.as(p.b.mint("user/AuditEvent.rs mekong/label.*", ""), "GET", "/AuditEvent?patient="+first.patient+"&_count=100", ""), http.StatusOK).body
			if !bytes.Contains(ae, []byte(`"code":"create"`)) || !bytes.Contains(ae, []byte(`"code":"operation"`)) {
				t.Errorf("AuditEvents of the import: %.2000s", ae)
			}

			// Importing the same card again changes nothing, in every input form:
			// the JWS, its QR content, the .smart-health-card file (both media
			// types), the QR code image decoded.
			png := p.a.want(p.a.as(p.a.mint(adminScopes, ""), "GET", "/Patient/p1/$health-card-qr?credentialType=Immunization&credentialType=Observation", ""), http.StatusOK).body
			fromPNG, err := healthcard.ReadCards(png)
			if err != nil {
				t.Fatal(err)
			}
			qr, err := healthcard.QRContent(jws)
			if err != nil {
				t.Fatal(err)
			}
			for name, r := range map[string]resp{
				"jws":       p.b.as(importer, "POST", "/$import-health-card", importBody(jws)),
				"shc:/":     p.b.as(importer, "POST", "/$import-health-card", importBody(qr)),
				"file":      p.b.as(importer, "POST", "/$import-health-card", string(healthcard.File(jws)), "Content-Type", healthcard.FileContentType),
				"file json": p.b.as(importer, "POST", "/$import-health-card", string(healthcard.File(jws))),
				// A new card of the same data (another nbf, signature and hash).
				"reissued": p.b.as(importer, "POST", "/$import-health-card", importBody(fromPNG[0])),
			} {
				again := importedOf(t, p.b.want(r, http.StatusOK))
				if again.result != "unchanged" || again.found != "identified" || again.patient != first.patient || len(again.provenances) != 0 {
					t.Errorf("%s: import again: %s", name, again.raw)
				}
				for k, ref := range again.resources {
					if ref != first.resources[k] || again.dispositions[k] != "unchanged" {
						t.Errorf("%s: %s is %s (%s), was %s", name, k, ref, again.dispositions[k], first.resources[k])
					}
				}
			}
			if after := p.stored(t); after != before {
				t.Errorf("importing again changed %s into %s", before, after)
			}
			if v := p.b.want(p.b.as(admin, "GET", "/Patient/"+first.patient, ""), http.StatusOK).json(t)["meta"].(map[string]any)["versionId"]; v != "1" {
				t.Errorf("the Patient has version %v", v)
			}

			// The card back at the server that issued it: its rid is p1's, and
			// what it holds is p1's records: nothing is stored twice.
			aTok := p.a.mint(adminScopes, "")
			home := importedOf(t, p.a.want(p.a.as(p.a.mint(importScopes, ""), "POST", "/$import-health-card", importBody(jws)), http.StatusOK))
			if home.result != "unchanged" || home.found != "issued-here" || home.patient != "p1" || len(home.resources) != 0 ||
				!bytes.Contains(home.raw, []byte("this server issued the card")) {
				t.Errorf("own card at home: %s", home.raw)
			}
			if n := count(t, p.a, aTok, "/Immunization"); n != 1 {
				t.Errorf("the issuer holds %d Immunizations", n)
			}
		})
	}
}

// The specification's own example cards
// (HL7/smart-health-cards-and-links, input/images/example-0N-*): example 00
// imports its three vaccinations with their CVX codes; example 01 (the same
// data, another card without rid) changes nothing; example 02 (a patient
// summary in three deprecated QR chunks) holds nothing Mekong stores; the
// 2024 example 03 expired on 2025-05-07.
func TestImportHealthCardSpecExamples(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			p := newCardPair(t, b, rest.HealthCardConfig{})
			importer := p.b.mint(importScopes, "")
			file := func(name string) string {
				data, err := os.ReadFile("../healthcard/testdata/hl7/" + name)
				if err != nil {
					t.Fatal(err)
				}
				return string(data)
			}
			r := importedOf(t, p.b.want(p.b.as(importer, "POST", "/$import-health-card", file("example-00-e-file.smart-health-card"),
				"Content-Type", healthcard.FileContentType), http.StatusOK))
			if r.result != "imported" || r.found != "created" || len(r.resources) != 3 {
				t.Fatalf("example 00: %s", r.raw)
			}
			tok := p.b.mint(adminScopes, "")
			if n := count(t, p.b, tok, "/Immunization?vaccine-code=http://hl7.org/fhir/sid/cvx|207&patient="+r.patient); n != 2 {
				t.Errorf("CVX 207: %d", n)
			}
			if n := count(t, p.b, tok, "/Immunization?vaccine-code=http://hl7.org/fhir/sid/cvx|229&patient="+r.patient); n != 1 {
				t.Errorf("CVX 229: %d", n)
			}
			r1 := importedOf(t, p.b.want(p.b.as(importer, "POST", "/$import-health-card", importBody(strings.TrimSpace(file("example-01-d-jws.txt")))), http.StatusOK))
			if r1.result != "unchanged" || r1.patient != r.patient {
				t.Errorf("example 01 after 00: %s", r1.raw)
			}
			before := p.stored(t)
			chunks := importBody(strings.TrimSpace(file("example-02-f-qr-code-numeric-value-0.txt")),
				strings.TrimSpace(file("example-02-f-qr-code-numeric-value-1.txt")), strings.TrimSpace(file("example-02-f-qr-code-numeric-value-2.txt")))
			e := p.b.want(p.b.as(importer, "POST", "/$import-health-card", chunks), http.StatusUnprocessableEntity).issue(t)
			if d := e["diagnostics"].(string); !strings.Contains(d, "no Immunization or Observation") || !strings.Contains(d, "Condition is not a resource type Mekong stores") {
				t.Errorf("example 02: %v", e)
			}
			e = p.b.want(p.b.as(importer, "POST", "/$import-health-card", importBody(strings.TrimSpace(file("example-03-d-jws.txt")))), http.StatusUnprocessableEntity).issue(t)
			if d := e["diagnostics"].(string); !strings.Contains(d, "expired on 2025-05-07") {
				t.Errorf("example 03: %v", e)
			}
			if after := p.stored(t); after != before {
				t.Errorf("refused cards stored something: %s, then %s", before, after)
			}
		})
	}
}

// A card that must not be believed is refused with the reason, and nothing
// is stored: not a card, forged (a key the issuer does not publish, or its
// kid with another key), altered after signing, expired, from an issuer not
// trusted here, revoked. A token without the create scopes gets 403.
func TestImportHealthCardRefused(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			p := newCardPair(t, b, rest.HealthCardConfig{})
			// Two more gateways on b's database: one trusting a only (not the
			// specification's examples), one trusting shortA, whose cards
			// expire after an hour, with a clock two hours ahead.
			onlyA := newCardAPI(t, p.bDB, rest.HealthCardConfig{Trust: p.trust})
			shortA := newCardAPI(t, b.Open(t), rest.HealthCardConfig{TTL: time.Hour})
			p.loadWorker(t)
			loadCardPatient(t, shortA, shortA.mint(adminScopes, ""))
			jws := p.issue(t, "p1", issueParams("Immunization"))
			importer := p.b.mint(importScopes, "")
			empty := p.stored(t)

			other, err := healthcard.NewKey()
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := healthcard.ParseJWS(jws)
			if err != nil {
				t.Fatal(err)
			}
			cred := &healthcard.Credential{Issuer: p.a.base, IssuedAt: time.Now(), Bundle: parsed.Claims.VC.CredentialSubject.FHIRBundle}
			forgedNewKey, _ := healthcard.Sign(other, cred)
			forgedKid, _ := healthcard.Sign(&healthcard.Key{ID: parsed.Header.Kid, Public: other.Public, Private: other.Private}, cred)
			shortCards, _ := cardsOf(t, shortA.want(shortA.as(shortA.mint(adminScopes, ""), "POST", "/Patient/p1/$health-cards-issue", issueParams("Immunization")), http.StatusOK))
			expiredTrust, _ := trust.New(&trust.Config{Issuers: []trust.IssuerConfig{{Iss: shortA.base}}}, ".")
			lateShort := newCardAPI(t, p.bDB, rest.HealthCardConfig{Trust: expiredTrust, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
			spec, _ := os.ReadFile("../healthcard/testdata/hl7/example-00-d-jws.txt")

			for _, c := range []struct {
				name   string
				a      *authAPI
				body   string
				status int
				want   string
			}{
				{"not a card", p.b, importBody("hello"), http.StatusBadRequest, "not a card"},
				{"not a JWS card", p.b, importBody("a.b.c"), http.StatusBadRequest, "not a SMART Health Card"},
				{"no card", p.b, `{"resourceType":"Parameters"}`, http.StatusBadRequest, "verifiableCredential"},
				{"unknown parameter", p.b, `{"resourceType":"Parameters","parameter":[{"name":"card","valueString":"x"}]}`, http.StatusBadRequest, `"card" is not a parameter`},
				{"two cards", p.b, importBody(jws, jws), http.StatusBadRequest, "2 cards"},
				{"a file of numbers", p.b, `{"verifiableCredential":[1]}`, http.StatusBadRequest, "verifiableCredential must be an array of strings"},
				{"forged with another key", p.b, importBody(forgedNewKey), http.StatusUnprocessableEntity, "has no key " + other.ID},
				{"forged with the issuer's kid", p.b, importBody(forgedKid), http.StatusUnprocessableEntity, "signature does not match"},
				{"tampered", p.b, importBody(tamper(t, jws, "Dara", "Dora")), http.StatusUnprocessableEntity, "signature does not match"},
				{"expired", lateShort, importBody(shortCards[0]), http.StatusUnprocessableEntity, "expired on"},
				{"untrusted issuer", onlyA, importBody(strings.TrimSpace(string(spec))), http.StatusUnprocessableEntity, "is not trusted here"},
				{"no create scope", p.b, importBody(jws), http.StatusForbidden, "create on"},
			} {
				tok := importer
				if c.name == "no create scope" {
					tok = c.a.mint("user/*.rs", "")
				}
				if c.a != p.b {
					tok = c.a.mint(importScopes, "")
				}
				r := c.a.want(c.a.as(tok, "POST", "/$import-health-card", c.body), c.status)
				is := r.issue(t)
				if d, _ := is["diagnostics"].(string); !strings.Contains(d, c.want) {
					t.Errorf("%s: %s", c.name, r.body)
				}
				if c.status == http.StatusUnprocessableEntity {
					if exp := is["expression"]; exp == nil || exp.([]any)[0] != "verifiableCredential" {
						t.Errorf("%s: no expression: %s", c.name, r.body)
					}
				}
			}
			// Patient create and search alone is not enough either.
			p.b.want(p.b.as(p.b.mint("user/Patient.crs", ""), "POST", "/$import-health-card", importBody(jws)), http.StatusForbidden)

			// Revoked: a revokes p1's cards; b reads the new revocation list.
			p.a.want(p.a.as(p.a.mint("user/*.cruds mekong/admin", ""), "POST", "/Patient/p1/$health-cards-revoke", ""), http.StatusOK)
			is := p.b.want(p.b.as(importer, "POST", "/$import-health-card", importBody(jws)), http.StatusUnprocessableEntity).issue(t)
			if d := is["diagnostics"].(string); !strings.Contains(d, "revoked by the issuer") {
				t.Errorf("revoked: %v", is)
			}
			// A key removed from a's JWKS (mekong health-cards remove-key, for a
			// compromised key): a card it signed, though not revoked, is refused.
			fresh := p.issue(t, "p1", issueParams("Immunization"))
			if _, err := p.aSvc.RemoveHealthCardKey(t.Context(), parsed.Header.Kid, "compromised"); err != nil {
				t.Fatal(err)
			}
			is = p.b.want(p.b.as(importer, "POST", "/$import-health-card", importBody(fresh)), http.StatusUnprocessableEntity).issue(t)
			if d := is["diagnostics"].(string); !strings.Contains(d, "has no key "+parsed.Header.Kid) {
				t.Errorf("removed key: %v", is)
			}
			if got := p.stored(t); got != empty {
				t.Errorf("refused cards stored something: %s, then %s", empty, got)
			}
			// Each refusal is audited as the operation, with its status.
			ae := p.b.want(p.b.as(p.b.mint("user/AuditEvent.rs", ""), "GET", "/AuditEvent?outcome=4&_count=100", ""), http.StatusOK).body
			if !bytes.Contains(ae, []byte(`"code":"operation"`)) || !bytes.Contains(ae, []byte("HTTP 422")) {
				t.Errorf("refusals not audited: %.1500s", ae)
			}
		})
	}
}

// tamper changes a card's payload after signing, keeping the signature.
func tamper(t *testing.T, jws, from, to string) string {
	t.Helper()
	parts := strings.Split(jws, ".")
	z, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	payload, err := io.ReadAll(flate.NewReader(bytes.NewReader(z)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(payload, []byte(from)) {
		t.Fatalf("the card does not hold %q", from)
	}
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(bytes.ReplaceAll(payload, []byte(from), []byte(to)))
	w.Close()
	parts[1] = base64.RawURLEncoding.EncodeToString(buf.Bytes())
	return strings.Join(parts, ".")
}

// The holder is found with certain matches only (CONTRACTS §2,
// https://hl7.org/fhir/R4/patient-operation-match.html: onlyCertainMatches):
// probable candidates are reported and nothing is stored; a certain match
// receives the card's resources; two certain matches must be one linked set.
func TestImportHealthCardMatching(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			p := newCardPair(t, b, rest.HealthCardConfig{})
			p.loadWorker(t) // Sok Dara, born 1990-04-01
			jws := p.issue(t, "p1", issueParams("Immunization"))
			admin, importer := p.b.mint(adminScopes, ""), p.b.mint(importScopes, "")
			put := func(id, body string) {
				p.b.want(p.b.as(admin, "PUT", "/Patient/"+id, strings.Replace(body, `{"resourceType":"Patient"`, `{"resourceType":"Patient","id":"`+id+`"`, 1)), http.StatusCreated)
			}
			// Probable only (same family name and birth date, another given
			// name): both reported to a caller who may see both, the
			// R-labelled one not to a caller who may not; nothing stored.
			put("q1", person("Sok", "Vanna", "1990-04-01"))
			put("q2", person("Sok", "Sreymom", "1990-04-01", labelR))
			before := p.stored(t)
			for tok, want := range map[string][]string{
				importer: {"q1"},
				p.b.mint(importScopes+" mekong/label.*", ""): {"q1", "q2"},
			} {
				r := p.b.want(p.b.as(tok, "POST", "/$import-health-card", importBody(jws)), http.StatusUnprocessableEntity)
				m := r.json(t)
				issues := m["issue"].([]any)
				if len(issues) != 1+len(want) || issues[0].(map[string]any)["code"] != "multiple-matches" {
					t.Fatalf("probable matches: %s", r.body)
				}
				for _, id := range want {
					if !bytes.Contains(r.body, []byte("candidate Patient/"+id+": probable match, score 0.8000")) {
						t.Errorf("candidate %s not reported: %s", id, r.body)
					}
				}
				if len(want) == 1 && bytes.Contains(r.body, []byte("q2")) {
					t.Errorf("a Patient the caller may not read is reported: %s", r.body)
				}
			}
			if got := p.stored(t); got != before {
				t.Errorf("a probable match stored something: %s, then %s", before, got)
			}

			// A certain match (family, given name and birth date) gets the card.
			put("q3", person("Sok", "Dara", "1990-04-01", passportKHM+"|N0123456"))
			r := importedOf(t, p.b.want(p.b.as(importer, "POST", "/$import-health-card", importBody(jws)), http.StatusOK))
			if r.result != "imported" || r.patient != "q3" || r.found != "matched" || r.grade != "certain" {
				t.Fatalf("certain match: %s", r.raw)
			}
			if n := count(t, p.b, admin, "/Immunization?patient=q3"); n != 1 {
				t.Errorf("q3 has %d Immunizations", n)
			}
			if n := count(t, p.b, admin, "/Patient"); n != 3 {
				t.Errorf("%d Patients: a certain match must not create one", n)
			}

			// Two certain matches that are not one person: refused; once
			// linked (the linker links certain pairs), the card is found stored.
			put("q4", person("Sok", "Dara", "1990-04-01"))
			is := p.b.want(p.b.as(importer, "POST", "/$import-health-card", importBody(jws)), http.StatusUnprocessableEntity).issue(t)
			if d := is["diagnostics"].(string); !strings.Contains(d, "2 Patients with certainty, but they are not linked") {
				t.Errorf("two certain matches: %v", is)
			}
			if _, err := p.bSvc.DrainLinks(t.Context()); err != nil {
				t.Fatal(err)
			}
			r = importedOf(t, p.b.want(p.b.as(importer, "POST", "/$import-health-card", importBody(jws)), http.StatusOK))
			if r.result != "unchanged" || (r.patient != "q3" && r.patient != "q4") {
				t.Errorf("linked set: %s", r.raw)
			}
		})
	}
}

// The operation is in the CapabilityStatement, at the system level, with
// its OperationDefinition served.
func TestImportHealthCardCapability(t *testing.T) {
	a := newCardAPI(t, storetest.Backends()[0].Open(t), rest.HealthCardConfig{})
	cs := a.want(a.do("GET", "/metadata", ""), http.StatusOK).json(t)
	var def string
	for _, op := range asList(cs["rest"].([]any)[0].(map[string]any)["operation"]) {
		if op := op.(map[string]any); op["name"] == "import-health-card" {
			def = op["definition"].(string)
		}
	}
	if def != "https://mekong-fhir.github.io/fhir/OperationDefinition/import-health-card" {
		t.Fatalf("system operations: %v", cs["rest"].([]any)[0].(map[string]any)["operation"])
	}
	od := a.want(a.as(a.mint("user/*.rs", ""), "GET", "/OperationDefinition/import-health-card", ""), http.StatusOK).json(t)
	if od["code"] != "import-health-card" || od["system"] != true {
		t.Errorf("definition: %v", od)
	}
}
