package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type api struct {
	t     testing.TB
	srv   *httptest.Server
	base  string
	store store.Store
	logs  *bytes.Buffer
}

var parser = func() *resource.Parser {
	p, err := resource.NewParser()
	if err != nil {
		panic(err)
	}
	return p
}()

// registry is built once: compiling every parameter's FHIRPath is start-up work.
var registry = func() *search.Registry {
	r, err := search.NewRegistry([]string{"Patient", "Immunization", "Observation"}, time.FixedZone("UTC+07:00", 7*3600))
	if err != nil {
		panic(err)
	}
	return r
}()

// newAPI serves st; opts configure the service (e.g. its IPS options).
func newAPI(t *testing.T, st store.Store, cfg server.Config, opts ...func(*rest.Service)) *api {
	t.Helper()
	svc := rest.New(st, parser, registry)
	for _, o := range opts {
		o(svc)
	}
	return newAPIWith(t, st, svc, cfg)
}

// newAPIWith serves svc, for tests that configure the service.
func newAPIWith(t testing.TB, st store.Store, svc *rest.Service, cfg server.Config) *api {
	t.Helper()
	logs := &bytes.Buffer{}
	h := server.New(cfg, svc, st, slog.New(slog.NewJSONHandler(&syncWriter{w: logs}, nil)))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &api{t: t, srv: srv, base: srv.URL + "/fhir", store: st, logs: logs}
}

// eachStore runs fn against a fresh API on every backend.
func eachStore(t *testing.T, fn func(t *testing.T, a *api)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, newAPI(t, b.Open(t), server.Config{}))
		})
	}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.body)
	}
	return m
}

// issue returns the first OperationOutcome issue.
func (r resp) issue(t testing.TB) map[string]any {
	t.Helper()
	m := r.json(t)
	if m["resourceType"] != "OperationOutcome" {
		t.Fatalf("want OperationOutcome, got %s", r.body)
	}
	return m["issue"].([]any)[0].(map[string]any)
}

func (a *api) do(method, path string, body string, headers ...string) resp {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = a.base + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (a *api) want(r resp, status int) resp {
	a.t.Helper()
	if r.status != status {
		a.t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	return r
}

var logMu sync.Mutex

type syncWriter struct {
	w io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return s.w.Write(p)
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
