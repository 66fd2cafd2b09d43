package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// TestBulkDataClientFlow follows the Bulk Data Access IG as a client does
// (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-kick-off-request,
// #bulk-data-status-request, #file-request): kick-off with a bearer token,
// poll the Content-Location until 200, read the manifest, and fetch each
// file with the token because the manifest says requiresAccessToken. Files
// hold patient data: without a token, or with one that may not read
// everything, they are refused.
func TestBulkDataClientFlow(t *testing.T) {
	db := storetest.Backends()[0].Open(t)
	key, v := devAuth(t)
	mint := func(scope, patient string) string {
		tok, err := auth.Mint(key, auth.MintOptions{Scopes: strings.Fields(scope), Patient: patient, Sensitive: true, ClientID: "bulk-client"})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	svc := rest.New(db, parser, registry)
	b := bulk.New(bulk.Config{}, db, svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := newAPIWith(t, db, svc, server.Config{Bulk: b, Auth: v}).srv
	base := srv.URL + "/fhir"
	tok := mint("system/*.cruds", "")

	get := func(url, token string, headers ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, body
	}
	for _, p := range []string{
		`{"resourceType":"Patient","id":"dara","gender":"male"}`,
		`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/dara"}}`,
	} {
		req, _ := http.NewRequest("PUT", base+"/Patient/dara", strings.NewReader(p))
		if strings.Contains(p, "Observation") {
			req, _ = http.NewRequest("PUT", base+"/Observation/o1", strings.NewReader(p))
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/fhir+json")
		res, err := srv.Client().Do(req)
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("seeding: %v %v", res.StatusCode, err)
		}
		res.Body.Close()
	}

	// Kick-off.
	res, body := get(base+"/$export", tok, "Prefer", "respond-async", "Accept", "application/fhir+json")
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("kick-off: %d %s", res.StatusCode, body)
	}
	status := res.Header.Get("Content-Location")
	if res, _ := get(status, ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("status poll without a token: %d", res.StatusCode)
	}
	// Poll until complete; the worker runs between polls.
	var manifest struct {
		RequiresAccessToken bool `json:"requiresAccessToken"`
		Output              []struct{ Type, URL string }
	}
	for i := 0; ; i++ {
		res, body = get(status, tok)
		if res.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, &manifest); err != nil {
				t.Fatal(err)
			}
			break
		}
		if res.StatusCode != http.StatusAccepted || res.Header.Get("Retry-After") == "" || i > 5 {
			t.Fatalf("poll %d: %d %s", i, res.StatusCode, body)
		}
		if _, err := b.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if !manifest.RequiresAccessToken || len(manifest.Output) != 2 {
		t.Fatalf("manifest %s", body)
	}
	patientOnly := mint("patient/*.rs", "dara")
	// Another client, with the same scopes, does not see this job.
	other, err := auth.Mint(key, auth.MintOptions{Scopes: []string{"system/*.cruds"}, Sensitive: true, ClientID: "another-client"})
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := get(status, other); res.StatusCode != http.StatusNotFound {
		t.Errorf("status poll by another client: %d", res.StatusCode)
	}
	for _, f := range manifest.Output {
		if res, _ := get(f.URL, ""); res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s without a token: %d", f.URL, res.StatusCode)
		}
		if res, _ := get(f.URL, patientOnly); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s with a patient/ token: %d", f.URL, res.StatusCode)
		}
		if res, _ := get(f.URL, other); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s by another client: %d", f.URL, res.StatusCode)
		}
		res, body := get(f.URL, tok, "Accept", "application/fhir+ndjson")
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/fhir+ndjson" {
			t.Fatalf("%s: %d %s", f.URL, res.StatusCode, res.Header.Get("Content-Type"))
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			var r struct{ ResourceType string }
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.ResourceType != f.Type {
				t.Errorf("%s: line %q", f.URL, sc.Text())
			}
		}
	}
}
