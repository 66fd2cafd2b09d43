package conformance

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func newService(t *testing.T, b storetest.Backend) *rest.Service {
	p, reg := parserAndRegistry(t)
	return rest.New(b.Open(t), p, reg)
}

const base = "http://example.org/fhir"

// The official transaction example (Bundle-bundle-transaction.json,
// https://hl7.org/fhir/R4/bundle-transaction.json.html). It holds a
// ValueSet/$lookup entry, an operation Mekong does not serve, so the whole
// transaction is refused naming that entry; without it, and with the state
// its If-Match expects (Patient/123a at version 2), it commits.
func TestOfficialTransactionExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(ExamplesDir(), "Bundle-bundle-transaction.json"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("SKIPPED: run make conformance-data")
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			svc := newService(t, b)
			ctx := context.Background()
			_, err := svc.Bundle(ctx, rest.Request{Base: base, Body: raw})
			if err == nil || !strings.Contains(err.Error(), "Bundle.entry[7]") || !strings.Contains(err.Error(), "$lookup") {
				t.Fatalf("want a refusal naming entry 7 ($lookup), got %v", err)
			}
			var bundle map[string]any
			json.Unmarshal(raw, &bundle)
			entries := bundle["entry"].([]any)
			bundle["entry"] = append(entries[:7:7], entries[8:]...)
			trimmed, _ := json.Marshal(bundle)
			for i := 0; i < 2; i++ {
				if _, err := svc.Update(ctx, rest.Request{Base: base, Type: "Patient", ID: "123a", Body: []byte(`{"resourceType":"Patient","id":"123a"}`)}); err != nil {
					t.Fatal(err)
				}
			}
			res, err := svc.Bundle(ctx, rest.Request{Base: base, Body: trimmed})
			if err != nil {
				t.Fatalf("transaction: %v", err)
			}
			var out struct {
				Type  string
				Entry []struct{ Response struct{ Status string } }
			}
			json.Unmarshal(res.Body, &out)
			var got []string
			for _, e := range out.Entry {
				got = append(got, e.Response.Status)
			}
			want := "201 Created,201 Created,201 Created,201 Created,200 OK,204 No Content,204 No Content,200 OK,404 Not Found"
			if out.Type != "transaction-response" || strings.Join(got, ",") != want {
				t.Fatalf("statuses %v, want %s", got, want)
			}
		})
	}
}

// Every Synthea Bundle loads as a transaction (https://hl7.org/fhir/R4/http.html#transaction):
// 100 Patients, 13,325 Observations and 1,217 Immunizations, each subject
// rewritten from its urn:uuid to the Patient the server created.
func TestSyntheaTransactions(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 14,642 resources")
	}
	files, _ := filepath.Glob(filepath.Join(SyntheaDir(), "bundle-*.json"))
	if len(files) != 100 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%d Synthea bundles in %s", len(files), SyntheaDir())
		}
		t.Skip("SKIPPED: Synthea bundles not found")
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			svc := newService(t, b)
			ctx := context.Background()
			for _, f := range files {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Bundle(ctx, rest.Request{Base: base, Body: raw}); err != nil {
					t.Fatalf("%s: %v", filepath.Base(f), err)
				}
			}
			count := func(typ, query string) int {
				v, _ := url.ParseQuery(query)
				v.Set("_summary", "count")
				res, err := svc.Search(ctx, rest.Request{Base: base, Type: typ, Query: v})
				if err != nil {
					t.Fatal(err)
				}
				var b struct{ Total int }
				json.Unmarshal(res.Body, &b)
				return b.Total
			}
			for typ, want := range map[string]int{"Patient": 100, "Observation": 13325, "Immunization": 1217} {
				if got := count(typ, "_lastUpdated=gt2000"); got != want {
					t.Errorf("%s: %d, want %d", typ, got, want)
				}
			}
			// Every Observation's subject is a stored Patient: the chain finds them all.
			if got := count("Observation", "subject:Patient._lastUpdated=gt2000"); got != 13325 {
				t.Errorf("Observations whose subject resolves: %d, want 13325", got)
			}
		})
	}
}
