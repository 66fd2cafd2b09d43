package eval

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/mappings/dhis2"
	"github.com/mekong-fhir/mekong/mappings/iom"
	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/th43"
)

// Labelled is one decoded record with its label.
type Labelled struct {
	match.Record
	Person, Group, Source string
	Noise                 []string
}

// Set is a split read back from its files.
type Set struct {
	Records []Labelled
	// Lost are the labelled records the decoders rejected, with the reason
	// (e.g. a bad Thai CID check digit before the ingest policy of issue 11
	// keeps such persons).
	Lost []string
	// Labelled counts the records in labels.csv.
	Labelled int
}

// Load decodes a split directory (fsys rooted at it) with the real mappings
// and joins the records to labels.csv. The record id is derived from the
// source's own key: the DHIS2 trackedEntity, the 43 files' HOSPCODE/PID, the
// IOM file and case number.
func Load(fsys fs.FS) (*Set, error) {
	labels, err := readLabels(fsys)
	if err != nil {
		return nil, err
	}
	set := &Set{Labelled: len(labels)}
	got := map[string]bool{}
	addResult := func(file string, res *mapping.Result, idOf func(p *mapping.Patient) string) error {
		for _, p := range res.Persons {
			id := idOf(p.Patient)
			l, ok := labels[id]
			if !ok {
				return fmt.Errorf("eval.Load: %s: decoded record %q has no label", file, id)
			}
			body, err := fhirjson.Marshal(p.Patient)
			if err != nil {
				return err
			}
			rec, err := match.ParsePatient(id, body)
			if err != nil {
				return fmt.Errorf("eval.Load: %s: %w", id, err)
			}
			got[id] = true
			set.Records = append(set.Records, Labelled{Record: rec, Person: l[0], Group: l[1], Source: l[2], Noise: strings.Split(l[3], ";")})
		}
		for _, r := range res.Rejects {
			set.Lost = append(set.Lost, fmt.Sprintf("%s row %d %s: %s", file, r.Row, r.Field, r.Reason))
		}
		return nil
	}
	err = fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		var res *mapping.Result
		var idOf func(*mapping.Patient) string
		switch {
		case strings.HasPrefix(p, "dhis2/"):
			cfg := dhis2.ExampleConfig()
			cfg.File = p
			res, err = dhis2.Decode(bytes.NewReader(b), cfg)
			base := cfg.IdentifierBase + "/trackedEntity"
			idOf = func(pt *mapping.Patient) string { return "dhis2:" + pt.IdentifierValue(base) }
		case strings.HasPrefix(p, "th43/") && path.Base(p) == "PERSON.txt":
			h := path.Base(path.Dir(p))
			res, err = th43.Decode([]th43.File{{Name: "PERSON.txt", Data: b}}, th43.Config{})
			idOf = func(pt *mapping.Patient) string {
				return "th43:" + h + "/" + pt.IdentifierValue(mapping.ThaiLocal(h, "PID"))
			}
		case strings.HasPrefix(p, "iom/") && strings.HasSuffix(p, ".csv"):
			res, err = iom.DecodeCSV(bytes.NewReader(b), iom.Config{File: p})
			idOf = func(pt *mapping.Patient) string { return "iom:" + p + ":" + pt.IdentifierValue(mapping.IOMCaseNumber) }
		case strings.HasPrefix(p, "iom/") && strings.HasSuffix(p, ".json"):
			res, err = iom.DecodeJSON(bytes.NewReader(b), iom.Config{File: p})
			idOf = func(pt *mapping.Patient) string { return "iom:" + p + ":" + pt.IdentifierValue(mapping.IOMCaseNumber) }
		default:
			return nil
		}
		if err != nil {
			return fmt.Errorf("eval.Load: %s: %w", p, err)
		}
		return addResult(p, res, idOf)
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(set.Records, func(i, j int) bool { return set.Records[i].ID < set.Records[j].ID })
	return set, nil
}

// readLabels returns record -> [person, group, source, noise].
func readLabels(fsys fs.FS) (map[string][4]string, error) {
	f, err := fsys.Open("labels.csv")
	if err != nil {
		return nil, fmt.Errorf("eval.Load: %w", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("eval.Load: labels.csv: %w", err)
	}
	out := map[string][4]string{}
	for _, r := range rows[1:] {
		if len(r) != 6 {
			return nil, fmt.Errorf("eval.Load: labels.csv: row %v", r)
		}
		out[r[0]] = [4]string{r[1], r[4], r[2], r[5]}
	}
	return out, nil
}
