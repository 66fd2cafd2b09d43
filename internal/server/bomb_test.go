package server_test

// Decompression bombs (issue 14 item 9): a 3 MB ZIP of 12 entries of 250 MB
// of zeros once took a node from 90 MB to 4.2 GB. What a payload expands to
// is bounded by configuration, across all its entries; entries that are not
// mapped files are never decompressed.

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// zeros is the raw deflate stream of 250 MB of zeros (about 320 kB) and its
// CRC, computed once.
var zeros = sync.OnceValues(func() ([]byte, uint32) {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	block := make([]byte, 1<<20)
	crc := uint32(0)
	for range 250 {
		w.Write(block)
		crc = crc32.Update(crc, crc32.IEEETable, block)
	}
	w.Close()
	return b.Bytes(), crc
})

// bombZip builds a ZIP whose entries are each 250 MB of zeros, deflated,
// declaring declared bytes uncompressed (250 MB when honest), plus extra
// entries given in full.
func bombZip(t *testing.T, names []string, declared uint64, extra map[string]string) []byte {
	t.Helper()
	raw, crc := zeros()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: n, Method: zip.Deflate, CRC32: crc,
			CompressedSize64: uint64(len(raw)), UncompressedSize64: declared})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(raw)
	}
	for n, data := range extra {
		w, _ := zw.Create(n)
		w.Write([]byte(data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// allocated runs fn and returns the bytes the process allocated meanwhile
// (the server runs in this process).
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDecompressionBombs(t *testing.T) {
	a := newAPI(t, storetest.OpenSQLite(t), server.Config{})
	person, err := os.ReadFile(filepath.Join(th43SampleDir, "PERSON.txt"))
	if err != nil {
		t.Fatal(err)
	}
	twelve := func(f func(i int) string) []string {
		out := make([]string, 12)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	const bound = 64 << 20 // far below the 3 GB the entries expand to
	cases := []struct {
		name   string
		zip    []byte
		status int
		says   string
	}{
		{"12 × 250 MB named as 43 files", bombZip(t, twelve(func(i int) string { return fmt.Sprintf("h%02d/PERSON.txt", i) }), 250<<20, nil),
			413, "expands to more than 268435456 bytes"},
		{"12 × 250 MB declared as 100 bytes", bombZip(t, twelve(func(i int) string { return fmt.Sprintf("h%02d/LABFU.txt", i) }), 100, nil),
			200, "not a readable ZIP archive"},
		{"12 × 250 MB of other files", bombZip(t, twelve(func(i int) string { return fmt.Sprintf("zeros-%02d.bin", i) }), 250<<20, nil),
			400, "holds none of PERSON, EPI, LABFU and SPECIALPP (found: zeros-00.bin"},
		{"12 × 250 MB of other files beside a PERSON file", bombZip(t, twelve(func(i int) string { return fmt.Sprintf("zeros-%02d.bin", i) }), 250<<20, map[string]string{"PERSON.txt": string(person)}),
			200, "zeros-09.bin and 2 more"},
	}
	for _, tc := range cases {
		for _, op := range []string{"convert", "ingest"} {
			if len(tc.zip) > 5<<20 {
				t.Fatalf("%s: the bomb is %d bytes on the wire", tc.name, len(tc.zip))
			}
			var r resp
			got := allocated(func() {
				r = a.do("POST", "/$"+op+"?format=th43", string(tc.zip), "Content-Type", "application/zip")
			})
			if r.status != tc.status || !strings.Contains(string(r.body), tc.says) || !strings.Contains(string(r.body), "OperationOutcome") {
				t.Errorf("%s, $%s: %d %.400s", tc.name, op, r.status, r.body)
			}
			if got > bound {
				t.Errorf("%s, $%s: the server allocated %d MB", tc.name, op, got>>20)
			}
			t.Logf("%s, $%s: %d, %d kB on the wire, %.1f MB allocated", tc.name, op, r.status, len(tc.zip)>>10, float64(got)/(1<<20))
		}
	}

	// The same bomb as a file of a multipart upload.
	body, ct := multipartFiles(t, map[string]string{"export.zip": string(cases[0].zip)})
	var r resp
	got := allocated(func() { r = a.do("POST", "/$convert?format=th43", body, "Content-Type", ct) })
	if r.status != http.StatusRequestEntityTooLarge || got > bound {
		t.Errorf("multipart bomb: %d after allocating %d MB: %.300s", r.status, got>>20, r.body)
	}
	// Thousands of tiny parts.
	files := map[string]string{}
	for i := range 101 {
		files[fmt.Sprintf("f%03d.txt", i)] = "x"
	}
	body, ct = multipartFiles(t, files)
	a.want(a.do("POST", "/$convert?format=th43", body, "Content-Type", ct), http.StatusRequestEntityTooLarge)
	// The server is fine afterwards.
	a.want(a.do("GET", "/metadata", ""), 200)
}
