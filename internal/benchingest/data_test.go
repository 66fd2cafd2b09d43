package benchingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/uuid"

	"github.com/mekong-fhir/mekong/internal/seed"
)

// maxEntries is the size of a generated transaction Bundle: whole patients
// (a Patient with its Observations and Immunizations, ~14 resources) are
// added while they fit, so no reference crosses two Bundles.
const maxEntries = 100

var errEnough = errors.New("enough")

// resourceIn is one generated resource without its id, as a client creating
// it would send it.
type resourceIn struct {
	typ  string
	body []byte
}

// seedResources generates about n resources (whole patients) with a seed
// unique to the caller, so repeated runs never send identical data.
func seedResources(tb testing.TB, n int, seedNo int64, emit func(typ, id string, body []byte)) {
	tb.Helper()
	count := 0
	err := seed.Generate(seed.Config{Patients: seed.MaxPatients, Seed: seedNo}, func(typ, id string, js []byte) error {
		if typ == "Patient" && count >= n {
			return errEnough
		}
		count++
		emit(typ, id, bytes.Clone(js))
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		tb.Fatal(err)
	}
}

// withoutID drops the resource's own id: a create's id is the server's.
func withoutID(body []byte, id string) []byte {
	return bytes.Replace(body, []byte(`"id":"`+id+`",`), nil, 1)
}

// urn is the fullUrl a client gives a generated resource inside a Bundle.
func urn(id string) string {
	return "urn:uuid:" + uuid.NewSHA1(uuid.NameSpaceURL, []byte(id)).String()
}

type entry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
}

// seedBundles builds n transaction Bundles of POSTs, each patient's records
// referring to it by its urn:uuid fullUrl, and returns them with the number
// of resources they hold.
func seedBundles(tb testing.TB, n int, seedNo int64) ([][]byte, int) {
	tb.Helper()
	var (
		bundles [][]byte
		cur     []entry
		group   []entry
		total   int
	)
	closeBundle := func() {
		raw, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": cur})
		if err != nil {
			tb.Fatal(err)
		}
		bundles = append(bundles, raw)
		total += len(cur)
		cur = nil
	}
	addGroup := func() {
		if len(cur)+len(group) > maxEntries {
			closeBundle()
		}
		cur = append(cur, group...)
		group = nil
	}
	var patientRef, patientURN string
	seedResources(tb, n*maxEntries, seedNo, func(typ, id string, body []byte) {
		if typ == "Patient" {
			addGroup()
			patientRef, patientURN = `"reference":"Patient/`+id+`"`, urn(id)
		}
		body = withoutID(body, id)
		body = bytes.ReplaceAll(body, []byte(patientRef), []byte(`"reference":"`+patientURN+`"`))
		e := entry{FullURL: urn(id), Resource: body}
		e.Request.Method, e.Request.URL = "POST", typ
		group = append(group, e)
	})
	addGroup()
	if len(cur) > 0 {
		closeBundle()
	}
	if len(bundles) < n {
		tb.Fatalf("generated %d Bundles, want %d", len(bundles), n)
	}
	// The last Bundles may be short; keep exactly n, recounting.
	total = 0
	for _, b := range bundles[:n] {
		var in struct{ Entry []json.RawMessage }
		json.Unmarshal(b, &in)
		total += len(in.Entry)
	}
	return bundles[:n], total
}

// seedPosts returns n single resources to POST.
func seedPosts(tb testing.TB, n int, seedNo int64) []resourceIn {
	out := make([]resourceIn, 0, n+16)
	seedResources(tb, n, seedNo, func(typ, id string, body []byte) {
		out = append(out, resourceIn{typ: typ, body: withoutID(body, id)})
	})
	return out[:min(n, len(out))]
}

// syntheaDir holds the 100 Synthea transaction Bundles
// (../shared/data/synthea-r4 beside the repository).
func syntheaDir() string {
	if d := os.Getenv("MEKONG_SYNTHEA_DIR"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data", "synthea-r4")
}

// syntheaBundles reads every Synthea Bundle and counts its entries.
func syntheaBundles(tb testing.TB) ([][]byte, int) {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(syntheaDir(), "bundle-*.json"))
	if len(files) == 0 {
		tb.Skipf("no Synthea Bundles in %s", syntheaDir())
	}
	var out [][]byte
	total := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var in struct{ Entry []json.RawMessage }
		if err := json.Unmarshal(raw, &in); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		out = append(out, raw)
		total += len(in.Entry)
	}
	return out, total
}
