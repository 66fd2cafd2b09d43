package mapping

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// Builder gathers the rows of one input into persons. It applies Mekong's
// matching rule inside the input, the same rule the server applies across
// inputs through the conditional creates: two rows are the same person when
// their Patients share any identifier (same system and value). Names and
// birth dates are never used to match; they only veto a match: a shared
// identifier with a different birth date or sex is a conflict, and the
// later row is rejected rather than merged into someone else's record.
type Builder struct {
	persons   []*draft
	byID      map[string]*draft
	resources map[string]string // resource type|identifier key → where it was first seen
}

type draft struct {
	Person
	where string // row that first created the person, for messages
	into  *draft // set when this person was merged into another
}

func (d *draft) resolve() *draft {
	for d.into != nil {
		d = d.into
	}
	return d
}

// Handle refers to a person across rows (a 43-file EPI row to its PERSON row).
type Handle struct{ d *draft }

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{byID: map[string]*draft{}, resources: map[string]string{}}
}

// Add files one row: a Patient (it must have an identifier) and the
// resources about them (*Observation, *Immunization, *EpisodeOfCare, each
// with an identifier). where names the row for messages ("PERSON.txt:4").
// It is all or nothing: on error nothing of the row is kept. Doubted
// identifiers (see Doubtful) are kept on the Patient but never join it to a
// person known by trusted identifiers. A person who carries doubted ones
// only is kept too (issue 11): rows of such a person are joined only when
// their conditional keys (Person.Match) are the same, the rule the server
// applies when the row is sent again.
func (b *Builder) Add(p *Patient, where string, resources ...any) (*Handle, error) {
	if len(p.Identifier) == 0 {
		return nil, fmt.Errorf("no identifier: nothing identifies the person")
	}
	owners, err := b.owners(p)
	if err != nil {
		return nil, err
	}
	if err := b.checkResources(resources); err != nil {
		return nil, err
	}
	var d *draft
	if len(owners) == 0 {
		d = &draft{Person: Person{Patient: p}, where: where}
		b.persons = append(b.persons, d)
	} else {
		d = owners[0]
		for _, o := range owners[1:] {
			d.absorb(o)
		}
		mergePatient(d.Patient, p)
	}
	for _, k := range findKeys(d.Patient) {
		b.byID[k.key] = d
	}
	b.commit(d, where, resources)
	return &Handle{d}, nil
}

// findKey is one key the Builder files a person under: a trusted
// identifier's system|value, or, for a person with doubted identifiers
// only, their whole conditional key.
type findKey struct{ key, system string }

func findKeys(p *Patient) []findKey {
	ids := trusted(p.Identifier)
	if len(ids) == 0 {
		return []findKey{{key: "doubted " + doubtedMatch(p), system: DoubtfulSystem}}
	}
	out := make([]findKey, len(ids))
	for i, id := range ids {
		out[i] = findKey{id.Key(), id.System}
	}
	return out
}

// Attach files resources about a person added earlier; all or nothing.
func (b *Builder) Attach(h *Handle, where string, resources ...any) error {
	if err := b.checkResources(resources); err != nil {
		return err
	}
	b.commit(h.d.resolve(), where, resources)
	return nil
}

// Result returns the persons in the order they first appeared.
func (b *Builder) Result() []Person {
	var out []Person
	for _, d := range b.persons {
		if d.into == nil {
			out = append(out, d.Person)
		}
	}
	return out
}

// owners returns the distinct persons that already hold one of p's
// identifiers, or an error if p contradicts one of them.
func (b *Builder) owners(p *Patient) ([]*draft, error) {
	var out []*draft
	for _, id := range findKeys(p) {
		d, ok := b.byID[id.key]
		if !ok {
			continue
		}
		d = d.resolve()
		if slices.Contains(out, d) {
			continue
		}
		q := d.Patient
		if p.BirthDate != "" && q.BirthDate != "" && p.BirthDate != q.BirthDate {
			return nil, fmt.Errorf("identifier %s is also on %s, whose birth date differs: not merged", id.system, d.where)
		}
		if p.Gender != "" && q.Gender != "" && p.Gender != q.Gender {
			return nil, fmt.Errorf("identifier %s is also on %s, whose sex differs: not merged", id.system, d.where)
		}
		out = append(out, d)
	}
	return out, nil
}

func (b *Builder) checkResources(resources []any) error {
	seen := map[string]bool{}
	for _, r := range resources {
		key, err := resourceKey(r)
		if err != nil {
			return err
		}
		if where, ok := b.resources[key]; ok {
			return fmt.Errorf("duplicate of %s: same source key, so the same %s", where, strings.Fields(key)[0])
		}
		if seen[key] {
			return fmt.Errorf("the row yields two resources with the same identifier")
		}
		seen[key] = true
	}
	return nil
}

func (b *Builder) commit(d *draft, where string, resources []any) {
	for _, r := range resources {
		key, _ := resourceKey(r)
		b.resources[key] = where
		switch r := r.(type) {
		case *Observation:
			d.Observations = append(d.Observations, r)
		case *Immunization:
			d.Immunizations = append(d.Immunizations, r)
		case *EpisodeOfCare:
			d.Episodes = append(d.Episodes, r)
		}
	}
}

func resourceKey(r any) (string, error) {
	var typ string
	var ids []Identifier
	switch r := r.(type) {
	case *Observation:
		typ, ids = "Observation", r.Identifier
	case *Immunization:
		typ, ids = "Immunization", r.Identifier
	case *EpisodeOfCare:
		typ, ids = "EpisodeOfCare", r.Identifier
	default:
		return "", fmt.Errorf("mapping: unsupported resource %T", r)
	}
	if len(ids) == 0 || ids[0].System == "" || ids[0].Value == "" {
		return "", fmt.Errorf("mapping: %s without a source identifier", typ)
	}
	return typ + " " + ids[0].System + "|" + ids[0].Value, nil
}

// absorb moves o's identifiers, names and resources into d.
func (d *draft) absorb(o *draft) {
	mergePatient(d.Patient, o.Patient)
	d.Observations = append(d.Observations, o.Observations...)
	d.Immunizations = append(d.Immunizations, o.Immunizations...)
	d.Episodes = append(d.Episodes, o.Episodes...)
	o.into = d
}

// mergePatient adds to dst what src knows and dst does not; dst's own values win.
func mergePatient(dst, src *Patient) {
	for _, id := range src.Identifier {
		if !slices.ContainsFunc(dst.Identifier, func(x Identifier) bool { return x.Key() == id.Key() }) {
			dst.Identifier = append(dst.Identifier, id)
		}
	}
	for _, n := range src.Name {
		if !slices.ContainsFunc(dst.Name, func(x HumanName) bool {
			return x.Language() == n.Language() && x.Family == n.Family && slices.Equal(x.Given, n.Given)
		}) {
			dst.Name = append(dst.Name, n)
		}
	}
	for _, t := range src.Telecom {
		if !slices.Contains(dst.Telecom, t) {
			dst.Telecom = append(dst.Telecom, t)
		}
	}
	for _, e := range src.Extension {
		if !slices.ContainsFunc(dst.Extension, func(x Extension) bool { return x.URL == e.URL }) {
			dst.Extension = append(dst.Extension, e)
		}
	}
	if dst.Gender == "" {
		dst.Gender = src.Gender
	}
	if dst.BirthDate == "" {
		dst.BirthDate = src.BirthDate
	}
	if dst.ManagingOrganization == nil {
		dst.ManagingOrganization = src.ManagingOrganization
	}
}

// MergePatient is the server half of the matching rule. A conditional create
// that finds the Patient (the transaction answers 200 instead of 201) stores
// nothing new, so an identifier only the incoming Patient has (the Thai CID
// of a migrant IOM registered first) would be lost. The ingest wiring calls
// MergePatient with the stored and the incoming Patient and, when changed is
// true, updates the stored one (PUT with If-Match). Identifiers, names,
// telecoms and extensions the stored Patient lacks are appended as the
// incoming JSON has them, and missing sex, birth date and managing
// organization are filled; nothing stored is changed or removed.
func MergePatient(stored, incoming []byte) (merged []byte, changed bool, err error) {
	var dst, src map[string]json.RawMessage
	if err := json.Unmarshal(stored, &dst); err != nil {
		return nil, false, fmt.Errorf("mapping.MergePatient: stored: %w", err)
	}
	if err := json.Unmarshal(incoming, &src); err != nil {
		return nil, false, fmt.Errorf("mapping.MergePatient: incoming: %w", err)
	}
	if string(dst["resourceType"]) != `"Patient"` || string(src["resourceType"]) != `"Patient"` {
		return nil, false, fmt.Errorf("mapping.MergePatient: both resources must be Patients")
	}
	keys := map[string]func(json.RawMessage) string{
		"identifier": func(b json.RawMessage) string { var v Identifier; _ = json.Unmarshal(b, &v); return mergeKey(v) },
		"name": func(b json.RawMessage) string {
			var v HumanName
			_ = json.Unmarshal(b, &v)
			return v.Language() + "|" + v.Family + "|" + strings.Join(v.Given, " ")
		},
		"telecom": func(b json.RawMessage) string {
			var v ContactPoint
			_ = json.Unmarshal(b, &v)
			return v.System + "|" + v.Value
		},
		"extension": func(b json.RawMessage) string { var v Extension; _ = json.Unmarshal(b, &v); return v.URL },
	}
	for _, field := range []string{"identifier", "name", "telecom", "extension"} {
		var have, add []json.RawMessage
		if b, ok := dst[field]; ok {
			if err := json.Unmarshal(b, &have); err != nil {
				return nil, false, fmt.Errorf("mapping.MergePatient: stored %s: %w", field, err)
			}
		}
		if b, ok := src[field]; ok {
			if err := json.Unmarshal(b, &add); err != nil {
				return nil, false, fmt.Errorf("mapping.MergePatient: incoming %s: %w", field, err)
			}
		}
		seen := map[string]bool{}
		for _, h := range have {
			seen[keys[field](h)] = true
		}
		grew := false
		for _, a := range add {
			if k := keys[field](a); !seen[k] {
				seen[k] = true
				have = append(have, a)
				grew = true
			}
		}
		if grew {
			dst[field], _ = fhirjson.Marshal(have)
			changed = true
		}
	}
	for _, field := range []string{"gender", "birthDate", "managingOrganization"} {
		if _, ok := dst[field]; !ok {
			if v, ok := src[field]; ok {
				dst[field] = v
				changed = true
			}
		}
	}
	if !changed {
		return stored, false, nil
	}
	merged, err = fhirjson.Marshal(dst)
	return merged, true, err
}

// mergeKey is the identifier's key for MergePatient: a doubted identifier
// is keyed by the system it was meant for, so one stored under the bare
// DoubtfulSystem (before doubted identifiers were kept per meant system)
// is the same as today's form and a re-sent row adds no second copy.
func mergeKey(id Identifier) string {
	if id.IsDoubtful() {
		return DoubtfulSystem + " " + id.MeantSystem() + "|" + id.Value
	}
	return id.Key()
}
