// Package metrics holds Mekong's Prometheus metrics (prometheus/client_golang),
// served in the text exposition format at GET /metrics: requests by FHIR
// interaction, resource type and status class, as Blaze labels them, never
// by id, URL or query (those carry patient identifiers and would make a
// series per patient); database pool statistics; the audit writer; bulk
// jobs and $ingest; and the seam where $match's engine latency plugs in.
//
// A nil *Metrics is valid and records nothing, so code paths built without
// metrics (tests, the command line) need no checks.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Interactions are the values of the interaction label: the FHIR REST
// interaction codes (https://hl7.org/fhir/R4/http.html), "operation" for
// $operations (their name in the operation label), and "capabilities" for
// /metadata; "other" for the rest of /fhir (SMART configuration, unknown
// paths).
var Interactions = []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type",
	"history-system", "create", "search-type", "search-system", "transaction", "batch", "operation", "capabilities", "other"}

// latencyBuckets span a cached read (1 ms) to a large transaction or a bulk
// kick-off (30 s).
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics is one registry and the metrics Mekong records into it.
type Metrics struct {
	reg *prometheus.Registry

	inFlight prometheus.Gauge
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	auditWaiting prometheus.Gauge
	auditWait    prometheus.Histogram

	bulkJobs      *prometheus.CounterVec
	bulkResources *prometheus.CounterVec
	ingestPersons *prometheus.CounterVec
	ingestRows    *prometheus.CounterVec
	match         prometheus.Histogram
}

// New returns metrics registered in a new registry, with the Go runtime and
// process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	labels := []string{"interaction", "type", "operation", "status_class"}
	m := &Metrics{
		reg: reg,
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mekong_http_requests_in_flight",
			Help: "FHIR requests being served."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mekong_http_requests_total",
			Help: "FHIR requests by interaction, resource type ('' at system level), operation name and status class."}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mekong_http_request_duration_seconds",
			Help:    "Time to answer FHIR requests, audit commit included, by interaction, type, operation and status class.",
			Buckets: latencyBuckets}, labels),
		auditWaiting: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mekong_audit_waiting_requests",
			Help: "Requests whose response waits for their AuditEvents to be committed (the audit queue, in requests)."}),
		auditWait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mekong_audit_wait_seconds",
			Help: "Time a request waits for its AuditEvents to be committed, in the queue and in the group commit.", Buckets: latencyBuckets}),
		bulkJobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mekong_bulk_jobs_total",
			Help: "Bulk jobs by kind (import, export) and outcome (accepted, completed, failed, cancelled)."}, []string{"kind", "outcome"}),
		bulkResources: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mekong_bulk_resources_total",
			Help: "Resources of finished bulk jobs by kind and outcome (imported, rejected, exported)."}, []string{"kind", "outcome"}),
		ingestPersons: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mekong_ingest_persons_total",
			Help: "Persons sent to $ingest by source format and outcome (stored, failed)."}, []string{"format", "outcome"}),
		ingestRows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mekong_ingest_rows_rejected_total",
			Help: "Source rows $ingest rejected, by format."}, []string{"format"}),
		match: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mekong_match_duration_seconds",
			Help: "Time the matcher takes for one $match probe (blocking-key lookup and scoring), HTTP excluded.", Buckets: latencyBuckets}),
	}
	reg.MustRegister(m.inFlight, m.requests, m.latency, m.auditWaiting, m.auditWait, m.bulkJobs, m.bulkResources,
		m.ingestPersons, m.ingestRows, m.match)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the registry, for tests and for collectors added after merge.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Request is one answered FHIR request.
type Request struct {
	Interaction string // one of Interactions
	Type        string // a served resource type, or "" (system level, or not a served type)
	Operation   string // the $operation's name without "$", for interaction "operation"
	Status      int
	Duration    time.Duration
}

// Started counts a request in flight; call the returned function when it ends.
func (m *Metrics) Started() func() {
	if m == nil {
		return func() {}
	}
	m.inFlight.Inc()
	return m.inFlight.Dec
}

// ObserveRequest records an answered request.
func (m *Metrics) ObserveRequest(r Request) {
	if m == nil {
		return
	}
	l := prometheus.Labels{"interaction": r.Interaction, "type": r.Type, "operation": r.Operation, "status_class": StatusClass(r.Status)}
	m.requests.With(l).Inc()
	m.latency.With(l).Observe(r.Duration.Seconds())
}

// StatusClass is "2xx" for 200..299, and so on.
func StatusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// RegisterDB exports a database pool's statistics (database/sql DBStats:
// open, in use and idle connections, waits and their duration) as the
// go_sql_* metrics labelled db_name=name.
func (m *Metrics) RegisterDB(name string, db *sql.DB) {
	if m == nil || db == nil {
		return
	}
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// AuditSource is the audit writer as the metrics see it (audit.Writer):
// the group commits it made and the audit log rows they appended. The
// optional methods below are exported when present:
//
//	QueueDepth() int64                                   -> mekong_audit_queue_depth (rows waiting)
//	SetCommitObserver(func(d time.Duration, events int)) -> mekong_audit_commit_seconds (one commit)
type AuditSource interface {
	Stats() (commits, events int64)
}

type auditQueue interface{ QueueDepth() int64 }

type auditCommits interface {
	SetCommitObserver(func(d time.Duration, events int))
}

// RegisterAudit exports the writer's counters (and the optional ones of
// AuditSource's seam).
func (m *Metrics) RegisterAudit(src AuditSource) {
	if m == nil || src == nil {
		return
	}
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mekong_audit_commits_total",
			Help: "Transactions the audit writer committed (each holds the AuditEvents of one or more requests)."},
			func() float64 { c, _ := src.Stats(); return float64(c) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mekong_audit_events_total",
			Help: "AuditEvents of reads and searches committed by the audit writer."},
			func() float64 { _, e := src.Stats(); return float64(e) }),
	)
	if q, ok := src.(auditQueue); ok {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mekong_audit_queue_depth",
			Help: "Audit log rows queued for the next group commit."}, func() float64 { return float64(q.QueueDepth()) }))
	}
	if o, ok := src.(auditCommits); ok {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mekong_audit_commit_seconds",
			Help: "Duration of one audit group commit.", Buckets: latencyBuckets})
		m.reg.MustRegister(h)
		o.SetCommitObserver(func(d time.Duration, _ int) { h.Observe(d.Seconds()) })
	}
}

// AuditWait marks a request waiting for its AuditEvents to be committed;
// call the returned function once they are (or failed).
func (m *Metrics) AuditWait() func() {
	if m == nil {
		return func() {}
	}
	t0 := time.Now()
	m.auditWaiting.Inc()
	return func() {
		m.auditWaiting.Dec()
		m.auditWait.Observe(time.Since(t0).Seconds())
	}
}

// BulkJob counts a bulk job event: kind "import" or "export", outcome
// "accepted" (kick-off), "completed", "failed" or "cancelled".
func (m *Metrics) BulkJob(kind, outcome string) {
	if m == nil {
		return
	}
	m.bulkJobs.WithLabelValues(kind, outcome).Inc()
}

// BulkResources counts the resources of a finished job: kind "import" with
// outcome "imported" or "rejected", kind "export" with "exported".
func (m *Metrics) BulkResources(kind, outcome string, n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.bulkResources.WithLabelValues(kind, outcome).Add(float64(n))
}

// Ingested counts one $ingest: persons stored and failed, rows rejected,
// by source format (iom-csv, iom-json, th43, dhis2).
func (m *Metrics) Ingested(format string, stored, failed, rejectedRows int) {
	if m == nil {
		return
	}
	m.ingestPersons.WithLabelValues(format, "stored").Add(float64(stored))
	m.ingestPersons.WithLabelValues(format, "failed").Add(float64(failed))
	m.ingestRows.WithLabelValues(format).Add(float64(rejectedRows))
}

// ObserveMatch records the matcher's time for one $match probe. $match
// requests are already counted and timed whole by the HTTP metrics
// (interaction="operation", operation="match"); this is the engine's share,
// which server.New hands to rest.Service.MatchObserver.
func (m *Metrics) ObserveMatch(d time.Duration) {
	if m == nil {
		return
	}
	m.match.Observe(d.Seconds())
}
