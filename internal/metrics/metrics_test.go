package metrics

import (
	"database/sql"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return rec.Body.String()
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, l+"\n") {
			t.Errorf("missing %q", l)
		}
	}
}

// A nil *Metrics records nothing and does not panic: the command line and
// tests run without metrics.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.Started()()
	m.ObserveRequest(Request{Interaction: "read", Status: 200})
	m.AuditWait()()
	m.BulkJob("import", "accepted")
	m.BulkResources("import", "imported", 3)
	m.Ingested("th43", 1, 0, 0)
	m.ObserveMatch(time.Millisecond)
	m.RegisterDB("writer", nil)
	m.RegisterAudit(nil)
}

func TestRequestsIngestBulkMatch(t *testing.T) {
	m := New()
	done := m.Started()
	m.ObserveRequest(Request{Interaction: "read", Type: "Patient", Status: 404, Duration: 3 * time.Millisecond})
	m.ObserveRequest(Request{Interaction: "operation", Type: "Patient", Operation: "everything", Status: 200, Duration: time.Second})
	m.Ingested("iom-csv", 2, 1, 3)
	m.BulkJob("export", "completed")
	m.BulkResources("export", "exported", 10)
	m.ObserveMatch(20 * time.Millisecond)
	body := scrape(t, m)
	done()
	wantLines(t, body,
		`mekong_http_requests_in_flight 1`,
		`mekong_http_requests_total{interaction="read",operation="",status_class="4xx",type="Patient"} 1`,
		`mekong_http_requests_total{interaction="operation",operation="everything",status_class="2xx",type="Patient"} 1`,
		`mekong_http_request_duration_seconds_bucket{interaction="read",operation="",status_class="4xx",type="Patient",le="0.005"} 1`,
		`mekong_ingest_persons_total{format="iom-csv",outcome="stored"} 2`,
		`mekong_ingest_persons_total{format="iom-csv",outcome="failed"} 1`,
		`mekong_ingest_rows_rejected_total{format="iom-csv"} 3`,
		`mekong_bulk_jobs_total{kind="export",outcome="completed"} 1`,
		`mekong_bulk_resources_total{kind="export",outcome="exported"} 10`,
		`mekong_match_duration_seconds_count 1`,
		`# TYPE go_goroutines gauge`,
	)
}

func TestStatusClass(t *testing.T) {
	for status, want := range map[int]string{200: "2xx", 201: "2xx", 304: "3xx", 412: "4xx", 503: "5xx", 0: "other", 600: "other"} {
		if got := StatusClass(status); got != want {
			t.Errorf("StatusClass(%d) = %q, want %q", status, got, want)
		}
	}
}

// today's audit.Writer: Stats only.
type statsOnly struct{ commits, events atomic.Int64 }

func (s *statsOnly) Stats() (int64, int64) { return s.commits.Load(), s.events.Load() }

// the rewritten writer's optional methods (the seam).
type fullAudit struct {
	statsOnly
	observe func(time.Duration, int)
}

func (f *fullAudit) QueueDepth() int64                                 { return 7 }
func (f *fullAudit) SetCommitObserver(fn func(d time.Duration, n int)) { f.observe = fn }

func TestAuditSeam(t *testing.T) {
	m := New()
	s := &statsOnly{}
	s.commits.Store(3)
	s.events.Store(40)
	m.RegisterAudit(s)
	done := m.AuditWait()
	body := scrape(t, m)
	done()
	wantLines(t, body, "mekong_audit_commits_total 3", "mekong_audit_events_total 40", "mekong_audit_waiting_requests 1")
	if strings.Contains(body, "mekong_audit_queue_depth") || strings.Contains(body, "mekong_audit_commit_seconds") {
		t.Error("metrics of methods today's writer lacks are exported")
	}
	wantLines(t, scrape(t, m), "mekong_audit_waiting_requests 0", "mekong_audit_wait_seconds_count 1")

	m = New()
	f := &fullAudit{}
	m.RegisterAudit(f)
	f.observe(30*time.Millisecond, 12)
	wantLines(t, scrape(t, m), "mekong_audit_queue_depth 7", `mekong_audit_commit_seconds_bucket{le="0.05"} 1`)
}

func TestDBPoolStats(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Ping()
	m := New()
	m.RegisterDB("writer", db)
	wantLines(t, scrape(t, m), `go_sql_open_connections{db_name="writer"} 1`)
}
