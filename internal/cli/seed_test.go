package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/internal/seed"
	"github.com/mekong-fhir/mekong/internal/store"
)

type seeded struct{ typ, id string }

// wantSeed returns what seed.Generate emits, as NDJSON and as a list.
func wantSeed(t *testing.T, cfg seed.Config) (string, []seeded) {
	t.Helper()
	var b strings.Builder
	var list []seeded
	err := seed.Generate(cfg, func(typ, id string, body []byte) error {
		b.Write(body)
		b.WriteByte('\n')
		list = append(list, seeded{typ, id})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), list
}

func runMekong(t *testing.T, stdout io.Writer, args ...string) (string, error) {
	t.Helper()
	logs := &lockedBuffer{}
	err := root(stdout, logs).Run(context.Background(), append([]string{"mekong"}, args...))
	return logs.String(), err
}

// `mekong seed` prints the generator's NDJSON, or writes it to a file,
// gzip-compressed for .gz, and logs a summary on stderr.
func TestSeedWritesNDJSON(t *testing.T) {
	want, _ := wantSeed(t, seed.Config{Patients: 5, Seed: 9})
	var stdout bytes.Buffer
	logs, err := runMekong(t, &stdout, "seed", "--patients", "5", "--seed", "9")
	if err != nil {
		t.Fatal(err)
	}
	if stdout.String() != want {
		t.Fatalf("stdout differs from seed.Generate:\n%.400s", stdout.String())
	}
	if !strings.Contains(logs, `"msg":"seed done"`) || !strings.Contains(logs, `"patients":5`) {
		t.Fatalf("no summary in logs:\n%s", logs)
	}

	dir := t.TempDir()
	gzPath, plain := filepath.Join(dir, "m.ndjson.gz"), filepath.Join(dir, "m.ndjson")
	if _, err := runMekong(t, io.Discard, "seed", "--patients", "5", "--seed", "9", "--out", gzPath); err != nil {
		t.Fatal(err)
	}
	if _, err := runMekong(t, io.Discard, "seed", "--patients", "5", "--seed", "9", "--out", plain); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(gzPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	plainGot, _ := os.ReadFile(plain)
	if string(got) != want || string(plainGot) != want {
		t.Fatal("file output differs from seed.Generate")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

// --out to something that is not a regular file (a FIFO or a device such as
// /dev/null, a symlink) writes through it and leaves it in place: the
// write-then-rename of regular files would replace it with a plain file.
func TestSeedWritesThroughFIFOAndSymlink(t *testing.T) {
	want, _ := wantSeed(t, seed.Config{Patients: 3, Seed: 4})
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- b
	}()
	if _, err := runMekong(t, io.Discard, "seed", "--patients", "3", "--seed", "4", "--out", fifo); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != want {
		t.Fatalf("read %d bytes from the FIFO, want %d", len(b), len(want))
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced: %v %v", fi.Mode(), err)
	}

	target, link := filepath.Join(dir, "target.ndjson"), filepath.Join(dir, "link.ndjson")
	os.WriteFile(target, bytes.Repeat([]byte("stale "), len(want)), 0o644) // longer than the records
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := runMekong(t, io.Discard, "seed", "--patients", "3", "--seed", "4", "--out", link); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced")
	}
	if b, _ := os.ReadFile(target); string(b) != want {
		t.Fatal("the symlink's target does not hold exactly the records")
	}
}

func TestSeedRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"seed"},
		{"seed", "--patients", "0"},
		{"seed", "--patients", "3", "--workers", "0"},
		{"seed", "--patients", "3", "--out", "x.ndjson", "--to-db"},
	} {
		if _, err := runMekong(t, io.Discard, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// --to-db writes every generated resource through the REST service; a re-run
// with the same seed PUTs the same ids, so it adds a version to each
// resource and creates none.
func TestSeedIntoDatabaseIsIdempotent(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	_, want := wantSeed(t, seed.Config{Patients: 20, Seed: 3})
	perType := map[string]int{}
	for _, r := range want {
		perType[r.typ]++
	}
	for run := int64(1); run <= 2; run++ {
		if logs, err := runMekong(t, io.Discard, "seed", "--patients", "20", "--seed", "3", "--to-db", "--db", dbURL, "--workers", "4"); err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, logs)
		}
		db, err := backend.Open(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range want {
			v, err := db.Read(context.Background(), r.typ, r.id)
			if err != nil {
				t.Fatalf("run %d: read %s/%s: %v", run, r.typ, r.id, err)
			}
			if v.VersionID != run {
				t.Fatalf("run %d: %s/%s is at version %d", run, r.typ, r.id, v.VersionID)
			}
		}
		for typ, n := range perType {
			page, err := db.History(context.Background(), store.HistoryQuery{Type: typ, Count: 100000})
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, v := range page.Versions {
				ids[v.ID] = true
			}
			if len(ids) != n || len(page.Versions) != n*int(run) {
				t.Fatalf("run %d: %s has %d resources in %d versions, want %d in %d", run, typ, len(ids), len(page.Versions), n, n*int(run))
			}
		}
		db.Close()
	}
}
