package server_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// https://hl7.org/fhir/R4/http.html#capabilities: the CapabilityStatement
// states what the routes serve.
func TestMetadata(t *testing.T) {
	a := newAPI(t, storetest.OpenSQLite(t), server.Config{Version: "1.2.3"})
	cs := a.want(a.do("GET", "/metadata", ""), 200).json(t)
	if cs["resourceType"] != "CapabilityStatement" || cs["fhirVersion"] != "4.0.1" || cs["kind"] != "instance" {
		t.Fatalf("statement %v", cs)
	}
	rest := cs["rest"].([]any)[0].(map[string]any)
	var types []string
	for _, r := range rest["resource"].([]any) {
		res := r.(map[string]any)
		if res["versioning"] == "no-version" {
			continue // ConceptMap, OperationDefinition, StructureDefinition: read-only, TestCapabilityListsMappings
		}
		types = append(types, res["type"].(string))
		var codes []string
		for _, i := range res["interaction"].([]any) {
			codes = append(codes, i.(map[string]any)["code"].(string))
		}
		got := strings.Join(codes, ",")
		if typ := res["type"]; typ == "AuditEvent" || typ == "Provenance" {
			// Written by the server only (https://hl7.org/fhir/R4/provenance.html).
			if got != "read,search-type,vread" || res["conditionalCreate"] != false || res["updateCreate"] != false || res["operation"] != nil {
				t.Fatalf("%s: %s %v", typ, got, res)
			}
			continue
		}
		if got != "create,delete,history-instance,history-type,patch,read,search-type,update,vread" {
			t.Fatalf("%s interactions %s", res["type"], got)
		}
		if res["conditionalCreate"] != true || res["versioning"] != "versioned-update" || res["updateCreate"] != true {
			t.Fatalf("flags %v", res)
		}
		if op := res["operation"].([]any)[0].(map[string]any); op["name"] != "validate" {
			t.Fatalf("operation %v", op)
		}
		// Every supported search parameter, with its type and documentation.
		params := map[string]map[string]any{}
		for _, sp := range res["searchParam"].([]any) {
			m := sp.(map[string]any)
			params[m["name"].(string)] = m
		}
		want := map[string]string{"_id": "token", "_lastUpdated": "date", "_profile": "uri", "identifier": "token"}
		switch res["type"] {
		case "Patient":
			want["family"], want["birthdate"], want["general-practitioner"] = "string", "date", "reference"
		case "Observation":
			want["code-value-quantity"], want["value-quantity"], want["subject"] = "composite", "quantity", "reference"
		case "Immunization":
			want["vaccine-code"], want["lot-number"] = "token", "string"
		}
		for name, typ := range want {
			p := params[name]
			if p == nil || p["type"] != typ || p["documentation"] == "" || p["definition"] == nil {
				t.Errorf("%s searchParam %s = %v, want type %s with documentation", res["type"], name, p, typ)
			}
		}
	}
	if strings.Join(types, ",") != "AuditEvent,Immunization,Observation,Patient,Provenance" {
		t.Fatalf("types %v", types)
	}
	var sys []string
	for _, i := range rest["interaction"].([]any) {
		sys = append(sys, i.(map[string]any)["code"].(string))
	}
	if strings.Join(sys, ",") != "batch,history-system,search-system,transaction" {
		t.Fatalf("system interactions %v", sys)
	}
	if cs["software"].(map[string]any)["version"] != "1.2.3" {
		t.Fatalf("software %v", cs["software"])
	}
}

func TestHealth(t *testing.T) {
	st := storetest.OpenSQLite(t)
	a := newAPI(t, st, server.Config{})
	a.want(a.do("GET", a.srv.URL+"/healthz", ""), 200)
	a.want(a.do("GET", a.srv.URL+"/readyz", ""), 200)
	st.Close()
	a.want(a.do("GET", a.srv.URL+"/readyz", ""), 503).issue(t)
	a.want(a.do("GET", a.srv.URL+"/healthz", ""), 200)
}

// failingStore fails every read with an error that must not reach clients
// (its audit log works: the 500 is audited).
type failingStore struct {
	store.Store
	store.AuditLog
}

var errSecret = errors.New("pq: password authentication failed for user secret-user")

func (failingStore) Read(context.Context, string, string) (*store.Version, error) {
	return nil, errSecret
}

// A server fault is 500 with the request id, and its cause is logged, never sent.
func TestInternalErrorsDoNotLeak(t *testing.T) {
	st := storetest.OpenSQLite(t)
	a := newAPI(t, failingStore{st, st}, server.Config{})
	r := a.want(a.do("GET", "/Patient/x", "", "X-Request-Id", "req-123"), 500)
	is := r.issue(t)
	if strings.Contains(string(r.body), "secret") || !strings.Contains(is["diagnostics"].(string), "req-123") {
		t.Fatalf("500 body %s", r.body)
	}
	if r.header.Get("X-Request-Id") != "req-123" {
		t.Fatalf("request id header %q", r.header.Get("X-Request-Id"))
	}
	logMu.Lock()
	logs := a.logs.String()
	logMu.Unlock()
	if !strings.Contains(logs, "secret-user") || !strings.Contains(logs, `"request_id":"req-123"`) {
		t.Fatalf("cause not logged with request id: %s", logs)
	}
}

// Request and log hygiene: bodies and query strings never reach the log.
func TestLogsHoldNoPatientData(t *testing.T) {
	a := newAPI(t, storetest.OpenSQLite(t), server.Config{})
	a.want(a.do("POST", "/Patient", passport), 201)
	a.want(a.do("GET", "/_history?_since=2020-01-01&secret=N7", ""), 200)
	a.do("GET", "/Patient/x", "", "X-Request-Id", "evil id <script>")
	logMu.Lock()
	logs := a.logs.String()
	logMu.Unlock()
	if strings.Contains(logs, "N7") || strings.Contains(logs, "passport") || strings.Contains(logs, "evil") {
		t.Fatalf("logs carry request data: %s", logs)
	}
}

// The CapabilityStatement states what the audit log answers: AuditEvent's
// own search parameters (purpose with Mekong's definition), no includes,
// and no type offers AuditEvents as reverse includes.
func TestCapabilityAuditEvent(t *testing.T) {
	a := newAPI(t, storetest.OpenSQLite(t), server.Config{})
	cs := a.want(a.do("GET", "/metadata", ""), 200).json(t)
	for _, r := range cs["rest"].([]any)[0].(map[string]any)["resource"].([]any) {
		res := r.(map[string]any)
		for _, inc := range asList(res["searchRevInclude"]) {
			if strings.HasPrefix(inc.(string), "AuditEvent:") {
				t.Errorf("%s offers _revinclude=%s", res["type"], inc)
			}
		}
		if res["type"] != "AuditEvent" {
			continue
		}
		var names []string
		for _, p := range asList(res["searchParam"]) {
			p := p.(map[string]any)
			names = append(names, p["name"].(string))
			if p["name"] == "purpose" && p["definition"] != "https://mekong-fhir.github.io/fhir/SearchParameter/AuditEvent-purpose" {
				t.Errorf("purpose definition %v", p["definition"])
			}
		}
		sort.Strings(names)
		if got := strings.Join(names, ","); got != "_id,_lastUpdated,_security,action,agent,date,entity,outcome,patient,purpose,source,subtype,type" {
			t.Errorf("AuditEvent search parameters %s", got)
		}
		if res["searchInclude"] != nil || res["searchRevInclude"] != nil {
			t.Errorf("AuditEvent includes %v %v", res["searchInclude"], res["searchRevInclude"])
		}
	}
}
