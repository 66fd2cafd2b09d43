package cli

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/backend"
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

// TestHealthCardsRevokeCommand: `mekong health-cards revoke` (issue 12:
// "Revoke with a CLI command or operation that needs an admin permission";
// the command line holds the database, so it is the administrator) lists
// the patient's rid in every key's revocation list
// (cards-specification.md "Revocation": [issuer]/.well-known/crl/<kid>.json,
// ctr counting up, the JWK's crlVersion following it) and is audited.
func TestHealthCardsRevokeCommand(t *testing.T) {
	ctx := context.Background()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	var out bytes.Buffer
	if _, err := runMekong(t, &out, "health-cards", "rotate-key", "--db", dbURL); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, err := runMekong(t, &out, "health-cards", "revoke", "--patient", "p1", "--reason", "issued in error", "--db", dbURL); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if !strings.Contains(out.String(), "cards of Patient/p1 issued before") || !strings.Contains(out.String(), "are revoked") {
		t.Errorf("revoke printed %q", out.String())
	}
	db, err := backend.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, _ := resource.NewParser()
	reg, _ := search.NewRegistry(ResourceTypes, time.UTC)
	svc := rest.New(db, p, reg)
	svc.EnableHealthCards(rest.HealthCardConfig{}, db)
	jwks, err := svc.HealthCardJWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := healthcard.ParseJWKS(jwks)
	if err != nil || len(keys) != 1 || keys[0].CRLVersion != 2 {
		t.Fatalf("JWKS after the revocation: %s %v", jwks, err)
	}
	b, err := svc.HealthCardCRL(ctx, keys[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := healthcard.ParseCRL(b, keys[0].ID)
	if err != nil || crl.Ctr != 2 || len(crl.RIDs) != 1 {
		t.Fatalf("CRL %s %v", b, err)
	}
	auditor := auth.WithPrincipal(ctx, &auth.Principal{Subject: "auditor", Scopes: []auth.Scope{{Context: auth.UserContext, Type: "AuditEvent", Actions: "rs"}}})
	res, err := svc.Search(auditor, rest.Request{Type: "AuditEvent", Query: url.Values{"patient": {"Patient/p1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if body := string(res.Body); !strings.Contains(body, `"total":1`) || !strings.Contains(body, `"action":"U"`) ||
		!strings.Contains(body, `"purposeOfEvent":[{"text":"health-cards revoke Patient/p1: issued in error"}]`) {
		t.Errorf("the revocation is not audited with its reason: %s", res.Body)
	}
}
