package cli

import (
	"bytes"
	"context"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/internal/healthcard"
	"github.com/mekong-fhir/mekong/internal/rest"
)

// The issuer's keys from the command line (cards-specification.md, "Key
// Management"): rotate-key makes a new key sign and keeps the old public
// key published (a fresh database gets its first key); remove-key takes a
// compromised key out of the JWKS at once (for the signing key, a new key
// signs first), refuses a kid the issuer does not publish, and is audited
// as a security alert with its reason.
func TestHealthCardsKeyCommands(t *testing.T) {
	ctx := context.Background()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		_, err := runMekong(t, &out, append(append([]string{"health-cards"}, args...), "--db", dbURL)...)
		return out.String(), err
	}
	kidIn := func(out, prefix string) string {
		for _, l := range strings.Split(out, "\n") {
			if k, ok := strings.CutPrefix(l, prefix); ok {
				return k
			}
		}
		t.Fatalf("no %q in %q", prefix, out)
		return ""
	}
	db, err := backend.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := resource.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := search.NewRegistry(ResourceTypes, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	svc := rest.New(db, p, reg)
	svc.EnableHealthCards(rest.HealthCardConfig{}, db)
	published := func() []string {
		t.Helper()
		b, err := svc.HealthCardJWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := healthcard.ParseJWKS(b)
		if err != nil {
			t.Fatal(err)
		}
		var kids []string
		for _, k := range keys {
			kids = append(kids, k.ID)
		}
		slices.Sort(kids)
		return kids
	}
	sorted := func(kids ...string) []string { slices.Sort(kids); return kids }

	out, err := run("rotate-key")
	if err != nil {
		t.Fatal(err)
	}
	first := kidIn(out, "signing key is now ")
	out, err = run("rotate-key")
	if err != nil {
		t.Fatal(err)
	}
	second := kidIn(out, "signing key is now ")
	if got := published(); !slices.Equal(got, sorted(first, second)) {
		t.Fatalf("after two rotations the JWKS lists %v", got)
	}

	// A retired key goes; the signing key stays.
	if out, err = run("remove-key", "--kid", first, "--reason", "laptop stolen"); err != nil || !strings.Contains(out, "removed key "+first) {
		t.Fatalf("remove-key: %q %v", out, err)
	}
	if got := published(); !slices.Equal(got, []string{second}) {
		t.Fatalf("after removing %s the JWKS lists %v", first, got)
	}
	// The signing key: a new key signs, and the old one leaves the set.
	out, err = run("remove-key", "--kid", second)
	if err != nil {
		t.Fatal(err)
	}
	third := kidIn(out, "signing key is now ")
	if got := published(); !slices.Equal(got, []string{third}) || third == second {
		t.Fatalf("after removing the signing key the JWKS lists %v (new signing key %s)", got, third)
	}
	// A kid the issuer does not publish (any more) is an error.
	if _, err := run("remove-key", "--kid", first); err == nil || !strings.Contains(err.Error(), "publishes no key") {
		t.Fatalf("removing an unknown key: %v", err)
	}
	// Each removal is an AuditEvent: a security alert with the reason.
	auditor := auth.WithPrincipal(ctx, &auth.Principal{Subject: "auditor", Scopes: []auth.Scope{{Context: auth.UserContext, Type: "AuditEvent", Actions: "rs"}}})
	res, err := svc.Search(auditor, rest.Request{Type: "AuditEvent", Query: url.Values{"type": {"http://dicom.nema.org/resources/ontology/DCM|110113"}}})
	if err != nil {
		t.Fatal(err)
	}
	body := string(res.Body)
	if !strings.Contains(body, `"total":2`) || !strings.Contains(body, "health-cards remove-key "+first+": laptop stolen") ||
		!strings.Contains(body, "health-cards remove-key "+second) {
		t.Errorf("audit of the removals: %.2000s", body)
	}
}
