package postgres_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/postgres"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.OpenPostgres(t) })
}

func TestMigrateIsIdempotent(t *testing.T) {
	url := pgtest.NewDatabase(t, "empty", nil)
	files, _ := fs.Glob(postgres.Dialect().Migrations, "*.sql")
	for i, want := range []int{len(files), 0} {
		db, err := postgres.Open(context.Background(), url)
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
