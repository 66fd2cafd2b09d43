package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Issue 6, "from FHIR: produce the source format again", through
// GET Patient/[id]/$export-source (an instance-level operation,
// https://hl7.org/fhir/R4/operations.html#executing): ingest a sample,
// export each patient, decode the export again and compare the FHIR it
// becomes with what the sample became. meta.lastUpdated is the server's
// time of storage and is left out of the comparison.
func TestExportSourceRoundTrip(t *testing.T) {
	payloads := samplePayloads(t)
	for _, format := range []string{"iom-csv", "th43", "dhis2"} {
		t.Run(format, func(t *testing.T) {
			a := newAPI(t, storetestSQLite(t), serverConfig())
			p := payloads[format]
			a.want(a.send("ingest", p), 200)
			orig, _ := convertBundles(t, a.want(a.send("convert", p), 200))
			for _, tx := range orig {
				first := firstIdentifier(t, tx)
				ids := matchIDs(t, a.want(a.do("GET", "/Patient?identifier="+q(first), ""), 200).json(t))
				if len(ids) != 1 {
					t.Fatalf("%s: %d Patients", first, len(ids))
				}
				r := a.want(a.do("GET", "/Patient/"+ids[0]+"/$export-source?format="+format, ""), 200)
				wantType := map[string]string{"iom-csv": "text/csv", "th43": "application/zip", "dhis2": "application/json"}[format]
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, wantType) {
					t.Errorf("Content-Type %q, want %s", ct, wantType)
				}
				if w := r.header.Values("Warning"); len(w) > 0 {
					t.Errorf("omissions on a round trip: %v", w)
				}
				back := payload{format, string(r.body), wantType}
				got, oo := convertBundles(t, a.want(a.send("convert", back), 200))
				if len(got) != 1 {
					t.Fatalf("%s: the export decodes to %d persons: %v", first, len(got), oo)
				}
				if diff := cmpBundles(t, tx, got[0]); diff != "" {
					t.Errorf("%s: round trip (-sample +export):\n%s", first, diff)
				}
			}
		})
	}
}

func firstIdentifier(t *testing.T, tx json.RawMessage) string {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource struct {
				Identifier []struct{ System, Value string } `json:"identifier"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(tx, &b); err != nil {
		t.Fatal(err)
	}
	id := b.Entry[0].Resource.Identifier[0]
	return id.System + "|" + id.Value
}

// cmpBundles diffs two transaction Bundles without meta.lastUpdated and
// without EpisodeOfCare: Mekong stores Patient, Observation and
// Immunization only, so DHIS2 enrollments are not kept and the export
// enrols the person again from their events (a warning of $ingest says so).
func cmpBundles(t *testing.T, want, got []byte) string {
	t.Helper()
	norm := func(b []byte) any {
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		var kept []any
		for _, e := range v["entry"].([]any) {
			res := e.(map[string]any)["resource"].(map[string]any)
			if res["resourceType"] == "EpisodeOfCare" {
				continue
			}
			if m, ok := res["meta"].(map[string]any); ok {
				delete(m, "lastUpdated")
			}
			kept = append(kept, e)
		}
		v["entry"] = kept
		return v
	}
	return cmp.Diff(norm(want), norm(got))
}

// https://hl7.org/fhir/R4/http.html#read: an operation on a Patient that
// does not exist is 404, on a deleted one 410; a wrong format is 400.
func TestExportSourceMissingDeletedAndFormat(t *testing.T) {
	a := newAPI(t, storetestSQLite(t), serverConfig())
	a.want(a.do("GET", "/Patient/nobody/$export-source?format=th43", ""), 404)
	a.want(a.do("PUT", "/Patient/gone", `{"resourceType":"Patient","id":"gone","identifier":[{"system":"urn:x","value":"1"}]}`), 201)
	a.want(a.do("DELETE", "/Patient/gone", ""), 200)
	a.want(a.do("GET", "/Patient/gone/$export-source?format=th43", ""), 410)
	for _, f := range []string{"", "hl7v2"} {
		r := a.want(a.do("GET", "/Patient/gone/$export-source?format="+f, ""), 400)
		if r.issue(t)["expression"].([]any)[0] != "format" {
			t.Errorf("format %q: %s", f, r.body)
		}
	}
	r := a.want(a.do("GET", "/Patient/gone/$export-source?format=th43&hospcode=12", ""), 400)
	if r.issue(t)["expression"].([]any)[0] != "hospcode" {
		t.Errorf("hospcode: %s", r.body)
	}
	// The generic routes still answer beside the static Patient/[id]/$export-source.
	a.want(a.do("GET", "/Patient/gone", ""), 410)
	a.want(a.do("GET", "/Patient/gone/_history", ""), 200)
}
