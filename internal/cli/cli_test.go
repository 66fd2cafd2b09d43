package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/internal/store/sqlite"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveURL waits for the "mekong serving" log line and returns its url.
func serveURL(t *testing.T, logs *lockedBuffer) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct{ Msg, URL string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "mekong serving" {
				return rec.URL
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server did not start; logs:\n%s", logs.String())
	return ""
}

// SIGTERM (here: the context) lets an in-flight request finish and be stored,
// then serve returns cleanly. Flags come from MEKONG_* variables.
func TestServeShutsDownGracefully(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "m.db")
	t.Setenv("MEKONG_ADDR", "127.0.0.1:0")
	t.Setenv("MEKONG_DB", "sqlite:"+dbPath)
	t.Setenv("MEKONG_DEV", "true")
	t.Setenv("MEKONG_DATA_DIR", t.TempDir())
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	logs, stdout := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- root(stdout, logs).Run(ctx, []string{"mekong", "serve"}) }()
	base := serveURL(t, logs)
	token := devToken(t, stdout.String())

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", base+"/Patient/inflight", pr)
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+token)
	status := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			status <- 0
			return
		}
		res.Body.Close()
		status <- res.StatusCode
	}()
	io.WriteString(pw, `{"resourceType":"Patient",`)
	time.Sleep(200 * time.Millisecond) // the request is now in flight
	stop()
	time.Sleep(200 * time.Millisecond)
	io.WriteString(pw, `"id":"inflight"}`)
	pw.Close()
	if s := <-status; s != http.StatusCreated {
		t.Fatalf("in-flight request got %d, want 201", s)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Fatalf("logs: %s", logs.String())
	}
	db, err := backend.Open(context.Background(), "sqlite:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Read(context.Background(), "Patient", "inflight"); err != nil {
		t.Fatalf("in-flight write not stored: %v", err)
	}
}

func TestMigrateAndVersion(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	// Every migration file on the first run, none on the second.
	files, _ := fs.Glob(sqlite.Dialect().Migrations, "*.sql")
	for _, want := range []string{fmt.Sprintf(`"applied":%d`, len(files)), `"applied":0`} {
		logs := &lockedBuffer{}
		if err := root(io.Discard, logs).Run(context.Background(), []string{"mekong", "migrate", "--db", db}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("migrate logs %s, want %s", logs.String(), want)
		}
	}
	var out bytes.Buffer
	if err := root(&out, io.Discard).Run(context.Background(), []string{"mekong", "version"}); err != nil || !strings.HasPrefix(out.String(), "mekong ") {
		t.Fatalf("version: %q %v", out.String(), err)
	}
	err := root(io.Discard, io.Discard).Run(context.Background(), []string{"mekong", "migrate", "--db", "mysql://u:hunter2@h/db"})
	if err == nil || !strings.Contains(err.Error(), "sqlite:PATH") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("bad URL error %v", err)
	}
}
