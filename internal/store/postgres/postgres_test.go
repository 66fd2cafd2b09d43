package postgres_test

import (
	"context"
	"io/fs"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/search"

	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/postgres"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
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
	// Two audit commits in flight: one gathers its batch while the other
	// waits for its fsync (SQLite, with one writer connection, has one).
	if n := def.AuditCommitters(); n != 2 {
		t.Errorf("AuditCommitters() = %d on PostgreSQL, want 2", n)
	}
	for _, bad := range []string{"0", "-1", "many"} {
		_, err := postgres.Open(ctx, url+sep+"pool_max_conns="+bad)
		if err == nil || !strings.Contains(err.Error(), "pool_max_conns") {
			t.Errorf("pool_max_conns=%s: error %v, want one naming pool_max_conns", bad, err)
		}
	}
}

// Plans (issue 15): the fixed batched inserts of a write are prepared once
// per connection and reuse PostgreSQL's cached generic plan, instead of
// being planned again on every execution; so does a driven search page (an
// ordered walk of one index range: its shape is its plan). Other search
// statements are sent unnamed, so each is planned with its values (a
// patient's few rows and a code half the table has need different plans).
func TestSearchesCustomPlansInsertsCached(t *testing.T) {
	url := pgtest.NewDatabase(t, "mekong_migrated_plans", storetest.MigratePostgres)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	ctx := context.Background()
	db, err := postgres.Open(ctx, url+sep+"pool_max_conns=1") // one connection: its prepared statements are the pool's
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.Writer().QueryRowContext(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil || mode != "auto" {
		t.Fatalf("plan_cache_mode %q (%v), want auto: only searches ask for custom plans", mode, err)
	}
	reg, err := search.NewRegistry([]string{"Observation"}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		id := "o" + strconv.Itoa(i)
		ix := &search.Index{Tokens: []search.TokenRow{{Param: "code", System: "http://loinc.org", Code: "94500-6"}},
			Refs: []search.RefRow{{Param: "subject", TargetType: "Patient", TargetID: "p1"}}}
		if _, err := db.Write(ctx, store.Write{Type: "Observation", ID: id, Method: store.MethodPut, Index: ix,
			Render: func(id string, v int64, at time.Time) []byte {
				return []byte(`{"resourceType":"Observation","id":"` + id + `"}`)
			}}); err != nil {
			t.Fatal(err)
		}
		for _, v := range []neturl.Values{
			{"subject": {"Patient/p1"}, "code": {"94500-6"}}, // driven by subject
			{"code:not": {"29463-7"}},                        // planned with its values
		} {
			q, err := reg.Parse([]string{"Observation"}, v, search.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Search(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows, err := db.Writer().QueryContext(ctx, `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	genericInserts, driven := 0, 0
	for rows.Next() {
		var stmt string
		var generic, custom int64
		if err := rows.Scan(&stmt, &generic, &custom); err != nil {
			t.Fatal(err)
		}
		select_ := strings.HasPrefix(strings.TrimSpace(stmt), "SELECT")
		if select_ && strings.Contains(stmt, "NOT IN") {
			t.Errorf("a search statement that is not driven was prepared and cached: %s", stmt)
		}
		if select_ && strings.Contains(stmt, "FROM search_reference d") && generic > 0 {
			driven++
		}
		if strings.Contains(stmt, "INSERT INTO") && generic > 0 {
			genericInserts++
		}
	}
	if genericInserts == 0 {
		t.Error("no batched insert reused a cached generic plan")
	}
	if driven == 0 {
		t.Error("the driven search page did not reuse a cached plan")
	}
}

// Two gateway instances on one PostgreSQL act as one server (issue 15):
// both append to the audit log at once, each on chains of its own lanes,
// with no lock between them; every row is there and every chain verifies,
// from either instance.
func TestAuditTwoGateways(t *testing.T) {
	url := pgtest.NewDatabase(t, "mekong_migrated_two", storetest.MigratePostgres)
	ctx := context.Background()
	var dbs []*sqlstore.DB
	for i := 0; i < 2; i++ {
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g, db := range dbs {
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 25; i++ {
					r := store.AuditRecord{Recorded: time.Now(), Action: "R", Interaction: "read", Status: 200,
						Patient: "p", RequestID: "gw" + strconv.Itoa(g) + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)}
					errs <- db.AppendAudit(ctx, []store.AuditRecord{r})
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, db := range dbs {
		v, err := db.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v.Rows != 200 || len(v.Broken) > 0 || v.Chains < 2 {
			t.Fatalf("from gateway %d: %d rows in %d chains, broken %v", i, v.Rows, v.Chains, v.Broken)
		}
	}
}
