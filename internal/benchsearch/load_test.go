package benchsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/seed"
	"github.com/mekong-fhir/mekong/internal/store/postgres"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
)

// samples are real values from the loaded data, so every query hits.
type samples struct {
	patientIDs  []string
	identifiers []string // system|value
	families    []string // family name of the same patients
	birthDates  []string
	codeCount   map[string]int // Observation LOINC code → count
	vaccines    map[string][]string
}

type item struct {
	typ, id string
	body    []byte
}

// load generates cfg's data and writes it with COPY from parallel workers.
// Generated data is valid R4 by construction (internal/seed's tests parse
// every resource with the validator), so the load skips validation and
// does what every write does besides: index extraction.
func load(t *testing.T, db *sqlstore.DB, reg *search.Registry, cfg seed.Config) (*samples, time.Duration, int) {
	t.Helper()
	ctx := context.Background()
	s := &samples{codeCount: map[string]int{}, vaccines: map[string][]string{}}
	items := make(chan item, 4096)
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	workers := runtime.GOMAXPROCS(0)
	at := time.Now()
	var mu sync.Mutex
	total := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []postgres.NewResource
			flush := func() {
				if len(batch) == 0 {
					return
				}
				if err := postgres.CopyNew(ctx, db, batch); err != nil {
					errc <- err
				}
				mu.Lock()
				total += len(batch)
				mu.Unlock()
				batch = batch[:0]
			}
			for it := range items {
				m, err := search.Decode(it.body)
				if err != nil {
					errc <- err
					continue
				}
				ix, err := reg.Extract(it.typ, m)
				if err != nil {
					errc <- err
					continue
				}
				batch = append(batch, postgres.NewResource{Type: it.typ, ID: it.id, LastUpdated: at, Content: it.body, Index: ix})
				if len(batch) == 2000 {
					flush()
				}
			}
			flush()
		}()
	}
	start := time.Now()
	err := seed.Generate(cfg, func(typ, id string, body []byte) error {
		cp := append([]byte(nil), body...)
		s.observe(typ, id, cp)
		items <- item{typ: typ, id: id, body: cp}
		return nil
	})
	close(items)
	wg.Wait()
	close(errc)
	if err != nil {
		t.Fatal(err)
	}
	for err := range errc {
		t.Fatal(err)
	}
	return s, time.Since(start), total
}

func (s *samples) observe(typ, id string, body []byte) {
	switch typ {
	case "Patient":
		if len(s.patientIDs) >= 2000 {
			return
		}
		var p struct {
			Identifier []struct{ System, Value string }
			Name       []struct{ Family string }
			BirthDate  string
		}
		// Myanmar names have no family name; sample patients who have one.
		if json.Unmarshal(body, &p) != nil || len(p.Identifier) == 0 || len(p.Name) == 0 || p.Name[0].Family == "" || p.BirthDate == "" {
			return
		}
		s.patientIDs = append(s.patientIDs, id)
		s.identifiers = append(s.identifiers, p.Identifier[0].System+"|"+p.Identifier[0].Value)
		s.families = append(s.families, p.Name[0].Family)
		s.birthDates = append(s.birthDates, p.BirthDate)
	case "Observation":
		var o struct {
			Code struct {
				Coding []struct{ System, Code string }
			}
		}
		if json.Unmarshal(body, &o) == nil {
			for _, c := range o.Code.Coding {
				if c.System == "http://loinc.org" {
					s.codeCount[c.Code]++
				}
			}
		}
	case "Immunization":
		var im struct {
			VaccineCode struct {
				Coding []struct{ System, Code string }
			}
			Patient struct{ Reference string }
		}
		if json.Unmarshal(body, &im) == nil && len(im.VaccineCode.Coding) > 0 {
			ref := im.Patient.Reference
			if len(s.vaccines[ref]) == 0 && len(s.vaccines) < 2000 {
				s.vaccines[ref] = append(s.vaccines[ref], im.VaccineCode.Coding[0].System+"|"+im.VaccineCode.Coding[0].Code)
			}
		}
	}
}

// codeWithCount returns the code whose count is closest to want.
func (s *samples) codeWithCount(want int) (string, int) {
	best, bestN := "", 0
	for c, n := range s.codeCount {
		if best == "" || abs(n-want) < abs(bestN-want) || (abs(n-want) == abs(bestN-want) && c < best) {
			best, bestN = c, n
		}
	}
	return best, bestN
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

var _ = fmt.Sprint
