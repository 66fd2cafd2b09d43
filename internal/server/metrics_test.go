// GET /metrics in the Prometheus text exposition format
// (https://prometheus.io/docs/instrumenting/exposition_formats/), labelled by
// FHIR interaction (https://hl7.org/fhir/R4/http.html), type and status class.
package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/metrics"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// Issue 14 item 16: each interaction is counted under its own label, with
// the type and status class, and no id, URL or query value ever becomes a
// label; /metrics needs a token with the scope mekong/metrics.
func TestMetricsByInteraction(t *testing.T) {
	st := storetest.Backends()[0].Open(t)
	a := newAuthAPI(t, st, server.Config{Metrics: metrics.New()})
	tok := a.mint("user/*.cruds", "")
	const secretID = "pt-metrics-7f3a9"
	const secretValue = "N7777777"

	a.want(a.as(tok, "PUT", "/Patient/"+secretID, `{"resourceType":"Patient","id":"`+secretID+`","identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"`+secretValue+`"}]}`), 201)
	a.want(a.as(tok, "GET", "/Patient/"+secretID, ""), 200)
	a.want(a.as(tok, "GET", "/Patient/"+secretID+"/_history/1", ""), 200)
	a.want(a.as(tok, "GET", "/Patient?identifier=http://hl7.org/fhir/sid/passport-KHM|"+secretValue, ""), 200)
	a.want(a.as(tok, "GET", "/Patient/"+secretID+"/_history", ""), 200)
	a.want(a.as(tok, "GET", "/Patient/"+secretID+"/$everything", ""), 200)
	a.want(a.as(tok, "GET", "/Patient/does-not-exist", ""), 404)
	a.want(a.as(tok, "GET", "/NotAType/1", ""), 404)
	a.want(a.do("GET", "/Patient/"+secretID, ""), 401)
	a.want(a.as(tok, "POST", "", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/`+secretID+`"}}]}`), 200)
	a.want(a.as(tok, "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`), 200)
	a.want(a.do("GET", "/metadata", ""), 200)
	// create, patch and delete, on another Patient.
	loc := a.want(a.as(tok, "POST", "/Patient", `{"resourceType":"Patient","gender":"female"}`), 201).header.Get("Location")
	other := "/Patient/" + strings.Split(strings.SplitAfter(loc, "/Patient/")[1], "/")[0]
	a.want(a.as(tok, "PATCH", other, `[{"op":"replace","path":"/gender","value":"male"}]`, "Content-Type", "application/json-patch+json"), 200)
	a.want(a.as(tok, "DELETE", other, ""), 200)
	a.want(a.as(tok, "GET", "/Patient/_history", ""), 200)
	a.want(a.as(tok, "POST", "/Patient/$match", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"`+secretValue+`"}]}}]}`), 200)

	// Behind a token: none is 401, one without the scope 403.
	a.want(a.do("GET", a.srv.URL+"/metrics", ""), 401)
	a.want(a.as(tok, "GET", a.srv.URL+"/metrics", ""), 403)
	res := a.want(a.as(a.mint("mekong/metrics", ""), "GET", a.srv.URL+"/metrics", ""), 200)
	body := string(res.body)
	if !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain") {
		t.Errorf("Content-Type %q, want the text format", res.header.Get("Content-Type"))
	}
	for _, secret := range []string{secretID, secretValue, "does-not-exist", "NotAType", "identifier="} {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics shows %q, taken from a URL", secret)
		}
	}

	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v", err)
	}
	count := func(labels map[string]string) float64 {
		var n float64
		for _, m := range families["mekong_http_requests_total"].GetMetric() {
			match := true
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					match = false
				}
			}
			if match {
				n += m.GetCounter().GetValue()
			}
		}
		return n
	}
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"interaction": "update", "type": "Patient", "status_class": "2xx"}, 1},
		{map[string]string{"interaction": "read", "type": "Patient", "status_class": "2xx"}, 1},
		{map[string]string{"interaction": "read", "type": "Patient", "status_class": "4xx"}, 2}, // unknown id, no token
		{map[string]string{"interaction": "read", "type": "", "status_class": "4xx"}, 1},        // unknown type: no label value
		{map[string]string{"interaction": "vread", "type": "Patient"}, 1},
		{map[string]string{"interaction": "search-type", "type": "Patient"}, 1},
		{map[string]string{"interaction": "history-instance", "type": "Patient"}, 1},
		{map[string]string{"interaction": "operation", "operation": "everything", "type": "Patient"}, 1},
		{map[string]string{"interaction": "batch", "type": ""}, 1},
		{map[string]string{"interaction": "transaction", "type": ""}, 1},
		{map[string]string{"interaction": "capabilities"}, 1},
		{map[string]string{"interaction": "operation", "operation": "match", "type": "Patient"}, 1},
		{map[string]string{"interaction": "create", "type": "Patient", "status_class": "2xx"}, 1},
		{map[string]string{"interaction": "patch", "type": "Patient", "status_class": "2xx"}, 1},
		{map[string]string{"interaction": "delete", "type": "Patient", "status_class": "2xx"}, 1},
		{map[string]string{"interaction": "history-type", "type": "Patient"}, 1},
	} {
		if got := count(tc.labels); got != tc.want {
			t.Errorf("mekong_http_requests_total%v = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if h := families["mekong_http_request_duration_seconds"]; h == nil || h.GetType().String() != "HISTOGRAM" {
		t.Errorf("no latency histogram")
	}
	// The matcher's own share of the $match (issue 14 item 16).
	if h := families["mekong_match_duration_seconds"]; h == nil || len(h.GetMetric()) != 1 || h.GetMetric()[0].GetHistogram().GetSampleCount() != 1 {
		t.Errorf("mekong_match_duration_seconds does not hold the one $match: %v", h)
	}
	// The audit writer committed the reads' AuditEvents, and requests waited for it.
	// Issue 14 item 16 names the queue depth and the commit latency.
	for _, name := range []string{"mekong_audit_commits_total", "mekong_audit_events_total", "mekong_audit_wait_seconds", "mekong_audit_commit_seconds"} {
		f := families[name]
		if f == nil || len(f.GetMetric()) == 0 {
			t.Errorf("%s missing", name)
			continue
		}
		m := f.GetMetric()[0]
		if v := m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount()); v == 0 {
			t.Errorf("%s is 0 after audited reads", name)
		}
	}
	if f := families["mekong_audit_queue_depth"]; f == nil || f.GetType().String() != "GAUGE" {
		t.Errorf("mekong_audit_queue_depth missing: %v", f)
	}
}

// recorder is a bulk.Observer that remembers what it heard.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) BulkJob(kind, outcome string) { r.add(kind + " " + outcome) }
func (r *recorder) BulkResources(kind, outcome string, n int64) {
	r.add(fmt.Sprintf("%s %s %d", kind, outcome, n))
}
func (r *recorder) add(s string) { r.mu.Lock(); r.events = append(r.events, s); r.mu.Unlock() }

// Bulk jobs report their kick-off, their end and their resources by
// outcome, for mekong_bulk_jobs_total and mekong_bulk_resources_total.
func TestBulkJobsAreObserved(t *testing.T) {
	rec := &recorder{}
	a := newBulkAPI(t, storetest.Backends()[0].Open(t), bulk.Config{Observer: rec})
	a.importNDJSON(bulkInput)
	a.work()
	a.want(a.do("GET", "/$export?_type=Patient", "", "Prefer", async), http.StatusAccepted)
	a.work()
	loc := a.want(a.do("GET", "/$export", "", "Prefer", async), http.StatusAccepted).header.Get("Content-Location")
	a.want(a.do("DELETE", loc, ""), http.StatusAccepted)
	want := []string{"import accepted", "import completed", "import imported 5", "import rejected 1",
		"export accepted", "export completed", "export exported 2", "export accepted", "export cancelled"}
	if strings.Join(rec.events, ", ") != strings.Join(want, ", ") {
		t.Errorf("observed %q\nwant     %q", rec.events, want)
	}
}

// The audit writer keeps as many commits in flight as the store can use:
// one on SQLite (one writer connection), two on PostgreSQL.
func TestAuditCommitsFollowTheStore(t *testing.T) {
	for _, b := range storetest.Backends() {
		st := b.Open(t)
		s := server.New(server.Config{}, rest.New(st, parser, registry), st, slog.New(slog.NewJSONHandler(io.Discard, nil)))
		want := map[string]int{"sqlite": 1, "postgres": 2}[b.Name]
		if got := s.AuditWriter().Commits; got != want {
			t.Errorf("%s: %d audit commits in flight, want %d", b.Name, got, want)
		}
	}
}
