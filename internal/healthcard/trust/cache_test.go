package trust

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/healthcard"
)

// TestOnlineIssuerKeysFetchedAndCached: issue 12's trusted issuers "with
// JWKS fetched and cached" (cards-specification.md "Determining keys
// associated with an issuer": [iss]/.well-known/jwks.json; "Revocation":
// [iss]/.well-known/crl/<kid>.json, fetched when the JWK's crlVersion
// moves). One download serves many verifications until cache_for runs
// out; an unknown kid fetches again (a rotated key), at most every 30 s; a
// failed refresh keeps the keys at hand; an issuer not listed is untrusted.
func TestOnlineIssuerKeysFetchedAndCached(t *testing.T) {
	k1, _ := healthcard.NewKey()
	k2, _ := healthcard.NewKey()
	published := atomic.Pointer[[]*healthcard.Key]{}
	published.Store(&[]*healthcard.Key{k1})
	var jwksHits, crlHits, fail atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() != 0 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		switch r.URL.Path {
		case "/.well-known/jwks.json":
			jwksHits.Add(1)
			w.Write(healthcard.JWKS(*published.Load()))
		case "/.well-known/crl/" + k1.ID + ".json":
			crlHits.Add(1)
			w.Write([]byte(`{"kid":"` + k1.ID + `","method":"rid","ctr":1,"rids":[]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	s, err := New(&Config{Issuers: []IssuerConfig{{Iss: srv.URL, Name: "Poipet"}}, CacheFor: Duration(time.Hour)}, ".")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	ctx := context.Background()

	for range 3 {
		if k, err := s.Key(ctx, srv.URL, k1.ID); err != nil || k.ID != k1.ID {
			t.Fatalf("key: %v", err)
		}
	}
	if jwksHits.Load() != 1 {
		t.Errorf("%d JWKS downloads for three verifications, want 1", jwksHits.Load())
	}
	// A key published since: not known until the next allowed refetch.
	published.Store(&[]*healthcard.Key{k1, k2})
	if _, err := s.Key(ctx, srv.URL, k2.ID); !errors.Is(err, healthcard.ErrUnknownKey) || jwksHits.Load() != 1 {
		t.Errorf("unknown kid within 30 s: %v, %d downloads", err, jwksHits.Load())
	}
	now = now.Add(31 * time.Second)
	if k, err := s.Key(ctx, srv.URL, k2.ID); err != nil || k.ID != k2.ID || jwksHits.Load() != 2 {
		t.Errorf("unknown kid after 30 s: %v, %d downloads", err, jwksHits.Load())
	}
	// The cache runs out; the issuer is down: the keys at hand still serve.
	now = now.Add(2 * time.Hour)
	fail.Store(1)
	if _, err := s.Key(ctx, srv.URL, k1.ID); err != nil {
		t.Errorf("stale keys while the issuer is down: %v", err)
	}
	fail.Store(0)
	// The CRL is fetched once for a crlVersion, then kept.
	key := &healthcard.Key{ID: k1.ID, Public: k1.Public, CRLVersion: 1}
	for range 2 {
		if c, err := s.CRL(ctx, srv.URL, key); err != nil || c.Ctr != 1 {
			t.Fatalf("CRL: %v", err)
		}
	}
	if crlHits.Load() != 1 {
		t.Errorf("%d CRL downloads, want 1", crlHits.Load())
	}
	key.CRLVersion = 2 // the issuer revoked something: the list is fetched again
	s.CRL(ctx, srv.URL, key)
	if crlHits.Load() != 2 {
		t.Errorf("a moved crlVersion did not refetch the CRL (%d downloads)", crlHits.Load())
	}
	if _, err := s.Key(ctx, "https://elsewhere.example", k1.ID); !errors.Is(err, healthcard.ErrUntrustedIssuer) {
		t.Errorf("an issuer not listed: %v", err)
	}
	if s.Name(srv.URL) != "Poipet" {
		t.Errorf("name %q", s.Name(srv.URL))
	}
}
