package bulk_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var parser = func() *resource.Parser {
	p, err := resource.NewParser()
	if err != nil {
		panic(err)
	}
	return p
}()

var registry = func() *search.Registry {
	r, err := search.NewRegistry([]string{"Patient", "Immunization", "Observation"}, time.FixedZone("UTC+07:00", 7*3600))
	if err != nil {
		panic(err)
	}
	return r
}()

// eachStore runs fn on a fresh store of every backend.
func eachStore(t *testing.T, fn func(t *testing.T, db *sqlstore.DB, svc *rest.Service)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			fn(t, db, rest.New(db, parser, registry))
		})
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// versions counts every stored version of typ.
func versions(t *testing.T, db store.Store, typ string) int {
	t.Helper()
	page, err := db.History(context.Background(), store.HistoryQuery{Type: typ, Count: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Versions)
}

// importAll runs an import to the end and gathers its batches.
func importAll(t *testing.T, im *bulk.Importer, name string, r io.Reader) (map[string]bulk.Counts, []string) {
	t.Helper()
	counts := map[string]bulk.Counts{}
	var errs []string
	err := im.Import(context.Background(), name, r, 0, func(b bulk.Batch) error {
		for typ, c := range b.Counts {
			o := counts[typ]
			o.Created += c.Created
			o.Updated += c.Updated
			o.Unchanged += c.Unchanged
			counts[typ] = o
		}
		for _, e := range b.Errors {
			errs = append(errs, string(e))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return counts, errs
}
