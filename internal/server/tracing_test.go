// OpenTelemetry tracing of FHIR requests (issue 14 item 17): otelhttp's
// server span, named by route, with interaction, type and status, and never
// an identifier, a name or a query value
// (https://opentelemetry.io/docs/specs/semconv/http/http-spans/).
package server_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
	"github.com/mekong-fhir/mekong/internal/tracing"
)

func TestTracingSpansCarryNoPatientData(t *testing.T) {
	st := storetest.Backends()[0].Open(t)
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.WithExporter(exp, tracing.Config{SampleRatio: 1, Version: "test"}, sdktrace.WithSyncer)
	h := server.New(server.Config{}, rest.New(st, parser, registry), st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(tr.Handler(h))
	defer srv.Close()

	const id, name, passport = "pt-trace-4e1c", "Sopheap", "N6543210"
	do := func(method, path, body string, headers ...string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/fhir+json")
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	patient := fmt.Sprintf(`{"resourceType":"Patient","id":"%s","name":[{"family":"%s"}],"identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"%s"}]}`, id, name, passport)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, r := range []struct {
		method, path, body string
		status             int
	}{
		{"PUT", "/fhir/Patient/" + id, patient, 201},
		{"GET", "/fhir/Patient/" + id, "", 200},
		{"GET", "/fhir/Patient?name=" + name + "&identifier=http://hl7.org/fhir/sid/passport-KHM|" + passport, "", 200},
		{"GET", "/fhir/Patient/" + id + "/$everything", "", 200},
		{"GET", "/fhir/Patient/" + id + "-gone", "", 404},
		{"GET", "/fhir/" + name + "/" + passport, "", 404},       // not a type
		{"GET", "/fhir/" + name + "/a/b/c/" + passport, "", 404}, // no route
		{"GET", "/healthz", "", 200},
	} {
		if got := do(r.method, r.path, r.body, "traceparent", parent); got != r.status {
			t.Fatalf("%s %s: %d, want %d", r.method, r.path, got, r.status)
		}
	}
	spans := exp.GetSpans() // before Shutdown, which empties the exporter
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	type want struct{ name, interaction, typ, operation, status string }
	wants := []want{
		{"PUT /fhir/:type/:id", "update", "Patient", "", "201"},
		{"GET /fhir/:type/:id", "read", "Patient", "", "200"},
		{"GET /fhir/:type", "search-type", "Patient", "", "200"},
		{"GET /fhir/:type/:id/$everything", "operation", "Patient", "everything", "200"},
		{"GET /fhir/:type/:id", "read", "Patient", "", "404"},
		{"GET /fhir/:type/:id", "read", "", "", "404"},
		{"GET", "other", "", "", "404"},
	}
	if len(spans) != len(wants) {
		t.Fatalf("%d spans, want %d (health checks are not traced): %v", len(spans), len(wants), spans.Snapshots())
	}
	for i, s := range spans {
		attrs := map[string]string{}
		for _, kv := range s.Attributes {
			attrs[string(kv.Key)] = kv.Value.Emit()
		}
		w := wants[i]
		if s.Name != w.name || attrs["fhir.interaction"] != w.interaction || attrs["fhir.resource_type"] != w.typ ||
			attrs["fhir.operation"] != w.operation || attrs["http.response.status_code"] != w.status {
			t.Errorf("span %d: %q %v; want %+v", i, s.Name, attrs, w)
		}
		// The caller's traceparent is honoured: the span continues its trace.
		if s.Parent.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || s.Parent.SpanID().String() != "00f067aa0ba902b7" {
			t.Errorf("span %d: parent %v, want the request's traceparent", i, s.Parent)
		}
		for _, k := range []string{"url.path", "url.query", "url.full", "user_agent.original", "client.address", "network.peer.address"} {
			if _, ok := attrs[k]; ok {
				t.Errorf("span %d exports %s", i, k)
			}
		}
		var all bytes.Buffer
		fmt.Fprintf(&all, "%s %v %v %v", s.Name, s.Attributes, s.Events, s.Status)
		for _, secret := range []string{id, name, passport, "passport-KHM", "identifier"} {
			if strings.Contains(all.String(), secret) {
				t.Errorf("span %d carries %q: %s", i, secret, all.String())
			}
		}
	}
}

// A nil *Tracing (tracing off, the default) leaves the handler as it is.
func TestTracingOffByDefault(t *testing.T) {
	tr, err := tracing.New(t.Context(), tracing.Config{})
	if err != nil || tr != nil {
		t.Fatalf("New without an endpoint = %v, %v; want tracing off", tr, err)
	}
	h := http.NotFoundHandler()
	if got := tr.Handler(h); fmt.Sprint(got) != fmt.Sprint(h) {
		t.Errorf("tracing off wrapped the handler")
	}
	if _, err := tracing.New(t.Context(), tracing.Config{Endpoint: "http://127.0.0.1:4318", SampleRatio: 2}); err == nil {
		t.Error("a sample ratio of 2 was accepted")
	}
}
