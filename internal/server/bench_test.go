package server_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// benchObservation is a typical screening result (~1 KB), the most common write.
const benchObservation = `{"resourceType":"Observation","id":"%s","status":"final",
 "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
 "code":{"coding":[{"system":"http://loinc.org","code":"94500-6","display":"SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA with probe detection"}]},
 "subject":{"reference":"Patient/p-%s"},"effectiveDateTime":"2026-03-14T09:30:00+07:00","issued":"2026-03-14T15:00:00+07:00",
 "performer":[{"reference":"Organization/th-hosp-10669"}],
 "valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009","display":"Negative"}]},
 "identifier":[{"system":"urn:oid:2.16.764.1.1","value":"LAB-%s"}]}`

// handler serves requests in-process: the benchmark measures Mekong, not the loopback.
func benchHandler(b *testing.B, backend storetest.Backend) http.Handler {
	st := backend.Open(b)
	svc := rest.New(st, parser, registry)
	return server.New(server.Config{}, svc, st, slog.New(slog.NewJSONHandler(io.Discard, nil)))
}

func serve(b *testing.B, h http.Handler, method, path string, body []byte, want int) {
	req := httptest.NewRequest(method, "http://bench/fhir"+path, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.Bytes())
	}
}

func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "resources/s")
}

// BenchmarkCreate, BenchmarkRead and BenchmarkUpdate run one client ("serial")
// and GOMAXPROCS×4 concurrent clients ("parallel") on each store.
func BenchmarkCreate(b *testing.B) {
	for _, backend := range storetest.Backends() {
		for _, mode := range []string{"serial", "parallel"} {
			b.Run(backend.Name+"/"+mode, func(b *testing.B) {
				h := benchHandler(b, backend)
				var n atomic.Int64
				body := func() []byte {
					i := fmt.Sprint(n.Add(1))
					return []byte(fmt.Sprintf(benchObservation, "ignored", i, i))
				}
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				run(b, mode, func() { serve(b, h, "POST", "/Observation", body(), 201) })
				reportRate(b, start)
			})
		}
	}
}

func BenchmarkRead(b *testing.B) {
	for _, backend := range storetest.Backends() {
		for _, mode := range []string{"serial", "parallel"} {
			b.Run(backend.Name+"/"+mode, func(b *testing.B) {
				h := benchHandler(b, backend)
				const stock = 1000
				for i := 0; i < stock; i++ {
					id := fmt.Sprintf("o%d", i)
					serve(b, h, "PUT", "/Observation/"+id, []byte(fmt.Sprintf(benchObservation, id, id, id)), 201)
				}
				var n atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				run(b, mode, func() { serve(b, h, "GET", fmt.Sprintf("/Observation/o%d", n.Add(1)%stock), nil, 200) })
				reportRate(b, start)
			})
		}
	}
}

// BenchmarkReadAudited is BenchmarkRead by an authenticated clinic: each
// read's PatientRead AuditEvent (user, client, organization, purpose of use)
// is committed, by group commit, before the response
// (https://profiles.ihe.net/ITI/BALP/StructureDefinition-IHE.BasicAudit.PatientRead.html).
// It reports how many AuditEvents shared one transaction.
func BenchmarkReadAudited(b *testing.B) {
	for _, backend := range storetest.Backends() {
		for _, mode := range []string{"serial", "parallel"} {
			b.Run(backend.Name+"/"+mode, func(b *testing.B) {
				st := backend.Open(b)
				srv := server.New(server.Config{}, rest.New(st, parser, registry), st, slog.New(slog.NewJSONHandler(io.Discard, nil)))
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					srv.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), clinic)))
				})
				const stock = 1000
				for i := 0; i < stock; i++ {
					id := fmt.Sprintf("o%d", i)
					serve(b, h, "PUT", "/Observation/"+id, []byte(fmt.Sprintf(benchObservation, id, id, id)), 201)
				}
				batches0, events0 := srv.AuditStats()
				var n atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				run(b, mode, func() { serve(b, h, "GET", fmt.Sprintf("/Observation/o%d", n.Add(1)%stock), nil, 200) })
				reportRate(b, start)
				batches, events := srv.AuditStats()
				if events-events0 < int64(b.N) {
					b.Fatalf("%d reads but %d AuditEvents", b.N, events-events0)
				}
				b.ReportMetric(float64(events-events0)/float64(max(1, batches-batches0)), "events/commit")
			})
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	for _, backend := range storetest.Backends() {
		for _, mode := range []string{"serial", "parallel"} {
			b.Run(backend.Name+"/"+mode, func(b *testing.B) {
				h := benchHandler(b, backend)
				const stock = 200 // updates spread over many resources, as in real traffic
				bodies := make([][]byte, stock)
				for i := range bodies {
					id := fmt.Sprintf("u%d", i)
					bodies[i] = []byte(fmt.Sprintf(benchObservation, id, id, id))
					serve(b, h, "PUT", "/Observation/"+id, bodies[i], 201)
				}
				var n atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				run(b, mode, func() {
					i := n.Add(1) % stock
					serve(b, h, "PUT", fmt.Sprintf("/Observation/u%d", i), bodies[i], 200)
				})
				reportRate(b, start)
			})
		}
	}
}

func run(b *testing.B, mode string, op func()) {
	if mode == "serial" {
		for i := 0; i < b.N; i++ {
			op()
		}
		return
	}
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op()
		}
	})
}
