package mapping_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/mappings/dhis2"
	"github.com/mekong-fhir/mekong/mappings/iom"
	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/th43"
)

// store plays the server side of a transaction as FHIR defines conditional
// create (https://hl7.org/fhir/R4/http.html#ccreate): no match creates, one
// match is reused (and merged with mapping.MergePatient, as the ingest
// wiring does), more than one is 412.
type store struct {
	patients  [][]byte
	resources map[string]bool // "Type identifier=system|value"
}

func (s *store) transaction(t *testing.T, bundle []byte) {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
			Request  struct {
				URL         string `json:"url"`
				IfNoneExist string `json:"ifNoneExist"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	for _, e := range b.Entry {
		if e.Request.URL != "Patient" {
			key := e.Request.URL + " " + e.Request.IfNoneExist
			s.resources[key] = true
			continue
		}
		wanted := strings.Split(strings.TrimPrefix(e.Request.IfNoneExist, "identifier="), ",")
		var matches []int
		for i, p := range s.patients {
			for _, w := range wanted {
				if strings.Contains(string(p), strings.Replace(`"system":"`+w+`"`, "|", `","value":"`, 1)) {
					matches = append(matches, i)
					break
				}
			}
		}
		switch len(matches) {
		case 0:
			compact, _ := json.Marshal(json.RawMessage(e.Resource))
			s.patients = append(s.patients, compact)
		case 1:
			merged, changed, err := mapping.MergePatient(s.patients[matches[0]], e.Resource)
			if err != nil {
				t.Fatal(err)
			}
			if changed {
				s.patients[matches[0]] = merged
			}
		default:
			t.Fatalf("412: %s matches %d patients", e.Request.IfNoneExist, len(matches))
		}
	}
}

// Issue 6, "a migrant seen by IOM and later by a Thai hospital is one
// Patient with both identifiers", and "sending the same data twice changes
// nothing".
func TestMatchingAcrossSources(t *testing.T) {
	csvData, err := os.ReadFile(filepath.Join("..", "iom", "testdata", "sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	iomRes, err := iom.DecodeCSV(strings.NewReader(string(csvData)), iom.Config{})
	if err != nil {
		t.Fatal(err)
	}
	thRes, err := th43.DecodeFS(os.DirFS(filepath.Join("..", "th43", "testdata", "sample")), th43.Config{})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile(filepath.Join("..", "dhis2", "testdata", "sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	dhisRes, err := dhis2.Decode(strings.NewReader(string(payload)), dhis2.ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := &store{resources: map[string]bool{}}
	ingest := func() {
		for _, res := range []*mapping.Result{iomRes, thRes, dhisRes} {
			for _, b := range res.Bundles() {
				s.transaction(t, b)
			}
		}
	}
	ingest()
	// 3 IOM + 4 Thai + 2 DHIS2 persons; the IOM migrant SOK DARA is also a
	// Thai hospital's patient and CHAN SREYMOM also in Cambodia's DHIS2
	// (same passports).
	if len(s.patients) != 7 {
		t.Fatalf("%d patients, want 7", len(s.patients))
	}
	for _, p := range s.patients {
		if strings.Contains(string(p), "KHM-MHA-2024-0002") && !strings.Contains(string(p), `"value":"010203045"`) {
			t.Errorf("the IOM and DHIS2 records of one migrant were not merged:\n%s", p)
		}
	}
	var merged string
	for _, p := range s.patients {
		if strings.Contains(string(p), "KHM-MHA-2024-0001") {
			merged = string(p)
		}
	}
	for _, want := range []string{`"value":"KHM-MHA-2024-0001"`, `"value":"N01234567"`, `"value":"0037651234561"`, `"value":"000245"`, `"family":"สุข"`, `"family":"សុខ"`, `"family":"SOK"`} {
		if !strings.Contains(merged, want) {
			t.Errorf("merged patient lacks %s:\n%s", want, merged)
		}
	}
	resources, patients := len(s.resources), string(mustJSON(t, s.patients))
	ingest()
	if len(s.resources) != resources || string(mustJSON(t, s.patients)) != patients {
		t.Error("ingesting the same data twice changed the store")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
