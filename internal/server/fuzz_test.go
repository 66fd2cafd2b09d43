package server_test

// HTTP-level fuzzing of outside input (issue 14 item 11): whatever a
// client sends as a search query or a source payload, the answer is never
// a 5xx, and an error is an OperationOutcome. Seeds are in
// testdata/fuzz/<Fuzz...>/; `go test -run '^$' -fuzz FuzzSearchQuery
// ./internal/server` explores further.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func checkAnswer(t *testing.T, what string, r resp) {
	t.Helper()
	if r.status >= 500 {
		t.Fatalf("%s: %d %s", what, r.status, r.body)
	}
	if r.status >= 400 {
		var oo struct{ ResourceType string }
		if json.Unmarshal(r.body, &oo) != nil || oo.ResourceType != "OperationOutcome" {
			t.Fatalf("%s: %d without an OperationOutcome: %.300s", what, r.status, r.body)
		}
	}
}

func FuzzSearchQuery(f *testing.F) {
	for _, q := range []string{
		"name=sok&birthdate=ge1990-01&_count=5&_sort=-birthdate,name",
		"identifier=http://hl7.org/fhir/sid/passport-KHM|N0123456,|x,urn:y|",
		"_has:Observation:subject:code=http://loinc.org|94500-6&_revinclude=Observation:subject:iterate",
		"subject:Patient.identifier=a|b&date=ap2026-03&value-quantity=gt5.4|http://unitsofmeasure.org|mg",
		"code-value-concept=http://loinc.org|1$http://snomed.info/sct|2&_total=accurate&_summary=count",
		"name:contains=%E1%9E%9F&_elements=name,gender&_format=json&_pretty=true",
		"%zz=1&_count=-1&date=ge2026-13-45T99:00",
		"_id=a,b,c&_lastUpdated=gt2026-01-01T00:00:00Z&_cursor=eyJ0IjoiUGF0aWVudCJ9",
	} {
		f.Add("Patient", q)
		f.Add("Observation", q)
	}
	st := storetest.OpenSQLite(f)
	a := newAPIWith(f, st, rest.New(st, parser, registry), server.Config{})
	f.Fuzz(func(t *testing.T, typ, query string) {
		a.t = t
		if strings.ContainsAny(typ, "/?#%") || requestTarget(typ) != typ || typ == "" {
			typ = "Patient"
		}
		// Only what HTTP can carry in a request target: the fuzzer's
		// bytes, with those a client must percent-encode encoded.
		r := a.do("GET", "/"+typ+"?"+requestTarget(query), "")
		checkAnswer(t, "GET ?"+query, r)
		r = a.do("POST", "/"+typ+"/_search", query, "Content-Type", "application/x-www-form-urlencoded")
		checkAnswer(t, "POST _search "+query, r)
	})
}

// FuzzSourcePayload sends the fuzzer's bytes as each source format to
// $convert, as a body and as a multipart file.
func FuzzSourcePayload(f *testing.F) {
	f.Add(uint8(0), []byte("case_number,family_name,given_name,sex,date_of_birth,nationality\nIOM-1,Sok,Dara,M,1990-04-01,KHM\n"))
	f.Add(uint8(1), []byte(`{"records":[{"case_number":"IOM-1","family_name":"Sok","date_of_birth":"1990-13-01"}]}`))
	f.Add(uint8(2), []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"))
	f.Add(uint8(3), []byte(`{"trackedEntities":[{"trackedEntity":"x","attributes":[{"attribute":"a","value":"\u0000"}]}]}`))
	f.Add(uint8(2), []byte("HOSPCODE|PID|NAME|LNAME|SEX|BIRTH|D_UPDATE\n10742|1|A|B|2|20000229|20240101000000\n"))
	formats := []string{"iom-csv", "iom-json", "th43", "dhis2"}
	st := storetest.OpenSQLite(f)
	a := newAPIWith(f, st, rest.New(st, parser, registry), server.Config{})
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		a.t = t
		format := formats[int(which)%len(formats)]
		r := a.do("POST", "/$convert?format="+format, string(body), "Content-Type", "application/octet-stream")
		checkAnswer(t, format+" body", r)
		name := map[string]string{"iom-csv": "iom.csv", "iom-json": "iom.json", "th43": "PERSON.txt", "dhis2": "tracker.json"}[format]
		mp, ct := multipartFiles(t, map[string]string{name: string(body)})
		r = a.do("POST", "/$convert?format="+format, mp, "Content-Type", ct)
		checkAnswer(t, format+" multipart", r)
		if r.status == http.StatusOK && !strings.Contains(string(r.body), `"resourceType":"Bundle"`) {
			t.Fatalf("%s: 200 without a Bundle", format)
		}
	})
}

// requestTarget percent-encodes the bytes a request line cannot hold
// (controls, space, '#', non-ASCII) and leaves everything else, malformed
// escapes included, as the fuzzer wrote it.
func requestTarget(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
