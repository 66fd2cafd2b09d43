package mapping

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Record is one patient and the resources about them, the input of every
// encoder (FHIR → source format).
type Record struct {
	Patient       Patient
	Observations  []Observation
	Immunizations []Immunization
	Episodes      []EpisodeOfCare
}

// NewRecord builds a Record from resource JSON: the Patient, then its
// Observations, Immunizations and EpisodeOfCares in any order. Other resource
// types are ignored: no source format has a place for them.
func NewRecord(patient []byte, resources ...[]byte) (Record, error) {
	var rec Record
	if err := decodeAs(patient, "Patient", &rec.Patient); err != nil {
		return Record{}, err
	}
	for i, r := range resources {
		if err := rec.add(r); err != nil {
			return Record{}, fmt.Errorf("mapping.NewRecord: resource %d: %w", i+1, err)
		}
	}
	return rec, nil
}

func (rec *Record) add(r []byte) error {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(r, &head); err != nil {
		return err
	}
	switch head.ResourceType {
	case "Observation":
		var o Observation
		if err := json.Unmarshal(r, &o); err != nil {
			return err
		}
		rec.Observations = append(rec.Observations, o)
	case "Immunization":
		var im Immunization
		if err := json.Unmarshal(r, &im); err != nil {
			return err
		}
		rec.Immunizations = append(rec.Immunizations, im)
	case "EpisodeOfCare":
		var e EpisodeOfCare
		if err := json.Unmarshal(r, &e); err != nil {
			return err
		}
		rec.Episodes = append(rec.Episodes, e)
	}
	return nil
}

func decodeAs(data []byte, typ string, v any) error {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("mapping: %s: %w", typ, err)
	}
	if head.ResourceType != typ {
		return fmt.Errorf("mapping: expected a %s, got %q", typ, head.ResourceType)
	}
	return json.Unmarshal(data, v)
}

// RecordsFromBundle groups the entries of any Bundle (a transaction from a
// decoder, a searchset, a Patient/$everything result) by the Patient they
// refer to. References may be the Patient entry's fullUrl, "Patient/id" or an
// absolute URL ending in Patient/id.
func RecordsFromBundle(data []byte) ([]Record, error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("mapping.RecordsFromBundle: %w", err)
	}
	if b.ResourceType != "Bundle" {
		return nil, fmt.Errorf("mapping.RecordsFromBundle: not a Bundle")
	}
	var recs []Record
	byRef := map[string]int{}
	type pending struct {
		n   int
		raw json.RawMessage
		ref string
	}
	var rest []pending
	for i, e := range b.Entry {
		var head struct {
			ResourceType string    `json:"resourceType"`
			ID           string    `json:"id"`
			Subject      Reference `json:"subject"`
			Patient      Reference `json:"patient"`
		}
		if len(e.Resource) == 0 {
			continue
		}
		if err := json.Unmarshal(e.Resource, &head); err != nil {
			return nil, fmt.Errorf("mapping.RecordsFromBundle: entry %d: %w", i+1, err)
		}
		switch head.ResourceType {
		case "Patient":
			var rec Record
			if err := json.Unmarshal(e.Resource, &rec.Patient); err != nil {
				return nil, fmt.Errorf("mapping.RecordsFromBundle: entry %d: %w", i+1, err)
			}
			recs = append(recs, rec)
			if e.FullURL != "" {
				byRef[e.FullURL] = len(recs) - 1
				byRef[patientKey(e.FullURL)] = len(recs) - 1
			}
			if head.ID != "" {
				byRef["Patient/"+head.ID] = len(recs) - 1
			}
		case "Observation":
			rest = append(rest, pending{i + 1, e.Resource, head.Subject.Reference})
		case "Immunization", "EpisodeOfCare":
			rest = append(rest, pending{i + 1, e.Resource, head.Patient.Reference})
		}
	}
	for _, p := range rest {
		n, ok := byRef[p.ref]
		if !ok {
			n, ok = byRef[patientKey(p.ref)]
		}
		if !ok {
			return nil, fmt.Errorf("mapping.RecordsFromBundle: entry %d refers to %q, which is not a Patient in the Bundle", p.n, p.ref)
		}
		if err := recs[n].add(p.raw); err != nil {
			return nil, fmt.Errorf("mapping.RecordsFromBundle: entry %d: %w", p.n, err)
		}
	}
	return recs, nil
}

// patientKey reduces a reference to "Patient/id": it drops a base URL and a
// "/_history/n" suffix; urn:uuid references are returned unchanged.
func patientKey(ref string) string {
	if strings.HasPrefix(ref, "urn:") {
		return ref
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, "Patient/"); i >= 0 {
		return ref[i:]
	}
	return ref
}

// Omission is something an encoder could not write in the target format; the
// caller reports it, so an export never loses data silently.
type Omission struct {
	// Resource names what was left out: "Observation <system>|<value>" or "Patient".
	Resource string `json:"resource"`
	Reason   string `json:"reason"`
}

// Describe names a resource for an Omission by its first identifier.
func Describe(typ string, ids []Identifier) string {
	if len(ids) == 0 {
		return typ
	}
	return typ + " " + ids[0].Key()
}
