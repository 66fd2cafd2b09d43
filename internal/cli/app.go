package cli

import (
	"context"
	"log/slog"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/app"
	"github.com/mekong-fhir/mekong/internal/ingest"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store"
)

// clinicApp builds the clinic page (/app) from the auth setup: the SMART
// sign-in when the auth config has a clinic_app issuer, the development
// sign-in with --dev.
func clinicApp(cmd *ucli.Command, as *authSetup, svc *rest.Service, sessions store.Sessions, mappings ingest.Options, log *slog.Logger) (*app.App, error) {
	cfg := app.Config{Service: svc, Sessions: sessions, Mappings: mappings, BaseURL: cmd.String("base-url"),
		Dev: cmd.Bool("dev"), Log: log}
	if c := as.clinic; c != nil {
		cfg.IdleTimeout = time.Duration(c.IdleTimeout)
		if c.Issuer != "" {
			cfg.OAuth = &app.OAuth{Issuer: c.Issuer, AuthorizeURL: as.authorizeEndpoint, TokenURL: as.tokenEndpoint,
				ClientID: c.ClientID, ClientSecret: c.ClientSecret, Scope: c.Scope, RedirectURL: c.RedirectURL,
				Audience: c.Audience, Verifier: as.authenticator}
		}
	}
	return app.New(cfg)
}

// purgeSessions removes ended clinic page sessions now and then, until ctx ends.
func purgeSessions(ctx context.Context, a *app.App, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if err := a.Purge(ctx); err != nil && ctx.Err() == nil {
			log.Warn("clinic page: purging ended sessions failed", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
