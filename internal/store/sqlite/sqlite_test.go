package sqlite_test

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/sqlite"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "mekong.db"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	files, _ := fs.Glob(sqlite.Dialect().Migrations, "*.sql")
	for i, want := range []int{len(files), 0} {
		db, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		n, err := db.Migrate(context.Background())
		db.Close()
		if err != nil || n != want {
			t.Fatalf("run %d applied %d migrations (%v), want %d", i, n, err, want)
		}
	}
}

// Reads reuse the reader pool's connections: with every connection busy at
// once and then released, none is closed for want of an idle slot to be
// opened again (which cost 15% of the CPU of audited reads under load, with
// their prepared statements lost).
func TestReaderPoolKeepsItsConnections(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, reader := db.Pools()
	// Every connection the pool may open, busy at once, then all released.
	ctx := context.Background()
	var conns []*sql.Conn
	for range reader.Stats().MaxOpenConnections {
		c, err := reader.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := c.QueryRowContext(ctx, "SELECT count(*) FROM resources").Scan(&n); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	st := reader.Stats()
	if st.MaxIdleClosed > 0 || st.OpenConnections != st.MaxOpenConnections {
		t.Errorf("reader pool: %d connections closed for want of an idle slot, %d open of %d", st.MaxIdleClosed, st.OpenConnections, st.MaxOpenConnections)
	}
}

// SQLite has one writer connection: one audit commit in flight at a time
// takes the largest batch (a second would only wait for the first).
func TestOneAuditCommitAtATime(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := db.AuditCommitters(); n != 1 {
		t.Errorf("AuditCommitters() = %d on SQLite, want 1", n)
	}
}
