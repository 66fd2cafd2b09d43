package ingest

import (
	"github.com/mekong-fhir/mekong/fhir/bundle"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// ConvertBundle renders a decoded result as the answer of $convert: a
// collection Bundle holding one transaction Bundle per person, the unit
// $ingest stores, each of which can be POSTed to [base] as it is; then an
// OperationOutcome listing the rejected rows (errors), the unmapped codes
// (warnings: kept as given) and the warnings. The OperationOutcome is always
// the last entry, so a client finds it without looking at every entry.
func ConvertBundle(res *mapping.Result) []byte {
	b := bundle.Bundle{Type: "collection"}
	for _, tx := range res.Bundles() {
		compact, err := compactJSON(tx)
		if err != nil {
			panic(err) // the mapping marshals its own types
		}
		b.Entries = append(b.Entries, bundle.Entry{Resource: compact})
	}
	issues := reportIssues(res.Rejects, res.Unmapped, res.Warnings, nil)
	if len(issues) == 0 {
		issues = outcome.Info("%s converted; no row rejected, every code mapped", count(len(res.Persons), "person"))
	}
	b.Entries = append(b.Entries, bundle.Entry{Resource: outcome.JSON(issues)})
	return b.JSON()
}
