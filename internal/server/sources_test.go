package server_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"mime/multipart"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
	"github.com/mekong-fhir/mekong/mappings/mappingtest"
)

// samples are the source payloads shipped with the mappings.
func sample(t *testing.T, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", "..", "mappings"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// th43Zip packs the 43-file sample as the ZIP the MoPH tools produce.
func th43Zip(t *testing.T, dir string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	sort.Strings(names)
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(filepath.Base(n))
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

var th43SampleDir = filepath.Join("..", "..", "mappings", "th43", "testdata", "sample")

// multipartFiles builds a multipart/form-data body with one file part per name.
func multipartFiles(t *testing.T, files map[string]string) (body, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := mw.CreateFormFile("file", n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(files[n]))
	}
	mw.Close()
	return buf.String(), mw.FormDataContentType()
}

// payload is one sample in one format, as a client would send it.
type payload struct {
	format, body, contentType string
}

func samplePayloads(t *testing.T) map[string]payload {
	files := map[string]string{}
	for _, n := range []string{"PERSON.txt", "EPI.txt", "LABFU.txt", "SPECIALPP.txt"} {
		b, err := os.ReadFile(filepath.Join(th43SampleDir, n))
		if err != nil {
			t.Fatal(err)
		}
		files[n] = string(b)
	}
	mpBody, mpType := multipartFiles(t, files)
	return map[string]payload{
		"iom-csv":        {"iom-csv", sample(t, "iom", "testdata", "sample.csv"), "text/csv"},
		"iom-json":       {"iom-json", sample(t, "iom", "testdata", "sample.json"), "application/json"},
		"th43":           {"th43", th43Zip(t, th43SampleDir), "application/zip"},
		"th43-multipart": {"th43", mpBody, mpType},
		"dhis2":          {"dhis2", sample(t, "dhis2", "testdata", "sample.json"), "application/json"},
	}
}

func (a *api) send(op string, p payload) resp {
	a.t.Helper()
	return a.do("POST", "/$"+op+"?format="+p.format, p.body, "Content-Type", p.contentType)
}

// convertBundles splits a $convert answer into its transaction Bundles and
// the closing OperationOutcome.
func convertBundles(t *testing.T, r resp) ([]json.RawMessage, map[string]any) {
	t.Helper()
	var b struct {
		Type  string `json:"type"`
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil || b.Type != "collection" || len(b.Entry) == 0 {
		t.Fatalf("not a collection Bundle (%v): %.300s", err, r.body)
	}
	var oo map[string]any
	if err := json.Unmarshal(b.Entry[len(b.Entry)-1].Resource, &oo); err != nil || oo["resourceType"] != "OperationOutcome" {
		t.Fatalf("last entry is not an OperationOutcome: %s", b.Entry[len(b.Entry)-1].Resource)
	}
	var txs []json.RawMessage
	for _, e := range b.Entry[:len(b.Entry)-1] {
		txs = append(txs, e.Resource)
	}
	return txs, oo
}

// https://hl7.org/fhir/R4/operations.html (a system-level operation) and
// https://hl7.org/fhir/R4/bundle.html#bundle-unique (collection Bundles
// holding Bundles): $convert answers one transaction Bundle per person,
// each valid R4 and meeting the profiles it declares, plus the report, and
// stores nothing. Golden files: go test ./internal/server -run TestConvert -update.
func TestConvert(t *testing.T) {
	a := newAPI(t, storetestSQLite(t), serverConfig())
	for name, p := range samplePayloads(t) {
		t.Run(name, func(t *testing.T) {
			r := a.want(a.send("convert", p), 200)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
				t.Errorf("Content-Type %q", ct)
			}
			txs, _ := convertBundles(t, r)
			profiled := 0
			for _, tx := range txs {
				profiled += mappingtest.CheckBundle(t, tx)
			}
			if len(txs) == 0 || profiled == 0 {
				t.Fatalf("%d persons, %d profiled resources", len(txs), profiled)
			}
			golden := name
			if name == "th43-multipart" {
				golden = "th43" // the same files, sent another way: the same FHIR
			}
			var pretty bytes.Buffer
			json.Indent(&pretty, r.body, "", "  ")
			mappingtest.Golden(t, filepath.Join("testdata", "convert", golden+".json"), append(pretty.Bytes(), '\n'))
		})
	}
	if n := total(t, a, "/Patient?_summary=count"); n != 0 {
		t.Errorf("$convert stored %d Patients", n)
	}
}

// https://hl7.org/fhir/R4/operations.html#executing: a missing or unknown
// parameter value is a 400 whose OperationOutcome names it.
func TestConvertRefusesFormat(t *testing.T) {
	a := newAPI(t, storetestSQLite(t), serverConfig())
	for _, path := range []string{"/$convert", "/$convert?format=hl7v2", "/$ingest?format=csv"} {
		r := a.want(a.do("POST", path, "a,b\n1,2\n", "Content-Type", "text/csv"), 400)
		if is := r.issue(t); is["expression"].([]any)[0] != "format" {
			t.Errorf("%s: %v", path, is)
		}
	}
	r := a.want(a.do("POST", "/$convert?format=th43", "HOSPCODE|PID\n", "Content-Type", "text/plain"), 400)
	if !strings.Contains(r.issue(t)["diagnostics"].(string), "ZIP") {
		t.Errorf("th43 as plain text: %s", r.body)
	}
	a.want(a.do("POST", "/$convert?format=iom-csv", ""), 400)
}

func total(t testing.TB, a *api, path string) int {
	t.Helper()
	return int(a.want(a.do("GET", path, ""), 200).json(t)["total"].(float64))
}

func storetestSQLite(t *testing.T) store.Store { return storetest.OpenSQLite(t) }

func serverConfig() server.Config { return server.Config{} }
