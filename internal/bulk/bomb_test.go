package bulk_test

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
)

// TestImportInputBounds: a gzip input may expand only so far, a line only
// so long (issue 14 item 9). The lines before the problem are stored, the
// problem is the input's last error line, and nothing fails as a whole.
func TestImportInputBounds(t *testing.T) {
	gzipped := func(parts ...string) []byte {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		for _, p := range parts {
			w.Write([]byte(p))
		}
		w.Close()
		return b.Bytes()
	}
	good := `{"resourceType":"Patient","id":"p1"}` + "\n"
	eachStore(t, func(t *testing.T, db *sqlstore.DB, svc *rest.Service) {
		// 64 MiB of newlines after one good line, under a 1 MiB bound.
		bomb := gzipped(good, strings.Repeat("\n", 64<<20))
		if len(bomb) > 1<<20 {
			t.Fatalf("bomb is %d bytes", len(bomb))
		}
		im := &bulk.Importer{Svc: svc, Store: db, MaxUncompressed: 1 << 20}
		counts, errs := importAll(t, im, "bomb.ndjson.gz", bytes.NewReader(bomb))
		if counts["Patient"].Created != 1 || len(errs) != 1 || !strings.Contains(errs[0], `"code":"too-long"`) ||
			!strings.Contains(errs[0], "bomb.ndjson.gz line ") || !strings.Contains(errs[0], "expands to more than 1048576 bytes") {
			t.Errorf("bomb: counts %v, errors %q", counts, errs)
		}

		// One line longer than any resource (16 MiB).
		im = &bulk.Importer{Svc: svc, Store: db}
		counts, errs = importAll(t, im, "long.ndjson.gz", bytes.NewReader(gzipped(good, `{"resourceType":"Patient","text":"`+strings.Repeat("a", 17<<20))))
		if len(errs) != 1 || !strings.Contains(errs[0], "long.ndjson.gz line 2: the line is longer than") || counts["Patient"].Total() != 1 {
			t.Errorf("long line: counts %v, errors %.300q", counts, errs)
		}

		// Not gzip after all, and a gzip stream cut short.
		_, errs = importAll(t, im, "bad.gz", bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}))
		if len(errs) != 1 || !strings.Contains(errs[0], "gzip") {
			t.Errorf("bad gzip header: %q", errs)
		}
		cut := gzipped(good, good, strings.Repeat(good, 100))
		_, errs = importAll(t, im, "cut.gz", bytes.NewReader(cut[:len(cut)-12]))
		if len(errs) != 1 || !strings.Contains(errs[0], "gzip stream is corrupt") {
			t.Errorf("cut gzip: %q", errs)
		}
	})
}
