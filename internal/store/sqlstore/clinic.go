package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mekong-fhir/mekong/internal/store"
)

// Clinic page sessions and break-the-glass grants (store.Sessions,
// store.BreakGlass).

// CreateSession implements store.Sessions.
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	_, err := db.w.ExecContext(ctx, rebind(db.d, `INSERT INTO app_sessions (id, principal, csrf, created, last_seen, expires)
		VALUES (?, ?, ?, ?, ?, ?)`), s.ID, s.Principal, s.CSRF, toMicros(s.Created), toMicros(s.LastSeen), toMicros(s.Expires))
	if err != nil {
		return fmt.Errorf("sqlstore.CreateSession: %w", err)
	}
	return nil
}

// TouchSession implements store.Sessions. The last use is written only
// when it moves by a second or more, so a page's burst of requests costs
// one write.
func (db *DB) TouchSession(ctx context.Context, id string, now time.Time, idle time.Duration) (*store.Session, error) {
	var s store.Session
	var created, seen, exp int64
	err := db.w.QueryRowContext(ctx, rebind(db.d, `SELECT id, principal, csrf, created, last_seen, expires FROM app_sessions WHERE id = ?`), id).
		Scan(&s.ID, &s.Principal, &s.CSRF, &created, &seen, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore.TouchSession: %w", err)
	}
	s.Created, s.LastSeen, s.Expires = fromMicros(created), fromMicros(seen), fromMicros(exp)
	if !now.Before(s.Expires) || now.Sub(s.LastSeen) > idle {
		return nil, db.DeleteSession(ctx, id)
	}
	if now.Sub(s.LastSeen) >= time.Second {
		if _, err := db.w.ExecContext(ctx, rebind(db.d, `UPDATE app_sessions SET last_seen = ? WHERE id = ? AND last_seen < ?`),
			toMicros(now), id, toMicros(now)); err != nil {
			return nil, fmt.Errorf("sqlstore.TouchSession: %w", err)
		}
		s.LastSeen = now
	}
	return &s, nil
}

// DeleteSession implements store.Sessions.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := db.w.ExecContext(ctx, rebind(db.d, `DELETE FROM app_sessions WHERE id = ?`), id); err != nil {
		return fmt.Errorf("sqlstore.DeleteSession: %w", err)
	}
	return nil
}

// PurgeSessions implements store.Sessions. Grants are kept a day past
// their end: their AuditEvents are the lasting record.
func (db *DB) PurgeSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	var n int64
	err := db.inTx(ctx, "sqlstore.PurgeSessions", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, rebind(db.d, `DELETE FROM app_sessions WHERE expires <= ? OR last_seen < ?`),
			toMicros(now), toMicros(now.Add(-idle)))
		if err != nil {
			return fmt.Errorf("sqlstore.PurgeSessions: %w", err)
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, rebind(db.d, `DELETE FROM break_glass WHERE expires <= ?`), toMicros(now.Add(-24*time.Hour)))
		if err != nil {
			return fmt.Errorf("sqlstore.PurgeSessions: grants: %w", err)
		}
		return nil
	})
	return n, err
}

// StartBreakGlass implements store.BreakGlass.
func (db *DB) StartBreakGlass(ctx context.Context, g store.Grant, records []store.Write) error {
	return db.inAuditTx(ctx, "sqlstore.StartBreakGlass", func(tx *sql.Tx, at *auditTx) error {
		if _, err := tx.ExecContext(ctx, rebind(db.d, `INSERT INTO break_glass (id, issuer, subject, patient, reason, started, expires)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), g.ID, g.Issuer, g.Subject, g.Patient, g.Reason, toMicros(g.Started), toMicros(g.Expires)); err != nil {
			return fmt.Errorf("sqlstore.StartBreakGlass: %w", err)
		}
		if len(records) == 0 {
			return nil
		}
		// The records are the server's own, written whatever the caller may see.
		_, err := db.writeBatch(store.WithAccess(ctx, &store.Access{All: true}), tx, at, records)
		return err
	})
}

// ActiveGrants implements store.BreakGlass.
func (db *DB) ActiveGrants(ctx context.Context, issuer, subject string, now time.Time) ([]store.Grant, error) {
	rows, err := db.r.QueryContext(ctx, rebind(db.d, `SELECT id, issuer, subject, patient, reason, started, expires FROM break_glass
		WHERE subject = ? AND issuer = ? AND expires > ? ORDER BY started`), subject, issuer, toMicros(now))
	if err != nil {
		return nil, fmt.Errorf("sqlstore.ActiveGrants: %w", err)
	}
	defer rows.Close()
	var out []store.Grant
	for rows.Next() {
		var g store.Grant
		var started, exp int64
		if err := rows.Scan(&g.ID, &g.Issuer, &g.Subject, &g.Patient, &g.Reason, &started, &exp); err != nil {
			return nil, fmt.Errorf("sqlstore.ActiveGrants: %w", err)
		}
		g.Started, g.Expires = fromMicros(started), fromMicros(exp)
		out = append(out, g)
	}
	return out, rows.Err()
}

var (
	_ store.Sessions   = (*DB)(nil)
	_ store.BreakGlass = (*DB)(nil)
)
