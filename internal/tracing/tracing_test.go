package tracing

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestNewValidatesTheEndpoint(t *testing.T) {
	for _, bad := range []string{"collector:4318", "ftp://collector", "http://", "::"} {
		if tr, err := New(t.Context(), Config{Endpoint: bad, SampleRatio: 1}); err == nil {
			tr.Shutdown(t.Context())
			t.Errorf("endpoint %q accepted", bad)
		}
	}
	tr, err := New(t.Context(), Config{Endpoint: "http://127.0.0.1:4318", SampleRatio: 0.5})
	if err != nil || tr == nil {
		t.Fatalf("New = %v, %v", tr, err)
	}
	tr.Shutdown(t.Context())
}

// The allowlist keeps only known keys, on spans and their events, and drops
// error descriptions.
func TestAllowlist(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := WithExporter(exp, Config{SampleRatio: 1}, sdktrace.WithSyncer)
	_, span := tr.tp.Tracer("t").Start(t.Context(), "GET /fhir/:type/:id")
	span.SetAttributes(attribute.String("url.path", "/fhir/Patient/secret-id"), attribute.String("url.query", "name=Dara"),
		attribute.Int("http.response.status_code", 404), KeyInteraction.String("read"))
	span.AddEvent("e", trace.WithAttributes(attribute.String("exception.message", "Patient/secret-id"), KeyType.String("Patient")))
	span.SetStatus(codes.Error, "Patient/secret-id not found")
	span.End()
	got := exp.GetSpans()
	if len(got) != 1 {
		t.Fatalf("%d spans", len(got))
	}
	s := got[0]
	if len(s.Attributes) != 2 || s.Attributes[0].Key != "http.response.status_code" || s.Attributes[1].Key != KeyInteraction {
		t.Errorf("attributes %v", s.Attributes)
	}
	if s.Status.Code != codes.Error || s.Status.Description != "" {
		t.Errorf("status %+v", s.Status)
	}
	if len(s.Events) != 1 || len(s.Events[0].Attributes) != 1 || s.Events[0].Attributes[0].Key != KeyType {
		t.Errorf("events %v", s.Events)
	}
}
