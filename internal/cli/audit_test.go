package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/internal/store"
)

// `mekong audit verify` (issue 15, tamper evidence): a clean log verifies;
// a row edited in the database is named, by its AuditEvent id, as the first
// broken link of its chain, and the command fails.
func TestAuditVerifyCommand(t *testing.T) {
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	db, _, err := backend.OpenMigrated(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var recs []store.AuditRecord
	for i := 0; i < 5; i++ {
		recs = append(recs, store.AuditRecord{Recorded: time.Now(), Action: "R", Interaction: "read", Status: 200,
			Patient: "sok", EntityType: "Observation", EntityID: fmt.Sprintf("o%d", i), RequestID: fmt.Sprintf("r%d", i)})
	}
	if err := db.AppendAudit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	db.Close()

	verify := func() (string, error) {
		var out bytes.Buffer
		err := root(&out, io.Discard).Run(ctx, []string{"mekong", "audit", "verify", "--heads", "--db", url})
		return out.String(), err
	}
	out, err := verify()
	if err != nil || !strings.Contains(out, "5 rows in 1 chains; every link verified") || !strings.Contains(out, "head: chain") {
		t.Fatalf("clean log: %v\n%s", err, out)
	}

	// Someone rewrites which patient the fourth read concerned.
	db, _, err = backend.OpenMigrated(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Writer().ExecContext(ctx, `UPDATE audit_log SET patient = 'someone-else' WHERE seq = 4`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err = verify()
	if err == nil || !strings.Contains(out, "BROKEN: chain") || !strings.Contains(out, "row 4 (AuditEvent/"+recs[3].ID+")") ||
		!strings.Contains(out, "edited") || !strings.Contains(out, "1 chains broken") {
		t.Fatalf("edited log: %v\n%s", err, out)
	}
}
