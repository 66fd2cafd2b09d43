package rest

import (
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/seed"
)

// BenchmarkPrepare is the CPU cost every write pays before the database:
// parse, validate and extract index rows, on the generator's mix.
func BenchmarkPrepare(b *testing.B) {
	p, err := resource.NewParser()
	if err != nil {
		b.Fatal(err)
	}
	reg, err := search.NewRegistry([]string{"Immunization", "Observation", "Patient"}, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	s := New(nil, p, reg)
	var bodies [][]byte
	if err := seed.Generate(seed.Config{Patients: 50, Seed: 1}, func(_, _ string, j []byte) error {
		bodies = append(bodies, append([]byte(nil), j...))
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := s.Prepare(bodies[i%len(bodies)], ""); err != nil {
			b.Fatal(err)
		}
	}
}
