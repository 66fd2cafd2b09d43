package benchsearch

import (
	"context"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/seed"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
)

// loadSQLite writes a small generated data set through the store, for plans.
func loadSQLite(t *testing.T, db *sqlstore.DB, reg *search.Registry, patients int) {
	ctx := context.Background()
	err := seed.Generate(seed.Config{Patients: patients, Seed: 42}, func(typ, id string, body []byte) error {
		content := append([]byte(nil), body...)
		m, err := search.Decode(content)
		if err != nil {
			return err
		}
		ix, err := reg.Extract(typ, m)
		if err != nil {
			return err
		}
		_, err = db.Write(ctx, store.Write{Type: typ, ID: id, Method: store.MethodPut, Index: ix,
			Render: func(string, int64, time.Time) []byte { return content }})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Writer().ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
}
