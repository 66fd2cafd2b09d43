package healthcard

import (
	"encoding/json"
	"strings"
	"testing"
)

func keepImported(typ string) bool { return typ == "Immunization" || typ == "Observation" }

// The specification's example 00 (cards-specification.md, "Examples"): its
// Patient and three Immunizations are read for import with their codes as
// the card has them, the derived identifiers added, resource:0 kept for the
// writer to resolve.
func TestReadContentsSpecExample(t *testing.T) {
	jws, err := readVector("hl7/example-00-d-jws.txt")
	if err != nil {
		t.Fatal(err)
	}
	j, err := ParseJWS(jws)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadContents(j.Claims.Issuer, jws, j.Claims.VC.CredentialSubject.FHIRBundle, keepImported)
	if err != nil {
		t.Fatal(err)
	}
	if c.CardID != Hash(jws) || c.Holder.FullURL != "resource:0" || len(c.Items) != 3 || len(c.Skipped) != 0 {
		t.Fatalf("contents: %+v", c)
	}
	want := `{"resourceType":"Patient","name":[{"family":"Anyperson","given":["John","B."]}],"birthDate":"1951-01-20",` +
		`"identifier":[{"system":"` + HolderSystem + `","value":"` + c.Holder.Identifier + `"}]}`
	if string(c.Holder.Content) != want {
		t.Errorf("holder:\n%s\nwant\n%s", c.Holder.Content, want)
	}
	for i, it := range c.Items {
		if it.Type != "Immunization" || it.FullURL != "resource:"+string(rune('1'+i)) || it.Index != i+1 {
			t.Errorf("item %d: %+v", i, it)
		}
		s := string(it.Content)
		if !strings.Contains(s, `"patient":{"reference":"resource:0"}`) || !strings.Contains(s, `"system":"http://hl7.org/fhir/sid/cvx"`) ||
			!strings.HasSuffix(s, `"identifier":[{"system":"`+EntrySystem+`","value":"`+it.Identifier+`"}]}`) {
			t.Errorf("item %d: %s", i, s)
		}
	}
	// Doses 1 and 2 differ (date, lot): their identifiers differ.
	if c.Items[0].Identifier == c.Items[1].Identifier {
		t.Error("two vaccinations share an identifier")
	}
}

// The identifiers depend on what the card says, not on how it is written:
// another card of the same issuer for the same claims and data (another
// JWS, members in another order) gives the same identifiers; another
// issuer, or another person, does not.
func TestReadContentsIdentifiers(t *testing.T) {
	card := func(patient, imm string) []byte {
		return []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"resource:0","resource":` + patient +
			`},{"fullUrl":"resource:1","resource":` + imm + `}]}`)
	}
	dara := `{"resourceType":"Patient","name":[{"family":"Sok","given":["Dara"]}],"birthDate":"1990-04-01"}`
	daraReordered := `{"birthDate":"1990-04-01","resourceType":"Patient","name":[{"given":["Dara"],"family":"Sok"}]}`
	vanna := `{"resourceType":"Patient","name":[{"family":"Chan","given":["Vanna"]}],"birthDate":"1995-02-11"}`
	imm := `{"resourceType":"Immunization","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},"patient":{"reference":"resource:0"},"occurrenceDateTime":"2021-07-02"}`
	immReordered := `{"occurrenceDateTime":"2021-07-02","patient":{"reference":"resource:0"},"status":"completed","vaccineCode":{"coding":[{"code":"511","system":"http://hl7.org/fhir/sid/cvx"}]},"resourceType":"Immunization"}`
	read := func(iss, jws string, b []byte) *Contents {
		t.Helper()
		c, err := ReadContents(iss, jws, b, keepImported)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := read("https://kh.example", "j1", card(dara, imm))
	b := read("https://kh.example", "j2", card(daraReordered, immReordered))
	if a.CardID == b.CardID || a.Holder.Identifier != b.Holder.Identifier || a.Items[0].Identifier != b.Items[0].Identifier {
		t.Errorf("same claims and data, other card: %+v %+v", a, b)
	}
	other := read("https://th.example", "j1", card(dara, imm))
	if other.Holder.Identifier == a.Holder.Identifier || other.Items[0].Identifier == a.Items[0].Identifier {
		t.Error("another issuer gives the same identifiers")
	}
	someone := read("https://kh.example", "j1", card(vanna, imm))
	if someone.Holder.Identifier == a.Holder.Identifier || someone.Items[0].Identifier == a.Items[0].Identifier {
		t.Error("another person's vaccination has the same identifier")
	}
}

// What is not stored is reported with the reason; references to it are
// dropped from what is stored; a repeated entry is stored once; a card that
// is not about one person is refused.
func TestReadContentsSkips(t *testing.T) {
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[
	 {"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"family":"Sok"}]}},
	 {"fullUrl":"resource:1","resource":{"resourceType":"Practitioner","name":[{"family":"Chea"}]}},
	 {"fullUrl":"resource:2","resource":{"resourceType":"Immunization","id":"x","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},
	   "patient":{"reference":"resource:0"},"occurrenceDateTime":"2021-07-02","performer":[{"actor":{"reference":"resource:1"}},{"actor":{"reference":"resource:1","display":"Dr Chea"}}]}},
	 {"fullUrl":"resource:3","resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"resource:9"}}},
	 {"fullUrl":"resource:4","resource":{"resourceType":"Immunization","id":"x","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},
	   "patient":{"reference":"resource:0"},"occurrenceDateTime":"2021-07-02","performer":[{"actor":{"reference":"resource:1"}},{"actor":{"reference":"resource:1","display":"Dr Chea"}}]}},
	 {"fullUrl":"resource:5","resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},
	   "subject":{"reference":"resource:0"},"hasMember":[{"reference":"resource:3"}],"derivedFrom":[{"reference":"resource:2"}]}}]}`
	c, err := ReadContents("https://kh.example", "j", []byte(bundle), keepImported)
	if err != nil {
		t.Fatal(err)
	}
	var skipped []string
	for _, s := range c.Skipped {
		skipped = append(skipped, s.FullURL+" "+s.Type+": "+s.Reason)
	}
	want := []string{
		"resource:1 Practitioner: Practitioner is not a resource type Mekong stores (Patient, Immunization, Observation)",
		"resource:3 Observation: its subject does not refer to the card's Patient (resource:0)",
		"resource:4 Immunization: it repeats resource:2",
	}
	if strings.Join(skipped, "\n") != strings.Join(want, "\n") {
		t.Errorf("skipped:\n%s\nwant\n%s", strings.Join(skipped, "\n"), strings.Join(want, "\n"))
	}
	if len(c.Items) != 2 {
		t.Fatalf("items: %+v", c.Items)
	}
	imm, obs := string(c.Items[0].Content), string(c.Items[1].Content)
	if strings.Contains(imm, `"id"`) || !strings.Contains(imm, `"performer":[{"actor":{"display":"Dr Chea"}}]`) {
		t.Errorf("Immunization: %s", imm)
	}
	if strings.Contains(obs, "hasMember") || !strings.Contains(obs, `"derivedFrom":[{"reference":"resource:2"}]`) {
		t.Errorf("Observation: %s", obs)
	}
	var v map[string]any
	if json.Unmarshal(c.Items[0].Content, &v) != nil || json.Unmarshal(c.Items[1].Content, &v) != nil {
		t.Error("not JSON")
	}

	for _, bad := range []struct{ bundle, want string }{
		{`{"resourceType":"Patient"}`, "not a Bundle"},
		{`{"resourceType":"Bundle"}`, "no entries"},
		{`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}}]}`, "no fullUrl"},
		{`{"resourceType":"Bundle","entry":[{"fullUrl":"resource:0","resource":{"resourceType":"Immunization"}}]}`, "no Patient"},
		{`{"resourceType":"Bundle","entry":[{"fullUrl":"resource:0","resource":{"resourceType":"Patient"}},{"fullUrl":"resource:1","resource":{"resourceType":"Patient"}}]}`, "two Patients"},
		{`{"resourceType":"Bundle","entry":[{"fullUrl":"resource:0","resource":{"resourceType":"Patient"}},{"fullUrl":"resource:0","resource":{"resourceType":"Immunization"}}]}`, "used twice"},
	} {
		if _, err := ReadContents("https://kh.example", "j", []byte(bad.bundle), keepImported); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want %q", bad.bundle, err, bad.want)
		}
	}
}

// A card's bundle is outside input (signed, but by any trusted issuer):
// reading it never panics, and what it gives is JSON, each stored item
// carrying its derived identifier.
func FuzzReadContents(f *testing.F) {
	for _, n := range []string{"00", "02"} {
		p, _ := readVector("hl7/example-" + n + "-c-jws-payload-minified.json")
		var claims Claims
		if json.Unmarshal([]byte(p), &claims) == nil {
			f.Add([]byte(claims.VC.CredentialSubject.FHIRBundle))
		}
	}
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"fullUrl":"resource:0","resource":{"resourceType":"Patient"}},{"fullUrl":"resource:1","resource":{"resourceType":"Observation","subject":{"reference":"resource:0"},"hasMember":[{"reference":"resource:1"}]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadContents("https://kh.example", "j", data, keepImported)
		if err != nil {
			return
		}
		for _, it := range append([]Item{c.Holder}, c.Items...) {
			var v map[string]any
			if err := json.Unmarshal(it.Content, &v); err != nil {
				t.Fatalf("%s is not JSON: %v", it.Content, err)
			}
			if !strings.Contains(string(it.Content), it.Identifier) {
				t.Fatalf("%s lacks its identifier", it.Content)
			}
		}
	})
}
