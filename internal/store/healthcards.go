package store

import (
	"context"
	"time"
)

// HealthCardKey is a stored SMART Health Card issuer key. Keys live in the
// database, not on an instance's disk, so every gateway instance over one
// database signs with the same key and publishes the same key set.
type HealthCardKey struct {
	Kid string
	// PublicJWK is the public key as a JWK (JSON).
	PublicJWK []byte
	// PrivatePEM is the PKCS #8 private key; nil once the key is retired
	// (the specification says retired private keys SHALL be destroyed).
	PrivatePEM []byte
	Created    time.Time
	// Retired is when another key took over signing (zero for the signing key).
	Retired time.Time
}

// HealthCardRevocation revokes the cards with RID signed by Kid; Before,
// when set, only those issued (nbf) before it.
type HealthCardRevocation struct {
	Kid, RID string
	Before   time.Time
	Revoked  time.Time
	Reason   string
}

// HealthCards stores issuer keys, the revocation-id secret and revocations.
// Every method is safe for instances racing on one database.
type HealthCards interface {
	// EnsureHealthCardKey returns the signing key, storing candidate as it
	// when there is none; of instances racing, one candidate wins and all
	// get it.
	EnsureHealthCardKey(ctx context.Context, candidate HealthCardKey) (*HealthCardKey, error)
	// HealthCardKeys lists every published key, the signing key first, then
	// retired ones newest first.
	HealthCardKeys(ctx context.Context) ([]HealthCardKey, error)
	// RotateHealthCardKey retires the signing key (destroying its private
	// part; its public key stays published) and makes next the signing key.
	RotateHealthCardKey(ctx context.Context, next HealthCardKey) error
	// RemoveHealthCardKey deletes a retired key: its public key leaves the
	// published key set, so the cards it signed no longer verify (what the
	// specification asks when a private key is compromised). It reports
	// whether there was such a retired key; the signing key is never removed
	// (rotate first), so an issuer always has one.
	RemoveHealthCardKey(ctx context.Context, kid string) (bool, error)
	// HealthCardSecret returns the revocation-id HMAC secret, storing
	// candidate when there is none (one wins, as above).
	HealthCardSecret(ctx context.Context, candidate []byte) ([]byte, error)
	// RevokeHealthCards records a revocation; revoking the same (kid, rid,
	// before) again changes nothing. It returns the key's CRL counter.
	RevokeHealthCards(ctx context.Context, r HealthCardRevocation) (int, error)
	// HealthCardRevocations lists a key's revocations, oldest first, and its
	// CRL counter: 1 plus the number of revocations (the list starts at 1).
	HealthCardRevocations(ctx context.Context, kid string) ([]HealthCardRevocation, int, error)
}
