package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/rest"
)

// Default per-client rate limit when the auth config sets none.
var defaultRateLimit = auth.RateLimit{PerSecond: 50, Burst: 100}

func dataDirFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "data-dir", Value: "./data", Sources: ucli.EnvVars("MEKONG_DATA_DIR"),
		Usage: "directory of the development signing key (--dev, mekong token)"}
}

func authFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "auth-config", Sources: ucli.EnvVars("MEKONG_AUTH_CONFIG"),
			Usage: "JSON file of trusted token issuers and access policy (see docs/auth-config.example.json)"},
		&ucli.BoolFlag{Name: "dev", Sources: ucli.EnvVars("MEKONG_DEV"),
			Usage: "trust a local development signing key (created under --data-dir) and print a ready-to-use token"},
		&ucli.StringFlag{Name: "auth", Sources: ucli.EnvVars("MEKONG_AUTH"),
			Usage: "\"none\" turns authentication off: every request may do everything (local experiments only)"},
		dataDirFlag(),
	}
}

// errNoAuth is serve's refusal to start open by default.
var errNoAuth = errors.New("no authentication configured: give --auth-config FILE (MEKONG_AUTH_CONFIG) naming the " +
	"trusted token issuers, or --dev to trust a local development key and print a token; " +
	"--auth none turns authentication off (local experiments only)")

// authSetup is what serve needs from the auth flags.
type authSetup struct {
	authenticator auth.Authenticator
	rateLimit     *auth.RateLimit
	policy        rest.Policy
	tokenEndpoint string
	// authorizeEndpoint and clinic configure the clinic page's sign-in (app.go).
	authorizeEndpoint string
	clinic            *auth.ClinicAppConfig
}

// setupAuth builds the authenticator serve runs with. It never returns an
// open one unless --auth none was given. addr is where serve listens, for
// the --dev banner's curl line.
func setupAuth(ctx context.Context, cmd *ucli.Command, log *slog.Logger, out io.Writer, addr string) (*authSetup, error) {
	mode, file, dev := cmd.String("auth"), cmd.String("auth-config"), cmd.Bool("dev")
	switch {
	case mode == "none":
		if file != "" || dev {
			return nil, errors.New("--auth none cannot be combined with --auth-config or --dev")
		}
		// Logged at every start, so an open server never goes unnoticed.
		log.Warn("AUTHENTICATION IS OFF (--auth none): every request may read and change everything, including confidential data; use only for local experiments")
		return &authSetup{authenticator: auth.Open{}, policy: rest.DefaultPolicy()}, nil
	case mode != "":
		return nil, fmt.Errorf("--auth %q: the only value is \"none\"", mode)
	case file == "" && !dev:
		return nil, errNoAuth
	}
	cfg := &auth.Config{}
	if file != "" {
		c, err := auth.LoadConfig(file)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	if dev {
		key, created, err := auth.DevKey(cmd.String("data-dir"))
		if err != nil {
			return nil, fmt.Errorf("--dev: %w", err)
		}
		cfg.Issuers = append(cfg.Issuers, auth.DevIssuerConfig(cmd.String("data-dir")))
		tok, err := auth.Mint(key, auth.MintOptions{Scopes: strings.Fields(auth.DevScopes), Organization: "Organization/mekong-dev", TTL: 12 * time.Hour})
		if err != nil {
			return nil, err
		}
		if created {
			log.Info("created the development signing key", slog.String("dir", cmd.String("data-dir")))
		}
		// The token goes to stdout for the developer, never to the log.
		fmt.Fprintf(out, "\nDevelopment token (issuer %s, scopes %q, valid 12h):\n\nexport TOKEN=%s\n\ncurl -H \"Authorization: Bearer $TOKEN\" http://%s/fhir/Patient\n\nMint others with: mekong token --scope 'patient/*.rs' --patient ID\n\n",
			auth.DevIssuer, auth.DevScopes, tok, addr)
	}
	v, err := auth.NewVerifier(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &authSetup{authenticator: v, rateLimit: cfg.RateLimit, policy: rest.DefaultPolicy(), tokenEndpoint: cfg.TokenEndpoint,
		authorizeEndpoint: cfg.AuthorizeEndpoint, clinic: cfg.ClinicApp}
	if cfg.ClinicApp != nil {
		s.policy.BreakGlassFor = time.Duration(cfg.ClinicApp.BreakGlassDuration)
		s.policy.ClinicAccessLog = cfg.ClinicApp.ClinicAccessLog
	}
	if s.rateLimit == nil {
		rl := defaultRateLimit
		s.rateLimit = &rl
	}
	if len(cfg.RestrictedLabels) > 0 {
		s.policy.Restricted = cfg.RestrictedLabels
	}
	if cfg.LabelTB != nil && !*cfg.LabelTB {
		s.policy.Labeling = []rest.LabelRule{rest.HIVRule}
	}
	return s, nil
}

func tokenCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "token",
		Usage: "mint a development access token with the key serve --dev trusts",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "scope", Value: auth.DevScopes, Usage: "space-separated SMART scopes, e.g. \"patient/*.rs\" or \"user/Observation.rs\""},
			&ucli.StringFlag{Name: "patient", Usage: "the token's patient (launch context) for patient/ scopes"},
			&ucli.BoolFlag{Name: "sensitive", Usage: "allow seeing confidential (HIV, R, V, TB labelled) data: adds mekong/label.*"},
			&ucli.StringFlag{Name: "org", Value: "Organization/mekong-dev", Usage: "the client's organization (mekong_org claim)"},
			&ucli.StringFlag{Name: "sub", Value: "dev-user", Usage: "the user (sub claim)"},
			&ucli.StringFlag{Name: "client-id", Value: "mekong-dev-cli", Usage: "the client (client_id claim)"},
			&ucli.DurationFlag{Name: "ttl", Value: 12 * time.Hour, Usage: "how long the token is valid"},
			&ucli.StringFlag{Name: "data-dir", Sources: ucli.EnvVars("MEKONG_DATA_DIR"),
				Usage: "the --data-dir of the serve --dev whose key signs the token (default: ./data, else the data/ of a parent directory or beside the binary's bin/)"},
		},
		Action: func(ctx context.Context, cmd *ucli.Command) error {
			key, err := findDevKey(cmd)
			if err != nil {
				return fmt.Errorf("token: %w", err)
			}
			tok, err := auth.Mint(key, auth.MintOptions{
				Scopes: strings.Fields(cmd.String("scope")), Patient: cmd.String("patient"), Sensitive: cmd.Bool("sensitive"),
				Organization: cmd.String("org"), Subject: cmd.String("sub"), ClientID: cmd.String("client-id"), TTL: cmd.Duration("ttl"),
			})
			if err != nil {
				return fmt.Errorf("token: %w", err)
			}
			_, err = fmt.Fprintln(cmd.Root().Writer, tok)
			return err
		},
	}
}

// findDevKey finds the key serve --dev signs with and never creates one: a
// token from a new key would be refused by the running server with no hint.
// Given --data-dir (or MEKONG_DATA_DIR), only that directory counts;
// otherwise devKeyDirs. A key found elsewhere than ./data is named on stderr.
func findDevKey(cmd *ucli.Command) (ed25519.PrivateKey, error) {
	var dirs []string
	if cmd.IsSet("data-dir") {
		dirs = []string{cmd.String("data-dir")}
	} else {
		cwd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		exe, _ := os.Executable()
		dirs = devKeyDirs(cwd, exe)
	}
	var looked []string
	for i, dir := range dirs {
		key, err := auth.LoadDevKey(dir)
		if errors.Is(err, os.ErrNotExist) {
			looked = append(looked, filepath.Join(dir, auth.DevKeyFile))
			continue
		}
		if err != nil {
			return nil, err
		}
		if i > 0 {
			fmt.Fprintf(cmd.Root().ErrWriter, "mekong token: signing with the development key in %s (no %s here)\n", dir, filepath.Join("data", auth.DevKeyFile))
		}
		return key, nil
	}
	return nil, fmt.Errorf("no development signing key at %s. `mekong serve --dev` (make run) creates it in its --data-dir "+
		"(./data of the directory it started in): run mekong token where you ran make run, or give --data-dir DIR "+
		"(MEKONG_DATA_DIR) naming the server's; a new key would sign tokens the server refuses", strings.Join(looked, ", "))
}

// devKeyDirs lists where serve --dev's key may be: ./data, the data/ of
// each parent directory (a shell in a subdirectory of the repository), and
// the data/ beside the binary's bin/ (make run's layout: repo/bin/mekong
// and repo/data), each once.
func devKeyDirs(cwd, exe string) []string {
	var dirs []string
	add := func(d string) {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	add(filepath.Join(cwd, "data"))
	for d := filepath.Dir(cwd); ; d = filepath.Dir(d) {
		add(filepath.Join(d, "data"))
		if d == filepath.Dir(d) {
			break
		}
	}
	if exe != "" {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		add(filepath.Join(filepath.Dir(filepath.Dir(exe)), "data"))
	}
	return dirs
}
