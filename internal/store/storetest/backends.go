package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/store/postgres"
	"github.com/mekong-fhir/mekong/internal/store/sqlite"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
)

// Backend opens a fresh, migrated store of one kind.
type Backend struct {
	Name string
	Open func(t testing.TB) *sqlstore.DB
}

// Backends are every store Mekong ships. Test binaries using them must call
// pgtest.Main from TestMain so the throwaway PostgreSQL is stopped.
func Backends() []Backend {
	return []Backend{{Name: "sqlite", Open: OpenSQLite}, {Name: "postgres", Open: OpenPostgres}}
}

// OpenSQLite returns a migrated embedded store in a temp dir.
func OpenSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	// synchronous=OFF, like fsync=off on the test PostgreSQL: tests do not
	// survive power cuts and need not pay for it.
	db, err := sqlite.OpenWith(context.Background(), filepath.Join(t.TempDir(), "mekong.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenPostgres returns a store on a fresh database cloned from a migrated
// template (skipped, or failed under CI=true, without PostgreSQL).
func OpenPostgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	url := pgtest.NewDatabase(t, "mekong_migrated", MigratePostgres)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// MigratePostgres migrates the database at url: the prepare function of a
// pgtest template of migrated databases.
func MigratePostgres(ctx context.Context, url string) error {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Migrate(ctx)
	return err
}
