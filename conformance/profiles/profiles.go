// Package profiles embeds Mekong's profiles: StructureDefinitions in
// differential form (FHIR R4 JSON) for the migrant Patient, the TB screening,
// HIV and SARS-CoV-2 Observations and the Immunization the mappers produce.
// The server serves them at /fhir/StructureDefinition; package fhir/profile
// checks resources against them.
package profiles

import (
	"embed"
	"io/fs"
	"sort"
)

//go:embed *.json
var files embed.FS

// All returns every StructureDefinition, ordered by file name.
func All() [][]byte {
	names, _ := fs.Glob(files, "*.json")
	sort.Strings(names)
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			panic(err) // embedded at build time
		}
		out = append(out, b)
	}
	return out
}
