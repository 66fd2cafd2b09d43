package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/metrics"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
	"github.com/mekong-fhir/mekong/internal/tracing"
)

// observabilityFlags configure what serve tells operators about itself.
func observabilityFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "metrics-addr", Sources: ucli.EnvVars("MEKONG_METRICS_ADDR"),
			Usage: "also serve GET /metrics without a token on this address (e.g. an internal interface, 10.0.0.5:9464); " +
				"on the API's address /metrics needs a token with the scope mekong/metrics"},
		&ucli.StringFlag{Name: "otlp-endpoint", Sources: ucli.EnvVars("MEKONG_OTLP_ENDPOINT"),
			Usage: "send OpenTelemetry traces over OTLP/HTTP to this collector URL (http://collector:4318); none: tracing off"},
		&ucli.Float64Flag{Name: "trace-sample-ratio", Value: 1, Sources: ucli.EnvVars("MEKONG_TRACE_SAMPLE_RATIO"),
			Usage: "share of new traces recorded, 0 to 1 (a request with a sampled traceparent is always traced)"},
	}
}

// newTracing starts tracing when --otlp-endpoint is given (nil otherwise).
func newTracing(ctx context.Context, cmd *ucli.Command) (*tracing.Tracing, error) {
	t, err := tracing.New(ctx, tracing.Config{Endpoint: cmd.String("otlp-endpoint"),
		SampleRatio: cmd.Float64("trace-sample-ratio"), Version: Version})
	if err != nil {
		return nil, fmt.Errorf("--otlp-endpoint: %w", err)
	}
	return t, nil
}

// newMetrics builds serve's metrics, with the database pools' statistics.
func newMetrics(db *sqlstore.DB) *metrics.Metrics {
	m := metrics.New()
	w, r := db.Pools()
	m.RegisterDB("writer", w)
	if r != w {
		m.RegisterDB("reader", r)
	}
	return m
}

// listenMetrics binds --metrics-addr, if given, with the API's address, so
// a busy one fails serve before it prints a token or opens the database.
func listenMetrics(cmd *ucli.Command) (net.Listener, error) {
	addr := cmd.String("metrics-addr")
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	return ln, nil
}

// serveMetrics serves /metrics without a token on ln (nil: nothing to do);
// stop shuts it down.
func serveMetrics(ln net.Listener, m *metrics.Metrics, log *slog.Logger) (stop func()) {
	if ln == nil {
		return func() {}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener", slog.String("error", err.Error()))
		}
	}()
	log.Info("metrics served", slog.String("url", "http://"+ln.Addr().String()+"/metrics"))
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}
}
