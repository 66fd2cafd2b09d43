package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/mekong-fhir/mekong/internal/store"
)

// SMART Health Card keys, secret and revocations (store.HealthCards). Races
// between instances are settled by unique keys: an insert that loses does
// nothing, and the winner's row is read back.

const hcKeyCols = `kid, public_jwk, private_pem, created, retired`

func scanHCKey(s scanner) (store.HealthCardKey, error) {
	var k store.HealthCardKey
	var pub string
	var priv sql.NullString
	var created, retired int64
	if err := s.Scan(&k.Kid, &pub, &priv, &created, &retired); err != nil {
		return k, err
	}
	k.PublicJWK, k.Created = []byte(pub), fromMicros(created)
	if priv.Valid {
		k.PrivatePEM = []byte(priv.String)
	}
	if retired != 0 {
		k.Retired = fromMicros(retired)
	}
	return k, nil
}

// EnsureHealthCardKey implements store.HealthCards.
func (db *DB) EnsureHealthCardKey(ctx context.Context, c store.HealthCardKey) (*store.HealthCardKey, error) {
	if _, err := db.w.ExecContext(ctx, rebind(db.d, `INSERT INTO health_card_keys (kid, public_jwk, private_pem, signing, created)
		VALUES (?, ?, ?, 1, ?) ON CONFLICT DO NOTHING`), c.Kid, string(c.PublicJWK), string(c.PrivatePEM), toMicros(c.Created)); err != nil {
		return nil, fmt.Errorf("sqlstore.EnsureHealthCardKey: %w", err)
	}
	k, err := scanHCKey(db.w.QueryRowContext(ctx, `SELECT `+hcKeyCols+` FROM health_card_keys WHERE signing = 1`))
	if err != nil {
		return nil, fmt.Errorf("sqlstore.EnsureHealthCardKey: %w", err)
	}
	return &k, nil
}

// HealthCardKeys implements store.HealthCards.
func (db *DB) HealthCardKeys(ctx context.Context) ([]store.HealthCardKey, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+hcKeyCols+` FROM health_card_keys ORDER BY retired = 0 DESC, retired DESC, kid`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.HealthCardKeys: %w", err)
	}
	defer rows.Close()
	var out []store.HealthCardKey
	for rows.Next() {
		k, err := scanHCKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore.HealthCardKeys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RotateHealthCardKey implements store.HealthCards.
func (db *DB) RotateHealthCardKey(ctx context.Context, next store.HealthCardKey) error {
	return db.inTx(ctx, "sqlstore.RotateHealthCardKey", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, rebind(db.d, `UPDATE health_card_keys SET signing = NULL, private_pem = NULL, retired = ?
			WHERE signing = 1`), toMicros(next.Created)); err != nil {
			return fmt.Errorf("sqlstore.RotateHealthCardKey: %w", err)
		}
		if _, err := tx.ExecContext(ctx, rebind(db.d, `INSERT INTO health_card_keys (kid, public_jwk, private_pem, signing, created)
			VALUES (?, ?, ?, 1, ?)`), next.Kid, string(next.PublicJWK), string(next.PrivatePEM), toMicros(next.Created)); err != nil {
			return fmt.Errorf("sqlstore.RotateHealthCardKey: %w", err)
		}
		return nil
	})
}

// RemoveHealthCardKey implements store.HealthCards. The key's revocations
// stay: they are the record of what was revoked.
func (db *DB) RemoveHealthCardKey(ctx context.Context, kid string) (bool, error) {
	res, err := db.w.ExecContext(ctx, rebind(db.d, `DELETE FROM health_card_keys WHERE kid = ? AND signing IS NULL`), kid)
	if err != nil {
		return false, fmt.Errorf("sqlstore.RemoveHealthCardKey: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore.RemoveHealthCardKey: %w", err)
	}
	return n == 1, nil
}

// HealthCardSecret implements store.HealthCards.
func (db *DB) HealthCardSecret(ctx context.Context, candidate []byte) ([]byte, error) {
	if _, err := db.w.ExecContext(ctx, rebind(db.d, `INSERT INTO health_card_secret (id, secret) VALUES (1, ?) ON CONFLICT DO NOTHING`), candidate); err != nil {
		return nil, fmt.Errorf("sqlstore.HealthCardSecret: %w", err)
	}
	var s []byte
	if err := db.w.QueryRowContext(ctx, `SELECT secret FROM health_card_secret WHERE id = 1`).Scan(&s); err != nil {
		return nil, fmt.Errorf("sqlstore.HealthCardSecret: %w", err)
	}
	return s, nil
}

// RevokeHealthCards implements store.HealthCards.
func (db *DB) RevokeHealthCards(ctx context.Context, r store.HealthCardRevocation) (int, error) {
	var before int64
	if !r.Before.IsZero() {
		before = r.Before.Unix()
	}
	if _, err := db.w.ExecContext(ctx, rebind(db.d, `INSERT INTO health_card_revocations (kid, rid, before, revoked, reason)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`), r.Kid, r.RID, before, toMicros(r.Revoked), r.Reason); err != nil {
		return 0, fmt.Errorf("sqlstore.RevokeHealthCards: %w", err)
	}
	var n int
	if err := db.w.QueryRowContext(ctx, rebind(db.d, `SELECT COUNT(*) FROM health_card_revocations WHERE kid = ?`), r.Kid).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore.RevokeHealthCards: %w", err)
	}
	return n + 1, nil
}

// HealthCardRevocations implements store.HealthCards.
func (db *DB) HealthCardRevocations(ctx context.Context, kid string) ([]store.HealthCardRevocation, int, error) {
	rows, err := db.r.QueryContext(ctx, rebind(db.d, `SELECT rid, before, revoked, reason FROM health_card_revocations
		WHERE kid = ? ORDER BY revoked, rid, before`), kid)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore.HealthCardRevocations: %w", err)
	}
	defer rows.Close()
	var out []store.HealthCardRevocation
	for rows.Next() {
		r := store.HealthCardRevocation{Kid: kid}
		var before, revoked int64
		if err := rows.Scan(&r.RID, &before, &revoked, &r.Reason); err != nil {
			return nil, 0, fmt.Errorf("sqlstore.HealthCardRevocations: %w", err)
		}
		if before != 0 {
			r.Before = time.Unix(before, 0).UTC()
		}
		r.Revoked = fromMicros(revoked)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return out, len(out) + 1, nil
}

var _ store.HealthCards = (*DB)(nil)
