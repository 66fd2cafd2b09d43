package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// An audit failure fails the request (issue 15, keeping issue 5's promise),
// also for writes, whose audit rows go into the write's own transaction: when
// the audit log refuses rows, a create is 503 and stores nothing, and a read
// is 503 without the data. The database itself refuses (a trigger), so the
// real write path and the real group-commit writer are what fail.
func TestAuditFailureFailsTheWrite(t *testing.T) {
	st := storetest.OpenSQLite(t)
	a := newAuditAPI(t, st, nil)
	a.want(a.as("clinic", "PUT", "/Patient/sok", `{"resourceType":"Patient","id":"sok","gender":"male"}`), 201)
	if _, err := st.Writer().ExecContext(context.Background(),
		`CREATE TRIGGER audit_full BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	r := a.as("clinic", "POST", "/Observation", observationOf("sok"))
	if r.status != 503 || r.issue(t)["code"] != "transient" || r.header.Get("Location") != "" {
		t.Fatalf("create whose audit row cannot be stored: %d %s", r.status, r.body)
	}
	r = a.as("clinic", "PUT", "/Patient/sok", `{"resourceType":"Patient","id":"sok","gender":"female"}`)
	if r.status != 503 {
		t.Fatalf("update whose audit row cannot be stored: %d %s", r.status, r.body)
	}
	r = a.as("clinic", "GET", "/Patient/sok", "")
	if r.status != 503 || strings.Contains(string(r.body), `"gender"`) {
		t.Fatalf("read whose audit row cannot be stored: %d %s", r.status, r.body)
	}
	if _, err := st.Writer().ExecContext(context.Background(), `DROP TRIGGER audit_full`); err != nil {
		t.Fatal(err)
	}
	if h, err := st.History(context.Background(), store.HistoryQuery{Type: "Observation", Count: 10}); err != nil || len(h.Versions) != 0 {
		t.Fatalf("Observations stored by a write that failed: %v %v", h, err)
	}
	if g := a.want(a.as("clinic", "GET", "/Patient/sok", ""), 200).json(t)["gender"]; g != "male" {
		t.Fatalf("the failed update changed the Patient: gender %v", g)
	}
}
