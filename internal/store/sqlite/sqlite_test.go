package sqlite_test

import (
	"context"
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
