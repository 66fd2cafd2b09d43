// Package seed generates realistic, deterministic FHIR R4 records of
// cross-border migrants (Cambodian workers in Thailand, with Thai, Lao and
// Myanmar neighbours): Patients with passports, Thai ids and IOM case
// numbers, their SARS-CoV-2, TB and HIV Observations and their COVID-19 and
// routine Immunizations, coded as ../shared/domain.md lists. The benchmarks,
// the demo and developers trying the gateway load it.
//
// Output is a stream grouped per patient: the Patient, then its Observations,
// then its Immunizations, each group in date order. A reference therefore
// always follows the resource it points at, memory stays constant whatever
// the number of patients, and patient n is the same whatever the total, so
// a smaller run is a prefix of a larger one with the same seed.
package seed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// MaxPatients bounds a run: identifier numbers are 7-digit permutations of
// the patient number, unique only below this.
const MaxPatients = 10_000_000

// Config selects what Generate writes. Equal Configs give byte-identical
// output.
type Config struct {
	Patients int
	Seed     int64
	// IOMSystem is the Identifier.system of IOM case numbers; "" means
	// DefaultIOMSystem.
	IOMSystem string
}

// Records fall between the first COVID-19 tests at the border and the end
// of the data set's window.
var (
	start = day(2020, 1, 1)
	end   = day(2026, 9, 30)
)

// Generate calls emit for every resource in order: typ is "Patient",
// "Observation" or "Immunization", id its id, json its R4 JSON on one line.
// json is reused after emit returns: copy it to keep it. Generate stops at
// the first error emit returns and returns it.
//
// Ids are mig-<seed>-<n> for patient n (1-based), mig-<seed>-<n>-obs-<k> and
// mig-<seed>-<n>-imm-<k> for its k-th Observation and Immunization.
func Generate(cfg Config, emit func(typ, id string, json []byte) error) error {
	if cfg.Patients < 0 || cfg.Patients > MaxPatients {
		return fmt.Errorf("seed.Generate: patients must be between 0 and %d, got %d", MaxPatients, cfg.Patients)
	}
	g := newGenerator(cfg)
	for n := 1; n <= cfg.Patients; n++ {
		if err := g.patient(n, emit); err != nil {
			return err
		}
	}
	return nil
}

type generator struct {
	seed      int64
	prefix    string
	iomSystem string
	// One permutation per identifier system keeps numbers unrelated.
	passport7, passport8, cid, pink, iom permutation

	buf bytes.Buffer
	enc *json.Encoder
}

func newGenerator(cfg Config) *generator {
	g := &generator{
		seed:      cfg.Seed,
		prefix:    "mig-" + strconv.FormatInt(cfg.Seed, 10) + "-",
		iomSystem: cfg.IOMSystem,
		passport7: newPermutation(cfg.Seed, 1, 1e7),
		passport8: newPermutation(cfg.Seed, 2, 1e8),
		cid:       newPermutation(cfg.Seed, 3, 1e7),
		pink:      newPermutation(cfg.Seed, 4, 1e7),
		iom:       newPermutation(cfg.Seed, 5, 1e7),
	}
	if g.iomSystem == "" {
		g.iomSystem = DefaultIOMSystem
	}
	g.enc = json.NewEncoder(&g.buf)
	g.enc.SetEscapeHTML(false)
	return g
}

func (g *generator) patientID(n int) string { return g.prefix + strconv.Itoa(n) }

// dated is an Observation or Immunization with the time it sorts by.
type dated[T any] struct {
	at  time.Time
	res *T
}

// record collects one patient's Observations and Immunizations.
type record struct {
	obs  []dated[observation]
	imms []dated[immunization]
}

func (g *generator) patient(n int, emit func(typ, id string, json []byte) error) error {
	r := patientRNG(g.seed, n)
	p, pat := g.newPerson(r, n)
	if err := g.emit(emit, "Patient", p.ID, pat); err != nil {
		return err
	}
	var rec record
	g.covidTests(r, p, &rec)
	g.tbScreening(r, p, &rec)
	g.hivTests(r, p, &rec)
	g.covidVaccination(r, p, &rec)
	g.routineVaccination(r, p, &rec)

	// Stable sorts keep same-day results in the order they were made
	// (screening before confirmation), so ids follow clinical order.
	slices.SortStableFunc(rec.obs, func(a, b dated[observation]) int { return a.at.Compare(b.at) })
	slices.SortStableFunc(rec.imms, func(a, b dated[immunization]) int { return a.at.Compare(b.at) })
	for k, o := range rec.obs {
		o.res.ID = p.ID + "-obs-" + strconv.Itoa(k+1)
		if err := g.emit(emit, "Observation", o.res.ID, o.res); err != nil {
			return err
		}
	}
	for k, im := range rec.imms {
		im.res.ID = p.ID + "-imm-" + strconv.Itoa(k+1)
		if err := g.emit(emit, "Immunization", im.res.ID, im.res); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) emit(emit func(typ, id string, json []byte) error, typ, id string, v any) error {
	g.buf.Reset()
	if err := g.enc.Encode(v); err != nil {
		return fmt.Errorf("seed: encode %s/%s: %w", typ, id, err)
	}
	b := g.buf.Bytes()
	return emit(typ, id, b[:len(b)-1]) // without the Encoder's newline
}

// lot returns a lot number shared by everyone vaccinated with the same
// product at the same facility in the same week, as real lots are.
func (g *generator) lot(prefix string, digits int, product, facilityID string, at time.Time) string {
	h := uint64(14695981039346656037) // FNV-1a
	for _, s := range []string{product, facilityID} {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * 1099511628211
		}
	}
	h = mix(h ^ mix(uint64(g.seed)) ^ uint64(at.Unix()/(7*86400)))
	m := uint64(1)
	for range digits {
		m *= 10
	}
	return prefix + pad(h%m, digits)
}
