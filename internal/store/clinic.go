package store

import (
	"context"
	"time"
)

// Session is a signed-in browser of the clinic page (internal/app). It
// lives in the database, not in an instance's memory, so two gateway
// instances on one database serve the same sessions.
type Session struct {
	// ID is the SHA-256 of the cookie's secret (hex): a copy of the table
	// gives no one a usable cookie.
	ID string
	// Principal is the signed-in user (JSON owned by package app).
	Principal []byte
	// CSRF is the token every form of the session must carry.
	CSRF string
	// Created, LastSeen (for the idle timeout) and Expires (the absolute
	// end: the access token's expiry or the longest session allowed).
	Created, LastSeen, Expires time.Time
}

// Sessions stores clinic page sessions.
type Sessions interface {
	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s Session) error
	// TouchSession returns the session id when it is live at now (not
	// expired, seen within idle) and records now as its last use; nil when
	// there is none, or it ran out (it is then deleted).
	TouchSession(ctx context.Context, id string, now time.Time, idle time.Duration) (*Session, error)
	// DeleteSession ends a session (sign-out); ending an unknown one is no error.
	DeleteSession(ctx context.Context, id string) error
	// PurgeSessions deletes the sessions that ran out before now (idle or
	// expired) and the break-the-glass grants that ended before now.
	PurgeSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error)
}

// Grant is a break-the-glass grant: for a limited time, one user may see
// one patient's restricted (HIV, TB...) data, for a stated reason. It is
// honoured by the store's access filter through Access.Exempt, for every
// request of that user, page or API alike.
type Grant struct {
	ID string
	// Issuer and Subject identify the user (the token's iss and sub).
	Issuer, Subject string
	// Patient is the id of the Patient whose compartment is opened.
	Patient string
	Reason  string
	Started time.Time
	Expires time.Time
}

// BreakGlass stores break-the-glass grants.
type BreakGlass interface {
	// StartBreakGlass stores g together with the writes that record it (its
	// AuditEvent), in one transaction: a grant is never without its record.
	StartBreakGlass(ctx context.Context, g Grant, records []Write) error
	// ActiveGrants returns the user's grants that have not expired at now.
	ActiveGrants(ctx context.Context, issuer, subject string, now time.Time) ([]Grant, error)
}
