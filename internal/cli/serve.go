package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
	_ "time/tzdata" // IANA zone names work without the host's zoneinfo

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/internal/ingest"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
)

// ResourceTypes are the types Mekong serves.
var ResourceTypes = []string{"Patient", "Immunization", "Observation"}

func serveCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "serve",
		Usage: "serve the FHIR API at http://ADDR/fhir",
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Sources: ucli.EnvVars("MEKONG_ADDR"), Usage: "listen address"},
			dbFlag(),
			&ucli.StringFlag{Name: "base-url", Sources: ucli.EnvVars("MEKONG_BASE_URL"),
				Usage: "public base URL of the API, e.g. https://mekong.example.org/fhir (default: from each request)"},
			&ucli.Int64Flag{Name: "max-body", Value: server.DefaultMaxBody, Sources: ucli.EnvVars("MEKONG_MAX_BODY"), Usage: "largest request body in bytes"},
			&ucli.StringFlag{Name: "timezone", Value: "+07:00", Sources: ucli.EnvVars("MEKONG_TIMEZONE"),
				Usage: "zone for dates without a timezone, in resources and searches: an offset (+07:00) or an IANA name (Asia/Bangkok)"},
			dhis2ConfigFlag(),
			integrityFlag(),
			&ucli.Int64Flag{Name: "max-uncompressed", Value: ingest.DefaultMaxUncompressed, Sources: ucli.EnvVars("MEKONG_MAX_UNCOMPRESSED"),
				Usage: "most bytes the ZIP entries of one $convert or $ingest payload may expand to, together (they are decoded in memory)"},
			&ucli.DurationFlag{Name: "shutdown-timeout", Value: 30 * time.Second, Sources: ucli.EnvVars("MEKONG_SHUTDOWN_TIMEOUT"),
				Usage: "how long in-flight requests may run after SIGTERM"},
		}, append(append(append(append(append(append(append(bulkFlags(), authFlags()...), healthCardFlags()...), observabilityFlags()...), identityFlags()...), auditFlags()...), logFlags()...),
			// Patient/$summary (summaryflags.go)
			summaryFlags()...)...),
		Action: func(ctx context.Context, cmd *ucli.Command) error {
			return serve(ctx, cmd, newLogger(cmd, cmd.Root().ErrWriter))
		},
	}
}

func serve(ctx context.Context, cmd *ucli.Command, log *slog.Logger) error {
	// Bind first: a busy port fails before --dev prints a token for a
	// server that will never run, and the banner shows the real address
	// (":0" picks a free port).
	ln, err := net.Listen("tcp", cmd.String("addr"))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer ln.Close()
	mln, err := listenMetrics(cmd)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if mln != nil {
		defer mln.Close()
	}
	as, err := setupAuth(ctx, cmd, log, cmd.Root().Writer, ln.Addr().String())
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	dbURL := cmd.String("db")
	db, applied, err := backend.OpenMigrated(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer db.Close()
	parser, err := resource.NewParser()
	if err != nil {
		return err
	}
	loc, err := ParseZone(cmd.String("timezone"))
	if err != nil {
		return fmt.Errorf("serve: --timezone: %w", err)
	}
	reg, err := search.NewRegistry(ResourceTypes, loc)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	mappings, err := mappingOptions(cmd)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	mappings.MaxUncompressed = cmd.Int64("max-uncompressed")
	// Audit log (serveaudit.go): chain heads logged; benchmark switches.
	stopProfile, err := startCPUProfile(cmd.String("cpu-profile"))
	if err != nil {
		return fmt.Errorf("serve: --cpu-profile: %w", err)
	}
	defer stopProfile()
	if cmd.Bool("bench-no-audit") {
		log.Warn("--bench-no-audit: reads and searches are NOT audited; for benchmarks only")
	}
	headsDone := make(chan struct{})
	hctx, stopHeads := context.WithCancel(context.WithoutCancel(ctx))
	go func() { defer close(headsDone); logAuditHeads(hctx, log, db, cmd.Duration("audit-heads-every")) }()
	defer func() { stopHeads(); <-headsDone }()

	svc := rest.New(db, parser, reg)
	svc.Policy = as.policy
	svc.ReferentialIntegrity = cmd.Bool("referential-integrity")
	if svc.IPS, err = summaryOptions(cmd); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := setupIdentity(cmd, svc); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	cards, err := healthCardConfig(cmd) // SMART Health Cards (healthcards.go)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	svc.EnableHealthCards(cards, db)
	m := newMetrics(db)
	bulkSvc := newBulkService(cmd, db, svc, log, m)
	clinic, err := clinicApp(cmd, as, svc, db, mappings, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	h := server.New(server.Config{BaseURL: cmd.String("base-url"), MaxBody: cmd.Int64("max-body"), Version: Version,
		Bulk: bulkSvc, MaxImportBody: cmd.Int64("max-import-body"), Mappings: mappings,
		Auth: as.authenticator, RateLimit: as.rateLimit, TokenEndpoint: as.tokenEndpoint,
		AuthorizeEndpoint: as.authorizeEndpoint, Metrics: m, App: clinic, NoAudit: cmd.Bool("bench-no-audit")}, svc, db, log)
	defer serveMetrics(mln, m, log)()
	tr, err := newTracing(ctx, cmd)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tr.Shutdown(sctx) // flush the last spans
	}()

	srv := &http.Server{
		Handler:           tr.Handler(h),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("mekong serving", slog.String("url", "http://"+ln.Addr().String()+"/fhir"), slog.String("clinic_page", "http://"+ln.Addr().String()+"/app"),
		slog.String("db", backend.Redact(dbURL)), slog.Int("migrations_applied", applied), slog.String("version", Version))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// The bulk worker stops with ctx; a job it was running keeps its
	// committed batches and is resumed when its lease runs out.
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); bulkSvc.Run(ctx) }()
	go purgeSessions(ctx, clinic, log)
	defer func() { <-workerDone }()
	// The identity linker works the queue of Patient writes (internal/rest/identity_linker.go).
	linkerDone := make(chan struct{})
	go func() { defer close(linkerDone); svc.RunLinker(ctx, log) }()
	defer func() { <-linkerDone }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish (each write is one
	// transaction, so none is left half-done), then close the database.
	log.Info("shutting down", slog.Duration("timeout", cmd.Duration("shutdown-timeout")))
	sctx, cancel := context.WithTimeout(context.Background(), cmd.Duration("shutdown-timeout"))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if c, rows := h.AuditWriter().Stats(); c > 0 {
		_, n, total := h.AuditWriter().CommitLatency()
		log.Info("audit writer", slog.Int64("commits", c), slog.Int64("rows", rows), slog.Duration("mean_commit", total/time.Duration(n)))
	}
	log.Info("stopped")
	return nil
}

// ParseZone reads a zone as an offset ("+07:00", "-05:00", "Z") or an IANA name.
func ParseZone(s string) (*time.Location, error) {
	if s == "Z" || s == "UTC" {
		return time.UTC, nil
	}
	if len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':' {
		t, err := time.Parse("-07:00", s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an offset like +07:00", s)
		}
		_, off := t.Zone()
		return time.FixedZone("UTC"+s, off), nil
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, fmt.Errorf("%q is neither an offset like +07:00 nor a known zone name", s)
	}
	return loc, nil
}
