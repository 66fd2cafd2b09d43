package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/internal/rest"
)

// identityFlags configure the matcher and the linker (issue 11) in serve,
// import and ingest: every path that writes Patients links them.
func identityFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "match-config", Sources: ucli.EnvVars("MEKONG_MATCH_CONFIG"),
			Usage: "the matcher's configuration (JSON: weights, thresholds, key version; see internal/match); default: the shipped one"},
		&ucli.DurationFlag{Name: "link-poll", Value: 2 * time.Second, Sources: ucli.EnvVars("MEKONG_LINK_POLL"),
			Usage: "how often the linker looks for Patients written through other gateway instances: the bound on their linking delay"},
	}
}

// setupIdentity gives svc the configured matcher.
func setupIdentity(cmd *ucli.Command, svc *rest.Service) error {
	cfg := match.DefaultConfig()
	if path := cmd.String("match-config"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("--match-config: %w", err)
		}
		defer f.Close()
		if cfg, err = match.LoadConfig(f); err != nil {
			return fmt.Errorf("--match-config %s: %w", path, err)
		}
	}
	m, err := match.New(cfg)
	if err != nil {
		return fmt.Errorf("--match-config: %w", err)
	}
	svc.SetIdentity(m, rest.IdentityOptions{Poll: cmd.Duration("link-poll")})
	return nil
}

// linking runs write (an import, an ingest) with the linker working beside
// it, as it does in serve, then links what is still queued before the
// command exits: a command-line load is linked like one through the API,
// even when no server runs.
func linking(ctx context.Context, svc *rest.Service, log *slog.Logger, write func() error) error {
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.RunLinker(lctx, log) }()
	err := write()
	stop()
	<-done
	if err != nil {
		return err
	}
	return linkWritten(ctx, svc, log)
}

// linkWritten links the Patients still queued.
func linkWritten(ctx context.Context, svc *rest.Service, log *slog.Logger) error {
	began := time.Now()
	st, err := svc.DrainLinks(ctx)
	if err != nil {
		return fmt.Errorf("linking: %w", err)
	}
	log.Info("linking done", slog.Int("patients", st.Patients), slog.Int("linked", st.Linked), slog.Int("queued_for_review", st.Queued),
		slog.Int("dropped", st.Dropped), slog.Int("patients_updated", st.Projected), slog.Duration("elapsed", time.Since(began).Round(time.Millisecond)))
	return nil
}
