package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// logURL waits for a log line with msg and returns its url.
func logURL(t *testing.T, logs *lockedBuffer, msg string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct{ Msg, URL string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
				return rec.URL
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q log line:\n%s", msg, logs.String())
	return ""
}

// devServe runs serve --dev on a free port with its own data directory and
// database, plus args; stop ends it and returns serve's error.
func devServe(t *testing.T, args ...string) (base, token string, logs *lockedBuffer, stop func() error) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logs, stdout := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- root(stdout, logs).Run(ctx, append([]string{"mekong", "serve", "--dev", "--addr", "127.0.0.1:0",
			"--data-dir", dir, "--db", "sqlite:" + filepath.Join(dir, "m.db")}, args...))
	}()
	base = serveURL(t, logs)
	return base, devToken(t, stdout.String()), logs, func() error { cancel(); return <-done }
}

// --metrics-addr serves /metrics without a token on its own address; on the
// API's address /metrics needs the mekong/metrics scope, which the --dev
// token carries.
func TestServeMetricsAddr(t *testing.T) {
	base, token, logs, stop := devServe(t, "--metrics-addr", "127.0.0.1:0")
	metricsURL := logURL(t, logs, "metrics served")
	get := func(url, token string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	get(base+"/Patient", token)
	status, body := get(metricsURL, "")
	if status != 200 || !strings.Contains(body, `mekong_http_requests_total{interaction="search-type",operation="",status_class="2xx",type="Patient"} 1`) ||
		!strings.Contains(body, `go_sql_open_connections{db_name="writer"}`) {
		t.Fatalf("--metrics-addr: %d\n%.2000s", status, body)
	}
	if status, _ := get(strings.TrimSuffix(base, "/fhir")+"/metrics", ""); status != 401 {
		t.Errorf("/metrics on the API's address without a token: %d", status)
	}
	if status, _ := get(strings.TrimSuffix(base, "/fhir")+"/metrics", token); status != 200 {
		t.Errorf("/metrics on the API's address with the dev token: %d", status)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// --otlp-endpoint sends the request spans over OTLP/HTTP (protobuf to
// /v1/traces), flushed at shutdown, without the ids of the URLs.
func TestServeOTLPTraces(t *testing.T) {
	got := make(chan []byte, 16)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" {
			got <- b
		}
	}))
	defer collector.Close()
	base, token, _, stop := devServe(t, "--otlp-endpoint", collector.URL)
	req, _ := http.NewRequest("GET", base+"/Patient/pt-otlp-91c2", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !bytes.Contains(b, []byte("fhir.interaction")) || !bytes.Contains(b, []byte("/fhir/:type/:id")) {
			t.Errorf("the exported spans lack the FHIR attributes: %q", b)
		}
		if bytes.Contains(b, []byte("pt-otlp-91c2")) {
			t.Errorf("the exported spans carry the id")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no spans reached the collector")
	}
}
