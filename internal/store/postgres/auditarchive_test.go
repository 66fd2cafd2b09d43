package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/postgres"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// The README's procedure for archiving a month of the audit log (issue 15:
// "old months can be detached and archived"), statement for statement: the
// month verifies, is detached (not CONCURRENTLY: PostgreSQL refuses that
// while audit_log_default exists), and the log left behind still verifies and is served; attached again (as after a
// restore) the month's events are served and verify with the rest.
func TestAuditMonthDetachAndAttach(t *testing.T) {
	url := pgtest.NewDatabase(t, "mekong_migrated_archive", storetest.MigratePostgres)
	ctx := context.Background()
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	jan := time.Date(2019, 1, 10, 8, 0, 0, 0, time.UTC)
	var recs []store.AuditRecord
	for i, at := range []time.Time{jan, jan.Add(time.Hour), jan.AddDate(0, 1, 0), time.Now()} {
		recs = append(recs, store.AuditRecord{Recorded: at, Action: "R", Interaction: "read", Status: 200,
			Patient: "p", EntityType: "Patient", EntityID: "p", RequestID: fmt.Sprint("r", i)})
	}
	if err := db.AppendAudit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	verify := func(rows int64) {
		t.Helper()
		v, err := db.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v.Rows != rows || len(v.Broken) > 0 {
			t.Fatalf("verify: %d rows, broken %v; want %d rows, none broken", v.Rows, v.Broken, rows)
		}
	}
	served := func() int {
		t.Helper()
		page, err := db.SearchAudit(ctx, store.AuditQuery{Count: 10, Patients: [][]string{{"p"}}})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Records)
	}
	verify(4)
	w := db.Writer()
	// README "Monthly partitions (PostgreSQL)", the psql -c line as it is.
	if _, err := w.ExecContext(ctx, `SET lock_timeout = '5s'; ALTER TABLE audit_log DETACH PARTITION audit_log_y2019m01`); err != nil {
		t.Fatalf("the README's detach: %v", err)
	}
	verify(2)
	if n := served(); n != 2 {
		t.Fatalf("%d events served after the detach, want 2", n)
	}
	if _, err := db.ReadAudit(ctx, recs[0].ID); err == nil {
		t.Fatal("an event of the detached month is still served")
	}
	var archived int
	if err := w.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log_y2019m01`).Scan(&archived); err != nil || archived != 2 {
		t.Fatalf("the detached table holds %d rows (%v), want 2", archived, err)
	}
	// Restored and attached again, as the README says.
	lo, hi := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), time.Date(2019, 2, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	if _, err := w.ExecContext(ctx, fmt.Sprintf(`ALTER TABLE audit_log ATTACH PARTITION audit_log_y2019m01 FOR VALUES FROM (%d) TO (%d)`, lo, hi)); err != nil {
		t.Fatal(err)
	}
	verify(4)
	if n := served(); n != 4 {
		t.Fatalf("%d events served after the attach, want 4", n)
	}
	if _, err := db.ReadAudit(ctx, recs[0].ID); err != nil {
		t.Fatal(err)
	}
}

// Rows that fell into audit_log_default (their month's partition could not
// be made in time) move into the partition when it is made, keeping their
// chains: the README's "a late partition takes its month's rows over".
func TestAuditLatePartitionTakesOverDefault(t *testing.T) {
	url := pgtest.NewDatabase(t, "mekong_migrated_late", storetest.MigratePostgres)
	ctx := context.Background()
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	may := time.Date(2018, 5, 10, 8, 0, 0, 0, time.UTC)
	first := []store.AuditRecord{{Recorded: may, Action: "R", Patient: "p", RequestID: "r1"}, {Recorded: may.Add(time.Minute), Action: "R", Patient: "p", RequestID: "r2"}}
	if err := db.AppendAudit(ctx, first); err != nil {
		t.Fatal(err)
	}
	// As if May's partition had never been made: its rows are in the default.
	w := db.Writer()
	for _, q := range []string{
		`ALTER TABLE audit_log DETACH PARTITION audit_log_y2018m05`,
		`INSERT INTO audit_log SELECT * FROM audit_log_y2018m05`,
		`DROP TABLE audit_log_y2018m05`,
	} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	count := func(table string) (n int) {
		t.Helper()
		if err := w.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("audit_log_default"); n != 2 {
		t.Fatalf("%d rows in the default partition, want 2", n)
	}
	// A gateway started later appends to May: the partition is made, and
	// takes the default's May rows.
	later, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	if err := later.AppendAudit(ctx, []store.AuditRecord{{Recorded: may.Add(time.Hour), Action: "R", Patient: "p", RequestID: "r3"}}); err != nil {
		t.Fatal(err)
	}
	if d, m := count("audit_log_default"), count("audit_log_y2018m05"); d != 0 || m != 3 {
		t.Fatalf("default %d rows, May %d; want 0 and 3", d, m)
	}
	v, err := later.VerifyAudit(ctx)
	if err != nil || v.Rows != 3 || len(v.Broken) > 0 {
		t.Fatalf("verify: %+v %v", v, err)
	}
	for _, r := range first {
		if _, err := later.ReadAudit(ctx, r.ID); err != nil {
			t.Fatalf("%s after the move: %v", r.RequestID, err)
		}
	}
}
