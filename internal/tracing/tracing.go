// Package tracing sends OpenTelemetry traces of FHIR requests over OTLP/HTTP
// when serve is given --otlp-endpoint; it is off by default. The HTTP server
// span comes from otelhttp (otelecho is deprecated upstream); the server
// names it by its route pattern and adds the FHIR interaction, resource type
// and operation (Annotate).
//
// Spans never carry identifiers, names or query values: what leaves the
// process passes an allowlist of attribute keys (allowedKeys), so url.path
// (which holds resource ids), the user agent and the client's address are
// dropped, and so is any attribute a later otelhttp version adds.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys Mekong adds to a request's span.
const (
	KeyInteraction = attribute.Key("fhir.interaction")
	KeyType        = attribute.Key("fhir.resource_type")
	KeyOperation   = attribute.Key("fhir.operation")
)

// allowedKeys are the only span attributes exported: the method, the route
// pattern, the status, where the server runs, and the FHIR labels.
var allowedKeys = map[attribute.Key]bool{
	"http.request.method":       true,
	"http.response.status_code": true,
	"http.route":                true,
	"url.scheme":                true,
	"server.address":            true,
	"server.port":               true,
	"network.protocol.name":     true,
	"network.protocol.version":  true,
	"error.type":                true,
	KeyInteraction:              true,
	KeyType:                     true,
	KeyOperation:                true,
}

// Config enables tracing.
type Config struct {
	// Endpoint is the OTLP/HTTP collector URL (http://collector:4318, to
	// which /v1/traces is added; or the full traces URL); empty turns
	// tracing off. OTEL_EXPORTER_OTLP_HEADERS and the other
	// standard OTLP variables apply.
	Endpoint string
	// SampleRatio is the share of new traces recorded (0..1); a request
	// carrying a sampled traceparent is always recorded.
	SampleRatio float64
	// Version is the service.version resource attribute.
	Version string
}

// Tracing is a tracer provider exporting through the allowlist.
type Tracing struct {
	tp *sdktrace.TracerProvider
}

// New starts tracing to cfg.Endpoint, or returns nil (tracing off) when it
// is empty.
func New(ctx context.Context, cfg Config) (*Tracing, error) {
	if cfg.Endpoint == "" {
		return nil, nil
	}
	if cfg.SampleRatio < 0 || cfg.SampleRatio > 1 {
		return nil, fmt.Errorf("tracing: the sample ratio %v is not between 0 and 1", cfg.SampleRatio)
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracing: the OTLP endpoint %q is not an http(s) URL", cfg.Endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces" // a collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u.String()))
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", cfg.Endpoint, err)
	}
	batch := func(e sdktrace.SpanExporter) sdktrace.TracerProviderOption { return sdktrace.WithBatcher(e) }
	return WithExporter(exp, cfg, batch), nil
}

// WithExporter builds tracing over exp, registered by register (New
// batches; tests pass an in-memory exporter and sdktrace.WithSyncer); every
// span goes through the allowlist first.
func WithExporter(exp sdktrace.SpanExporter, cfg Config, register func(sdktrace.SpanExporter) sdktrace.TracerProviderOption) *Tracing {
	res := resource.NewSchemaless(semconv.ServiceName("mekong"), semconv.ServiceVersion(cfg.Version))
	return &Tracing{tp: sdktrace.NewTracerProvider(
		register(allowlist{exp}),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)}
}

// Handler wraps the server's handler in otelhttp's server span. A nil
// *Tracing returns h itself.
func (t *Tracing) Handler(h http.Handler) http.Handler {
	if t == nil {
		return h
	}
	return otelhttp.NewHandler(h, "mekong",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		// The name until Annotate knows the route: the method only, never the path.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
		// Health checks would drown the traces.
		otelhttp.WithFilter(func(r *http.Request) bool {
			return r.URL.Path != "/healthz" && r.URL.Path != "/readyz" && r.URL.Path != "/metrics"
		}),
	)
}

// Shutdown flushes the spans still queued.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// Annotate names the request's span by its route pattern ("GET
// /fhir/:type/:id") and adds the FHIR interaction, type and operation.
// It does nothing when the request is not traced.
func Annotate(ctx context.Context, method, route, interaction, typ, operation string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if route != "" {
		span.SetName(method + " " + route)
		span.SetAttributes(semconv.HTTPRoute(route))
	}
	attrs := []attribute.KeyValue{KeyInteraction.String(interaction)}
	if typ != "" {
		attrs = append(attrs, KeyType.String(typ))
	}
	if operation != "" {
		attrs = append(attrs, KeyOperation.String(operation))
	}
	span.SetAttributes(attrs...)
}

// allowlist exports spans with only the allowed attribute keys, event
// attributes filtered alike, and no status description (an error text may
// quote a value).
type allowlist struct{ next sdktrace.SpanExporter }

func (a allowlist) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		out[i] = redacted{s}
	}
	return a.next.ExportSpans(ctx, out)
}

func (a allowlist) Shutdown(ctx context.Context) error { return a.next.Shutdown(ctx) }

// redacted is a span seen through the allowlist. Embedding the interface
// keeps every other method, the SDK's unexported one included.
type redacted struct{ sdktrace.ReadOnlySpan }

func (r redacted) Name() string {
	// A span Annotate did not name (no route matched) keeps the method.
	name := r.ReadOnlySpan.Name()
	if method, route, ok := strings.Cut(name, " "); ok && !strings.HasPrefix(route, "/") {
		return method
	}
	return name
}

func (r redacted) Attributes() []attribute.KeyValue { return allowed(r.ReadOnlySpan.Attributes()) }

func (r redacted) Events() []sdktrace.Event {
	evs := r.ReadOnlySpan.Events()
	out := make([]sdktrace.Event, len(evs))
	for i, e := range evs {
		e.Attributes = allowed(e.Attributes)
		out[i] = e
	}
	return out
}

func (r redacted) Status() sdktrace.Status {
	st := r.ReadOnlySpan.Status()
	if st.Code == codes.Error {
		st.Description = ""
	}
	return st
}

func allowed(attrs []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(attrs))
	for _, kv := range attrs {
		if allowedKeys[kv.Key] {
			out = append(out, kv)
		}
	}
	return out
}
