package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/healthcard"
	"github.com/mekong-fhir/mekong/internal/healthcard/trust"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store"
)

// healthCardFlags configure SMART Health Cards in serve.
func healthCardFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "health-card-issuer", Sources: ucli.EnvVars("MEKONG_HEALTH_CARD_ISSUER"),
			Usage: "iss of issued SMART Health Cards, https without a trailing slash (default: --base-url, else each request's base URL, loopback only)"},
		&ucli.StringSliceFlag{Name: "health-card-key", Sources: ucli.EnvVars("MEKONG_HEALTH_CARD_KEY"),
			Usage: "P-256 issuer key file(s), PEM or JWKS with \"d\"; without one the key is generated once and kept in the database"},
		&ucli.StringFlag{Name: "health-card-signing-kid", Sources: ucli.EnvVars("MEKONG_HEALTH_CARD_SIGNING_KID"),
			Usage: "which configured key signs (its RFC 7638 thumbprint); the others stay published to verify older cards"},
		&ucli.DurationFlag{Name: "health-card-ttl", Sources: ucli.EnvVars("MEKONG_HEALTH_CARD_TTL"),
			Usage: "set exp = nbf + TTL on issued cards (default: cards do not expire)"},
		trustedIssuersFlag(),
	}
}

func trustedIssuersFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "trusted-issuers", Sources: ucli.EnvVars("MEKONG_TRUSTED_ISSUERS"),
		Usage: "JSON file of trusted SMART Health Card issuers (see examples/cards/trusted-issuers.json)"}
}

// healthCardConfig reads the flags.
func healthCardConfig(cmd *ucli.Command) (rest.HealthCardConfig, error) {
	cfg := rest.HealthCardConfig{Issuer: cmd.String("health-card-issuer"), SigningKid: cmd.String("health-card-signing-kid"), TTL: cmd.Duration("health-card-ttl")}
	if cfg.Issuer == "" {
		cfg.Issuer = strings.TrimRight(cmd.String("base-url"), "/")
	}
	if cfg.Issuer != "" {
		if err := healthcard.CheckIssuerURL(cfg.Issuer, true); err != nil {
			return cfg, fmt.Errorf("--health-card-issuer: %w", err)
		}
	}
	for _, f := range cmd.StringSlice("health-card-key") {
		data, err := os.ReadFile(f)
		if err != nil {
			return cfg, fmt.Errorf("--health-card-key: %w", err)
		}
		var keys []*healthcard.Key
		if strings.HasPrefix(strings.TrimSpace(string(data)), "{") {
			keys, err = healthcard.ParseJWKS(data)
		} else {
			keys, err = healthcard.ParsePEM(data)
		}
		if err != nil {
			return cfg, fmt.Errorf("--health-card-key %s: %w", f, err)
		}
		cfg.Keys = append(cfg.Keys, keys...)
	}
	if f := cmd.String("trusted-issuers"); f != "" {
		t, err := trust.Load(f)
		if err != nil {
			return cfg, fmt.Errorf("--trusted-issuers: %w", err)
		}
		cfg.Trust = t
	}
	return cfg, nil
}

// healthCardsCommand administers the issuer: revoke a patient's cards,
// rotate the database key. It works on the database directly, as the
// operator; each revocation is audited.
func healthCardsCommand() *ucli.Command {
	flags := []ucli.Flag{dbFlag(), &ucli.StringFlag{Name: "timezone", Value: "+07:00", Sources: ucli.EnvVars("MEKONG_TIMEZONE")}}
	return &ucli.Command{
		Name:  "health-cards",
		Usage: "administer the SMART Health Card issuer: revoke a patient's cards, rotate the signing key, remove a compromised key",
		Commands: []*ucli.Command{{
			Name:  "revoke",
			Usage: "revoke every card issued to a patient so far (listed in the revocation lists; audited)",
			Flags: append([]ucli.Flag{&ucli.StringFlag{Name: "patient", Required: true, Usage: "the Patient id"},
				&ucli.StringFlag{Name: "reason", Usage: "why, kept with the revocation"}}, flags...),
			Action: func(ctx context.Context, cmd *ucli.Command) error {
				svc, closer, err := openCardService(ctx, cmd)
				if err != nil {
					return err
				}
				defer closer.Close()
				body := ""
				if r := cmd.String("reason"); r != "" {
					body = fmt.Sprintf(`{"resourceType":"Parameters","parameter":[{"name":"reason","valueString":%q}]}`, r)
				}
				res, err := svc.HealthCardsRevoke(ctx, rest.Request{Type: "Patient", ID: cmd.String("patient"), Body: []byte(body)})
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.Root().Writer, "%s\n", res.Body)
				return err
			},
		}, {
			Name:  "rotate-key",
			Usage: "make a new database key the signing key; the old private key is destroyed, its public key stays published",
			Flags: flags,
			Action: func(ctx context.Context, cmd *ucli.Command) error {
				svc, closer, err := openCardService(ctx, cmd)
				if err != nil {
					return err
				}
				defer closer.Close()
				kid, err := svc.RotateHealthCardKey(ctx)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.Root().Writer, "signing key is now %s\n", kid)
				return err
			},
		}, {
			Name: "remove-key",
			Usage: "take a compromised key out of the published JWKS at once: every card it signed stops verifying " +
				"(a new key signs from now on when it was the signing key); audited",
			Flags: append([]ucli.Flag{&ucli.StringFlag{Name: "kid", Required: true, Usage: "the key's kid (its RFC 7638 thumbprint, as jwks.json lists it)"},
				&ucli.StringFlag{Name: "reason", Usage: "why, kept in the audit log"}}, flags...),
			Action: func(ctx context.Context, cmd *ucli.Command) error {
				svc, closer, err := openCardService(ctx, cmd)
				if err != nil {
					return err
				}
				defer closer.Close()
				kid := cmd.String("kid")
				next, err := svc.RemoveHealthCardKey(ctx, kid, cmd.String("reason"))
				if err != nil {
					return err
				}
				out := cmd.Root().Writer
				if next != "" {
					fmt.Fprintf(out, "signing key is now %s\n", next)
				}
				_, err = fmt.Fprintf(out, "removed key %s from the JWKS: the cards it signed no longer verify; reissue them\n", kid)
				return err
			},
		}},
	}
}

func openCardService(ctx context.Context, cmd *ucli.Command) (*rest.Service, io.Closer, error) {
	svc, db, err := openService(ctx, cmd)
	if err != nil {
		return nil, nil, err
	}
	st, ok := db.(store.Store)
	if !ok {
		db.Close()
		return nil, nil, errors.New("health-cards: the database is not a store")
	}
	svc.EnableHealthCards(rest.HealthCardConfig{}, st)
	return svc, db, nil
}

// verifyCardCommand checks cards the way a border post does.
func verifyCardCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "verify-card",
		Usage:     "verify a SMART Health Card: a shc:/ string, a .smart-health-card file or a QR image (PNG/JPEG); exit 0 valid, 1 invalid, 2 unknown issuer",
		ArgsUsage: "CARD... (shc:/..., a file, or - for standard input; several shc:/ chunks of one card are joined)",
		Flags: []ucli.Flag{trustedIssuersFlag(),
			&ucli.StringSliceFlag{Name: "trust-issuer", Usage: "trust this issuer URL, its keys fetched from ISS/.well-known/jwks.json"},
			&ucli.DurationFlag{Name: "fetch-timeout", Value: 5 * time.Second, Usage: "time limit of each key or revocation list download"}},
		Action: verifyCard,
	}
}

func verifyCard(ctx context.Context, cmd *ucli.Command) error {
	out := cmd.Root().Writer
	var inputs [][]byte
	for _, a := range cmd.Args().Slice() {
		switch {
		case a == "-":
			b, err := io.ReadAll(io.LimitReader(os.Stdin, healthcard.MaxFileBytes+1))
			if err != nil {
				return err
			}
			inputs = append(inputs, b)
		case strings.HasPrefix(strings.ToLower(a), healthcard.QRPrefix):
			inputs = append(inputs, []byte(a))
		default:
			b, err := readLimited(a, healthcard.MaxFileBytes)
			if err != nil {
				return ucli.Exit(err.Error(), int(healthcard.Invalid))
			}
			inputs = append(inputs, b)
		}
	}
	if len(inputs) == 0 {
		return errors.New("verify-card: give a card: shc:/..., a .smart-health-card file, a QR image, or - for standard input")
	}
	cards, err := healthcard.ReadCards(inputs...)
	if err != nil {
		fmt.Fprintf(out, "SMART Health Card: NOT VALID\n  Why: %v\n", err)
		return ucli.Exit("", int(healthcard.Invalid))
	}
	cfg := &trust.Config{FetchTimeout: trust.Duration(cmd.Duration("fetch-timeout"))}
	dir := "."
	if f := cmd.String("trusted-issuers"); f != "" {
		data, err := readLimited(f, trust.MaxConfigBytes)
		if err != nil {
			return err
		}
		if cfg, err = trust.ParseConfig(data); err != nil {
			return err
		}
		dir = dirOf(f)
	}
	for _, iss := range cmd.StringSlice("trust-issuer") {
		cfg.Issuers = append(cfg.Issuers, trust.IssuerConfig{Iss: strings.TrimRight(iss, "/")})
	}
	tr, err := trust.New(cfg, dir)
	if err != nil {
		return err
	}
	v := &healthcard.Verifier{Trust: tr}
	worst := healthcard.Valid
	for i, c := range cards {
		if len(cards) > 1 {
			fmt.Fprintf(out, "Card %d of %d\n", i+1, len(cards))
		}
		r := v.Verify(ctx, c)
		healthcard.Report(out, r)
		if r.Status == healthcard.Invalid || (r.Status == healthcard.UnknownIssuer && worst == healthcard.Valid) {
			worst = r.Status
		}
	}
	if worst != healthcard.Valid {
		return ucli.Exit("", int(worst))
	}
	return nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[:i]
	}
	return "."
}
