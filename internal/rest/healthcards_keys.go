package rest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/healthcard"
	"github.com/mekong-fhir/mekong/internal/store"
)

// HealthCardConfig configures SMART Health Cards.
type HealthCardConfig struct {
	// Issuer is the iss of issued cards: an https URL without a trailing
	// slash, normally the public base URL. "" uses each request's base URL
	// (development only: it must then be a loopback http URL).
	Issuer string
	// Keys, when set, are the configured issuer keys (PEM or JWKS files):
	// the same files on every instance. Without them the key is generated
	// once and kept in the database (store.HealthCards), shared by every
	// instance on it.
	Keys []*healthcard.Key
	// SigningKid picks the configured key that signs (default: the first
	// with a private part); the others are published for verification.
	SigningKid string
	// TTL sets exp = nbf + TTL; 0 issues cards that do not expire.
	TTL time.Duration
	// Trust lists the issuers whose cards $import-health-card accepts; the
	// server's own cards are always trusted.
	Trust healthcard.Trust
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// cardKeys finds the issuer's keys: configured, or kept in the database.
type cardKeys struct {
	cfg HealthCardConfig
	db  store.HealthCards
}

var errNoCardStore = errors.New("health cards: the store keeps no keys and none are configured")

// signing returns the key that signs new cards, generating and storing one
// the first time when none is configured.
func (k *cardKeys) signing(ctx context.Context) (*healthcard.Key, error) {
	if len(k.cfg.Keys) > 0 {
		for _, key := range k.cfg.Keys {
			if key.Private != nil && (k.cfg.SigningKid == "" || key.ID == k.cfg.SigningKid) {
				return key, nil
			}
		}
		return nil, fmt.Errorf("health cards: no configured private key %q", k.cfg.SigningKid)
	}
	if k.db == nil {
		return nil, errNoCardStore
	}
	cand, err := storedKey(k.now())
	if err != nil {
		return nil, err
	}
	sk, err := k.db.EnsureHealthCardKey(ctx, cand)
	if err != nil {
		return nil, err
	}
	keys, err := healthcard.ParsePEM(sk.PrivatePEM)
	if err != nil || keys[0].ID != sk.Kid {
		return nil, fmt.Errorf("health cards: the stored key %s cannot be read: %v", sk.Kid, err)
	}
	return keys[0], nil
}

func (k *cardKeys) now() time.Time {
	if k.cfg.Now != nil {
		return k.cfg.Now()
	}
	return time.Now()
}

// storedKey generates a key in the form the database keeps it.
func storedKey(now time.Time) (store.HealthCardKey, error) {
	key, err := healthcard.NewKey()
	if err != nil {
		return store.HealthCardKey{}, err
	}
	pem, err := key.PrivatePEM()
	if err != nil {
		return store.HealthCardKey{}, err
	}
	return store.HealthCardKey{Kid: key.ID, PublicJWK: healthcard.JWKS([]*healthcard.Key{key}), PrivatePEM: pem, Created: now}, nil
}

// RotateHealthCardKey makes a new database key the signing key; the old
// one's private part is destroyed and its public key stays in the JWKS, so
// the cards it signed still verify (cards-specification.md, "Key
// Management"). It returns the new kid.
func (s *Service) RotateHealthCardKey(ctx context.Context) (string, error) {
	c := s.cards
	if c == nil || c.keys.db == nil || len(c.keys.cfg.Keys) > 0 {
		return "", errors.New("health cards: keys are configured from files; rotate by changing the files (--health-card-signing-kid)")
	}
	next, err := storedKey(c.keys.now())
	if err != nil {
		return "", err
	}
	got, err := c.keys.db.EnsureHealthCardKey(ctx, next)
	if err != nil {
		return "", err
	}
	if got.Kid == next.Kid {
		return next.Kid, nil // a database without a key: next is its first
	}
	if err := c.keys.db.RotateHealthCardKey(ctx, next); err != nil {
		return "", err
	}
	return next.Kid, nil
}

// RemoveHealthCardKey takes a compromised key out of the published JWKS at
// once, so every card it signed stops verifying (cards-specification.md,
// "Key Management": "if a private signing key is compromised, then the
// issuer SHALL immediately remove the corresponding public key from the JWK
// set"). When it is the signing key, a new key is made the signing key
// first; its kid is returned ("" otherwise). Audited as a security alert
// with the reason.
func (s *Service) RemoveHealthCardKey(ctx context.Context, kid, reason string) (string, error) {
	c := s.cards
	if c == nil || c.keys.db == nil || len(c.keys.cfg.Keys) > 0 {
		return "", errors.New("health cards: keys are configured from files; remove the key from the files (--health-card-key)")
	}
	keys, err := c.keys.db.HealthCardKeys(ctx)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(keys, func(k store.HealthCardKey) bool { return k.Kid == kid })
	if i < 0 {
		return "", fmt.Errorf("health cards: the issuer publishes no key %q", kid)
	}
	next := ""
	if keys[i].Retired.IsZero() {
		if next, err = s.RotateHealthCardKey(ctx); err != nil {
			return "", err
		}
	}
	if _, err := c.keys.db.RemoveHealthCardKey(ctx, kid); err != nil {
		return "", err
	}
	why := "health-cards remove-key " + kid
	if reason != "" {
		why += ": " + reason
	}
	alert := audit.TypeSecurityAlert
	ev := audit.Event{Action: audit.ActionDelete, Interaction: "operation", EventType: &alert, Reason: why}
	if err := s.recordOutsideRequest(ctx, ev); err != nil {
		return "", err
	}
	audit.Note(ctx, ev)
	return next, nil
}

// published returns every public key with its CRL counter.
func (k *cardKeys) published(ctx context.Context) ([]*healthcard.Key, error) {
	var keys []*healthcard.Key
	if len(k.cfg.Keys) > 0 {
		for _, c := range k.cfg.Keys {
			keys = append(keys, &healthcard.Key{ID: c.ID, Public: c.Public})
		}
	} else if k.db != nil {
		if _, err := k.signing(ctx); err != nil { // the first JWKS request creates the key too
			return nil, err
		}
		stored, err := k.db.HealthCardKeys(ctx)
		if err != nil {
			return nil, err
		}
		for _, sk := range stored {
			ks, err := healthcard.ParseJWKS(sk.PublicJWK)
			if err != nil || len(ks) != 1 {
				return nil, fmt.Errorf("health cards: stored key %s: %v", sk.Kid, err)
			}
			keys = append(keys, ks[0])
		}
	}
	if k.db != nil {
		for _, key := range keys {
			_, ctr, err := k.db.HealthCardRevocations(ctx, key.ID)
			if err != nil {
				return nil, err
			}
			key.CRLVersion = ctr
		}
	}
	return keys, nil
}

// secret is the revocation-id HMAC secret, made once per database.
func (k *cardKeys) secret(ctx context.Context) ([]byte, error) {
	if k.db == nil {
		return nil, errNoCardStore
	}
	cand := make([]byte, 32)
	if _, err := rand.Read(cand); err != nil {
		return nil, err
	}
	return k.db.HealthCardSecret(ctx, cand)
}
