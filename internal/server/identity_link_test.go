package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// Issue 11, "when the matcher runs": on every Patient write, whatever the
// path. Each path below writes a Patient that is certain to be the same
// person as one stored before (a different family name per path, so the
// pairs cannot meet); after the linker has run, the two are one linked set,
// each showing the other as Patient.link seealso
// (https://hl7.org/fhir/R4/patient-definitions.html#Patient.link), and
// Patient?link= finds them.
func TestAutoLinkOnEveryWritePath(t *testing.T) {
	payloads := samplePayloads(t)
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		type pair struct{ path, first, second string }
		var pairs []pair
		// The first records are stored and linked (to nothing) before the
		// second ones are written, so only the second write's own turn in
		// the linker's queue can link them.
		firsts := map[string]string{}
		for _, fam := range []string{"Create", "Putcreate", "Update", "Patch", "Conditional", "Batch", "Transaction", "Import"} {
			firsts[fam] = a.create(person(fam, "Dara", "1990-04-01", thaiCID+"|"+fam))
		}
		soks := a.create(person("Sok", "Dara", "1992-04-17", thaiCID+"|1100000000017"))
		a.link()
		first := func(family string) string { return firsts[family] }
		same := func(family string, more ...string) string {
			return person(family, "Dara", "1990-04-01", append([]string{passportKHM + "|P-" + family}, more...)...)
		}
		idOf := func(r resp) string { return r.json(t)["id"].(string) }

		f := first("Create")
		pairs = append(pairs, pair{"create", f, a.create(same("Create"))})

		f = first("Putcreate")
		a.want(a.do("PUT", "/Patient/put-create", strings.Replace(same("Putcreate"), `{"resourceType":"Patient"`, `{"resourceType":"Patient","id":"put-create"`, 1)), http.StatusCreated)
		pairs = append(pairs, pair{"update as create", f, "put-create"})

		f = first("Update")
		u := a.create(person("Other", "Someone", "1970-01-01"))
		a.want(a.do("PUT", "/Patient/"+u, strings.Replace(same("Update"), `{"resourceType":"Patient"`, `{"resourceType":"Patient","id":"`+u+`"`, 1)), http.StatusOK)
		pairs = append(pairs, pair{"update", f, u})

		f = first("Patch")
		p := a.create(person("Patch", "Someone", "1970-01-01"))
		a.want(a.do("PATCH", "/Patient/"+p, `[{"op":"replace","path":"/name/0/given/0","value":"Dara"},{"op":"replace","path":"/birthDate","value":"1990-04-01"}]`,
			"Content-Type", "application/json-patch+json"), http.StatusOK)
		pairs = append(pairs, pair{"patch", f, p})

		f = first("Conditional")
		r := a.want(a.do("PUT", "/Patient?identifier="+q(passportKHM+"|P-Conditional"), same("Conditional")), http.StatusCreated)
		pairs = append(pairs, pair{"conditional update", f, idOf(r)})

		for _, typ := range []string{"batch", "transaction"} {
			fam := strings.ToUpper(typ[:1]) + typ[1:]
			f = first(fam)
			r := a.want(a.do("POST", "", `{"resourceType":"Bundle","type":"`+typ+`","entry":[{"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",`+
				`"resource":`+same(fam)+`,"request":{"method":"POST","url":"Patient"}}]}`), http.StatusOK)
			loc := bundleEntries(t, r)[0]["response"].(map[string]any)["location"].(string)
			pairs = append(pairs, pair{typ + " entry", f, strings.Split(strings.TrimPrefix(loc, "Patient/"), "/")[0]})
		}

		f = first("Import")
		imp := strings.Replace(same("Import"), `{"resourceType":"Patient"`, `{"resourceType":"Patient","id":"imported"`, 1)
		a.want(a.do("POST", "/$import", imp+"\n", "Prefer", "respond-async", "Content-Type", "application/fhir+ndjson"), http.StatusAccepted)
		for {
			ran, err := a.bulk.RunOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !ran {
				break
			}
		}
		pairs = append(pairs, pair{"$import", f, "imported"})

		// $ingest: the IOM sample's first person (SOK DARA, 1992-04-17,
		// passport N01234567) was seen first by a clinic that recorded no
		// passport; the engine links the two on name and birth date.
		f = soks
		a.want(a.send("ingest", payloads["iom-csv"]), http.StatusOK)
		ingested := matchIDs(t, a.want(a.do("GET", "/Patient?identifier="+q("http://hl7.org/fhir/sid/passport-KHM|N01234567"), ""), http.StatusOK).json(t))
		if len(ingested) != 1 {
			t.Fatalf("ingested Patients with the IOM passport: %v", ingested)
		}
		pairs = append(pairs, pair{"$ingest", f, ingested[0]})

		st := a.link()
		if st.Linked < len(pairs) {
			t.Errorf("linker stats %+v: fewer links than paths (%d)", st, len(pairs))
		}
		for _, p := range pairs {
			a.wantLinked("level3", p.first, p.second)
			got := matchIDs(t, a.want(a.do("GET", "/Patient?link=Patient/"+p.first, ""), http.StatusOK).json(t))
			if !slices.Equal(got, []string{p.second}) {
				t.Errorf("%s: Patient?link=Patient/%s found %v, want %s", p.path, p.first, got, p.second)
			}
		}
		// Running the linker again changes nothing.
		if st := a.link(); st != (rest.LinkStats{}) {
			t.Errorf("a second run did something: %+v", st)
		}
	})
}

// Links survive a source sending its own version of the Patient again: a
// PUT without links, a PUT claiming other server links, a patch removing
// them and a re-import keep exactly the server's links, and write no
// version when nothing else changed.
func TestLinksSurviveResend(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		body := func(id string) string {
			return strings.Replace(person("Sok", "Dara", "1990-04-01", passportKHM+"|N1"), `{"resourceType":"Patient"`, `{"resourceType":"Patient","id":"`+id+`"`, 1)
		}
		a.want(a.do("PUT", "/Patient/a", body("a")), http.StatusCreated)
		a.want(a.do("PUT", "/Patient/b", body("b")), http.StatusCreated)
		a.link()
		a.wantLinked("level3", "a", "b")
		// The source sends a again, as it knows it (no links).
		r := a.want(a.do("PUT", "/Patient/a", body("a")), http.StatusOK)
		if !strings.Contains(string(r.body), `"Patient/b"`) {
			t.Fatalf("the update dropped the link: %s", r.body)
		}
		// A client cannot forge a server link, nor a patch remove one.
		forged := strings.Replace(body("a"), `"birthDate"`, `"link":[{"extension":[{"url":"https://mekong-fhir.github.io/fhir/StructureDefinition/identity-link-assurance","valueCode":"level4"}],"other":{"reference":"Patient/zzz"},"type":"seealso"}],"birthDate"`, 1)
		a.want(a.do("PUT", "/Patient/a", forged), http.StatusOK)
		a.want(a.do("PATCH", "/Patient/b", `[{"op":"remove","path":"/link"}]`, "Content-Type", "application/json-patch+json"), http.StatusOK)
		a.link()
		a.wantLinked("level3", "a", "b")
		// A client's own links are its own: kept beside the server's.
		own := strings.Replace(body("a"), `"birthDate"`, `"link":[{"other":{"reference":"Patient/b"},"type":"refer"}],"birthDate"`, 1)
		r = a.want(a.do("PUT", "/Patient/a", own), http.StatusOK)
		if !strings.Contains(string(r.body), `"type":"refer"`) || !strings.Contains(string(r.body), `"type":"seealso"`) {
			t.Fatalf("client link and server link: %s", r.body)
		}
		a.want(a.do("PUT", "/Patient/a", body("a")), http.StatusOK)
		a.link()
		// A conditional update whose body names its id keeps the links at
		// once; one without finds its target only inside the store, after
		// the body is prepared: the linker puts the links back on its turn.
		a.want(a.do("PUT", "/Patient?_id=a", body("a")), http.StatusOK)
		a.wantLinked("level3", "a", "b")
		a.want(a.do("PUT", "/Patient?_id=a", person("Sok", "Dara", "1990-04-01", passportKHM+"|N1")), http.StatusOK)
		if got := a.links("a"); len(got) != 0 {
			t.Fatalf("links right after a conditional update without id: %v (expected none until the linker's turn)", got)
		}
		a.link()
		a.wantLinked("level3", "a", "b")
		// Re-importing b's source version keeps its link and writes no version.
		before := a.want(a.do("GET", "/Patient/b", ""), http.StatusOK).header.Get("ETag")
		a.want(a.do("POST", "/$import", body("b")+"\n", "Prefer", "respond-async", "Content-Type", "application/fhir+ndjson"), http.StatusAccepted)
		for ran := true; ran; {
			var err error
			if ran, err = a.bulk.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		a.link()
		if after := a.want(a.do("GET", "/Patient/b", ""), http.StatusOK).header.Get("ETag"); after != before {
			t.Errorf("re-importing b made version %s (was %s)", after, before)
		}
		a.wantLinked("level3", "a", "b")
	})
}

// A deleted Patient leaves its linked set; a Patient whose details change
// so that it no longer matches is unlinked by the engine.
func TestLinkerFollowsChanges(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		x := a.create(person("Sok", "Dara", "1990-04-01"))
		y := a.create(person("Sok", "Dara", "1990-04-01"))
		z := a.create(person("Sok", "Dara", "1990-04-01"))
		a.link()
		a.wantLinked("level3", x, y, z)
		a.want(a.do("DELETE", "/Patient/"+z, ""), http.StatusOK)
		a.link()
		a.wantLinked("level3", x, y)
		a.want(a.do("PUT", "/Patient/"+y, strings.Replace(person("Keo", "Dara", "1990-04-01"), `{"resourceType":"Patient"`, `{"resourceType":"Patient","id":"`+y+`"`, 1)), http.StatusOK)
		a.link()
		a.wantLinked("", x)
		a.wantLinked("", y)
	})
}

// The linker runs asynchronously: a write through this instance wakes it,
// a write through another instance (or the command line) is seen within
// the poll interval. Both are caught up without anyone draining the queue.
func TestLinkerCatchesUp(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			a := newIdentityAPI(t, db)
			a.svc.SetIdentity(gradeEngine{}, rest.IdentityOptions{Poll: 100 * time.Millisecond})
			other := newIdentityAPI(t, db) // a second gateway on the same database, whose linker never runs
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); a.svc.RunLinker(ctx, a.logger()) }()
			defer func() { cancel(); <-done }()

			var ids []string
			for i := range 10 {
				fam := fmt.Sprintf("Fam%02d", i)
				via := a
				if i%2 == 1 {
					via = other
				}
				ids = append(ids, via.create(person(fam, "Dara", "1990-04-01")), via.create(person(fam, "Dara", "1990-04-01")))
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				n, err := a.svc.LinkBacklog(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the linker did not catch up: %d queued after 20s", n)
				}
				time.Sleep(20 * time.Millisecond)
			}
			for i := 0; i < len(ids); i += 2 {
				a.wantLinked("level3", ids[i], ids[i+1])
			}
		})
	}
}

// A matcher configuration with another key version makes every stored key
// useless: the first linker run with it queues every Patient, whose keys
// are then made again, so $match keeps finding them.
func TestKeyVersionChangeRekeys(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			a := newIdentityAPI(t, db)
			v1, err := match.New(match.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			a.svc.SetIdentity(v1, rest.IdentityOptions{})
			x := a.create(person("Chhoeung", "Rathana", "1987-09-23", passportKHM+"|N5550001"))
			a.link()
			cfg := match.DefaultConfig()
			cfg.KeyVersion++
			v2, err := match.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			a2 := newIdentityAPI(t, db)
			a2.svc.SetIdentity(v2, rest.IdentityOptions{})
			st := a2.link()
			if st.Patients != 1 || st.Rekeyed != 1 {
				t.Fatalf("after a key version change: %+v, want the one Patient queued and rekeyed", st)
			}
			got, _ := matches(t, a2.want(a2.do("POST", "/Patient/$match", matchBody(person("Chhoeung", "Rathana", "1987-09-23"))), http.StatusOK))
			if len(got) != 1 || got[0].id != x {
				t.Fatalf("$match with the new keys: %v", got)
			}
			if st := a2.link(); st.Patients != 0 {
				t.Fatalf("the same version queued again: %+v", st)
			}
		})
	}
}

// The extension on server-maintained links resolves: a client that reads
// Patient.link[].extension[].url finds its StructureDefinition at
// /StructureDefinition?url= (https://hl7.org/fhir/R4/extensibility.html#Extension:
// "url ... must resolve to an extension definition"), bound to Patient.link.
func TestLinkExtensionIsDefined(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		x := a.create(person("Sok", "Dara", "1990-04-01", passportKHM+"|N1"))
		a.create(person("Sok", "Dara", "1990-04-01", passportKHM+"|N1"))
		a.link()
		p := a.want(a.do("GET", "/Patient/"+x, ""), http.StatusOK).json(t)
		urls := map[string]bool{}
		for _, l := range asList(p["link"]) {
			for _, e := range asList(l.(map[string]any)["extension"]) {
				urls[e.(map[string]any)["url"].(string)] = true
			}
		}
		if len(urls) != 1 {
			t.Fatalf("link extensions %v", urls)
		}
		for u := range urls {
			bundle := a.want(a.do("GET", "/StructureDefinition?url="+q(u), ""), http.StatusOK).json(t)
			entries := asList(bundle["entry"])
			if len(entries) != 1 {
				t.Fatalf("StructureDefinition?url=%s: %d entries", u, len(entries))
			}
			sd := entries[0].(map[string]any)["resource"].(map[string]any)
			ctx := asList(sd["context"])
			if sd["type"] != "Extension" || len(ctx) != 1 || ctx[0].(map[string]any)["expression"] != "Patient.link" {
				t.Errorf("%s: type %v, context %v", u, sd["type"], sd["context"])
			}
		}
	})
}

// Issue 11, "When the matcher runs": certain matches are linked
// automatically, probable ones go to the review queue, and possible ones are
// neither linked nor queued (though $match still lists them).
func TestLinkerActsByGrade(t *testing.T) {
	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		x := a.create(person("Sok", "Dara", "1990-04-01"))
		certain := a.create(person("Sok", "Dara", "1990-04-01"))   // same name and birth date
		probable := a.create(person("Sok", "Vanna", "1990-04-01")) // same family name and birth date
		possible := a.create(person("Sok", "Dara", "1990-09-09"))  // same family name and birth year only
		if st := a.link(); st.Linked != 1 {
			t.Errorf("linker %+v, want exactly one link", st)
		}
		a.wantLinked("level3", x, certain)
		a.wantLinked("", probable)
		a.wantLinked("", possible)
		if pairs, total, _ := a.review("steward", "/Patient/"+possible+"/$identity-review"); total != 0 {
			t.Errorf("a possible match was queued: %v", pairIDs(pairs))
		}
		pairs, _, _ := a.review("steward", "/Patient/"+probable+"/$identity-review")
		got := pairIDs(pairs)
		slices.Sort(got)
		want := []string{key(x, probable), key(certain, probable)}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("the probable match's queued pairs %v, want %v", got, want)
		}
		got2, _ := matches(t, a.want(a.do("POST", "/Patient/$match", matchBody(person("Sok", "Dara", "1990-09-09"))), http.StatusOK))
		if !slices.ContainsFunc(got2, func(m matched) bool { return m.id == x && m.grade == "possible" }) {
			t.Errorf("$match does not list the possible match: %v", got2)
		}
	})
}

// A deployment whose own configuration keeps keyVersion 1 still re-keys its
// Patients when the engine's key rules change (match.KeyRules): the
// database last recorded "1" (as engines before the rules were versioned
// did) over keys made by other rules, and the first linker run of the new
// engine rebuilds them, so $match finds the Patient again.
func TestKeyRulesChangeRekeys(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			if _, err := db.KeyVersion(context.Background(), "1"); err != nil {
				t.Fatal(err)
			}
			old := newIdentityAPI(t, db) // the grade engine's keys stand for the old rules' keys
			x := old.create(person("Chhoeung", "Rathana", "1987-09-23", passportKHM+"|N5550001"))
			old.link()
			cfg := match.DefaultConfig()
			cfg.KeyVersion = 1
			m, err := match.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			a := newIdentityAPI(t, db)
			a.svc.SetIdentity(m, rest.IdentityOptions{})
			if st := a.link(); st.Rekeyed != 1 {
				t.Fatalf("after new key rules under the same keyVersion: %+v, want the one Patient rekeyed", st)
			}
			got, _ := matches(t, a.want(a.do("POST", "/Patient/$match", matchBody(person("Chhoeung", "Rathana", "1987-09-23"))), http.StatusOK))
			if len(got) != 1 || got[0].id != x {
				t.Fatalf("$match after re-keying: %v", got)
			}
		})
	}
}
