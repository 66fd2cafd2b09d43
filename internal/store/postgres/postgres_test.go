package postgres_test

import (
	"context"
	"io/fs"
	"strings"
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

// The URL's pool_max_conns sizes the pool and is not sent to the server as
// a setting; the URL's other parameters still are.
func TestPoolMaxConns(t *testing.T) {
	url := pgtest.NewDatabase(t, "", nil)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	ctx := context.Background()
	db, err := postgres.Open(ctx, url+sep+"pool_max_conns=3&application_name=mekong-pool-test")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Writer().Stats().MaxOpenConnections; got != 3 {
		t.Errorf("MaxOpenConnections %d, want 3", got)
	}
	var app string
	if err := db.Writer().QueryRowContext(ctx, "SHOW application_name").Scan(&app); err != nil || app != "mekong-pool-test" {
		t.Errorf("application_name %q (%v), want the URL's", app, err)
	}
	def, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close()
	if got := def.Writer().Stats().MaxOpenConnections; got != postgres.DefaultMaxConns {
		t.Errorf("default MaxOpenConnections %d, want %d", got, postgres.DefaultMaxConns)
	}
	for _, bad := range []string{"0", "-1", "many"} {
		_, err := postgres.Open(ctx, url+sep+"pool_max_conns="+bad)
		if err == nil || !strings.Contains(err.Error(), "pool_max_conns") {
			t.Errorf("pool_max_conns=%s: error %v, want one naming pool_max_conns", bad, err)
		}
	}
}
