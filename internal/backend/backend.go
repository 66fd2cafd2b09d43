// Package backend opens the store a database URL names: sqlite:PATH for the
// embedded database, postgres://... (or postgresql://...) for PostgreSQL.
package backend

import (
	"context"
	"fmt"
	"strings"

	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/store/postgres"
	"github.com/mekong-fhir/mekong/internal/store/sqlite"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
)

// DefaultURL is the zero-setup embedded database.
const DefaultURL = "sqlite:./data/mekong.db"

// Open opens the database at url without migrating it.
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path, opts, err := sqlite.ParseURL(url)
		if err != nil {
			return nil, err
		}
		return sqlite.OpenWith(ctx, path, opts)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url)
	}
	return nil, fmt.Errorf("unsupported database URL %q: use sqlite:PATH or postgres://user@host/db", Redact(url))
}

// Redact hides a password in a database URL so it can be logged.
func Redact(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return url
	}
	cred := rest[:at]
	if user, _, hasPass := strings.Cut(cred, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + rest[at+1:]
	}
	return url
}

// OpenMigrated opens the database and applies pending migrations, then
// moves AuditEvents an earlier Mekong stored as resources into the audit
// log (none after the first run).
func OpenMigrated(ctx context.Context, url string) (*sqlstore.DB, int, error) {
	db, err := Open(ctx, url)
	if err != nil {
		return nil, 0, err
	}
	n, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, 0, err
	}
	if _, err := audit.MigrateLegacy(ctx, db); err != nil {
		db.Close()
		return nil, 0, err
	}
	return db, n, nil
}
