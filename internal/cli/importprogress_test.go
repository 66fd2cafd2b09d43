package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Issue 14 item 13: progress is in resources, with rate and ETA, per file
// and for the job; a file's count starts at zero.
func TestImportProgressSnapshot(t *testing.T) {
	began := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	p := &importProgress{files: []string{"load.ndjson.gz", "more.ndjson"}, totals: make([]atomic.Int64, 2), began: began, curBegan: began}
	p.totals[0].Store(14423)
	p.totals[1].Store(5577)
	p.add(6000, 3)
	got := p.snapshot(began.Add(2 * time.Second)).String()
	want := "load.ndjson.gz 1/2: 6,000/14,423 resources, 3,000/s, ETA 3s | job 6,000/20,000, ETA 5s | 3 rejected"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	p.add(8423, 0)
	p.startFile(1, began.Add(5*time.Second))
	p.add(1, 0)
	s := p.snapshot(began.Add(6 * time.Second))
	if s.Done != 1 || s.Total != 5577 || s.Rejected != 0 || s.JobDone != 14424 || s.JobRejected != 3 {
		t.Errorf("second file: %+v", s)
	}
	if got := s.String(); !strings.HasPrefix(got, "more.ndjson 2/2: 1/5,577 resources, 1/s, ETA 1h32m56s | job 14,424/20,000") {
		t.Errorf("second file: %s", got)
	}
	p.totals[1].Store(-1) // still counting: no total, no ETA
	if got := p.snapshot(began.Add(6 * time.Second)).String(); !strings.HasPrefix(got, "more.ndjson 2/2: 1 resource, 1/s, ETA ? | job 14,424, ETA ?") {
		t.Errorf("while counting: %s", got)
	}
}

// On a terminal the bar shows the file's resources out of its total.
func TestImportProgressBar(t *testing.T) {
	var out bytes.Buffer
	dir := t.TempDir()
	f := filepath.Join(dir, "a.ndjson")
	os.WriteFile(f, []byte("{}\n{}\n{}\n{}\n"), 0o644)
	p := newImportProgress(t.Context(), []string{f}, time.Now())
	for p.totals[0].Load() < 0 {
		time.Sleep(time.Millisecond)
	}
	r := p.reporter(&out, slog.New(slog.DiscardHandler), true)
	p.add(4, 1)
	r.update()
	r.stop()
	if s := out.String(); !strings.Contains(s, "4/4 resources") || !strings.Contains(s, "100%") || !strings.Contains(s, "1 rejected") {
		t.Errorf("bar output %q", s)
	}
}

// Off a terminal each file ends with a log line of its own counts, not the
// job's so far.
func TestImportLogsResourcesPerFile(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ndjson")
	os.WriteFile(a, []byte(cliInput), 0o644) // 3 resources, 1 bad line
	b := filepath.Join(dir, "b.ndjson.gz")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"resourceType":"Patient","id":"p2"}` + "\n\n" + `{"resourceType":"Patient","id":"p3"}`))
	zw.Close()
	os.WriteFile(b, gz.Bytes(), 0o644)
	logs, _ := runMekong(t, &bytes.Buffer{}, "import", "--db", "sqlite:"+filepath.Join(dir, "m.db"), a, b)
	var done []map[string]any
	for _, line := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "import file done" {
			done = append(done, rec)
		}
	}
	if len(done) != 2 {
		t.Fatalf("want 2 'import file done' lines:\n%s", logs)
	}
	for i, want := range []struct{ file, resources, rejected, job float64 }{{1, 4, 1, 4}, {2, 2, 0, 6}} {
		r := done[i]
		if r["file_index"] != want.file || r["resources"] != want.resources || r["of_resources"] != want.resources ||
			r["rejected"] != want.rejected || r["job_resources"] != want.job {
			t.Errorf("file %d: %v", i+1, r)
		}
	}
}
