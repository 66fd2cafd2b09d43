package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/mekong-fhir/mekong/internal/healthcard"
	"github.com/mekong-fhir/mekong/internal/rest"
	ucli "github.com/urfave/cli/v3"
)

// TestHealthCardKeyFiles: issue 12's "from a configured PEM or JWKS, with
// rotation by kid" (cards-specification.md "Determining keys associated
// with an issuer": kid is the RFC 7638 thumbprint). --health-card-key reads
// a PKCS #8 PEM file and a JWKS holding "d"; --health-card-signing-kid picks
// the signer; without it the first private key signs; a kid that is not
// configured, or a JWKS whose kid is not the thumbprint, is refused.
func TestHealthCardKeyFiles(t *testing.T) {
	dir := t.TempDir()
	k1, _ := healthcard.NewKey()
	k2, _ := healthcard.NewKey()
	pemData, err := k1.PrivatePEM()
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jwk := func(kid string) []byte {
		b, err := jose.JSONWebKey{Key: k2.Private, KeyID: kid, Use: "sig", Algorithm: "ES256"}.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return append(append([]byte(`{"keys":[`), b...), ']', '}')
	}
	pemFile := write("k1.pem", pemData)
	jwksFile := write("k2.jwks.json", jwk(k2.ID))
	badFile := write("bad.jwks.json", jwk("not-the-thumbprint"))

	config := func(args ...string) (rest.HealthCardConfig, error) {
		var cfg rest.HealthCardConfig
		var cerr error
		cmd := &ucli.Command{Name: "serve", Flags: healthCardFlags(), Action: func(_ context.Context, c *ucli.Command) error {
			cfg, cerr = healthCardConfig(c)
			return nil
		}}
		if err := cmd.Run(context.Background(), append([]string{"serve"}, args...)); err != nil {
			return cfg, err
		}
		return cfg, cerr
	}
	signer := func(cfg rest.HealthCardConfig) string {
		for _, k := range cfg.Keys {
			if k.Private != nil && (cfg.SigningKid == "" || k.ID == cfg.SigningKid) {
				return k.ID
			}
		}
		return ""
	}
	cfg, err := config("--health-card-key", pemFile, "--health-card-key", jwksFile)
	if err != nil || len(cfg.Keys) != 2 || cfg.Keys[0].ID != k1.ID || cfg.Keys[1].ID != k2.ID || cfg.Keys[1].Private == nil || signer(cfg) != k1.ID {
		t.Fatalf("PEM + JWKS: %+v %v", cfg, err)
	}
	cfg, err = config("--health-card-key", pemFile, "--health-card-key", jwksFile, "--health-card-signing-kid", k2.ID)
	if err != nil || signer(cfg) != k2.ID {
		t.Fatalf("signing kid %s: %+v %v", k2.ID, cfg, err)
	}
	if _, err := config("--health-card-key", badFile); err == nil {
		t.Error("a JWKS whose kid is not the RFC 7638 thumbprint was accepted")
	}
}
