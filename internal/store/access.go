package store

import (
	"context"

	"github.com/mekong-fhir/mekong/fhir/search"
)

// Access is what one request may see and change. Package rest derives it
// from the request's principal for each interaction and puts it in the
// context; the store reads it where each query is built and writes it into
// the SQL, so a hidden resource is never read, matched, counted or
// included, and paging and totals agree with what the caller sees.
//
// It travels in the context rather than as a field of every query so no
// store method (and no query a future method adds) can be called without
// it: sqlstore refuses to read for a request with a principal but no Access.
type Access struct {
	// All lifts every restriction: work the server does on a caller's behalf
	// (an audit record) or a principal of --auth none.
	All bool
	// Types maps each resource type the request may touch to "" (every
	// resource of that type) or to the id of the patient whose compartment
	// limits it. A type not in the map does not exist for the request.
	Types map[string]string
	// Hidden are the security labels ("system|code") whose resources do not
	// exist for the request.
	Hidden []string
	// Exempt are ids of patients whose compartments Hidden does not apply
	// to: the principal holds an unexpired break-the-glass grant for each
	// (store.Grant). Types and their patient limits still apply.
	Exempt []string
	// MayCreate allows a write to create a resource; without it only
	// existing resources may be updated (update as create needs SMART's c).
	MayCreate bool
}

// Restricts reports whether a limits anything.
func (a *Access) Restricts() bool { return a != nil && !a.All }

type accessKey struct{}

// WithAccess returns ctx carrying a.
func WithAccess(ctx context.Context, a *Access) context.Context {
	return context.WithValue(ctx, accessKey{}, a)
}

// AccessFrom returns the context's Access, or nil when none was set.
func AccessFrom(ctx context.Context) *Access {
	a, _ := ctx.Value(accessKey{}).(*Access)
	return a
}

// PatientCompartment lists, per type, the reference search parameters that
// put a resource in a patient's compartment
// (https://hl7.org/fhir/R4/compartmentdefinition-patient.html); a Patient is
// in its own. It is the single definition the store tags versions with.
var PatientCompartment = map[string][]string{
	"Observation":  {"subject", "performer"},
	"Immunization": {"patient"},
}

// Access tag prefixes. A version's tags record its security labels and the
// patients whose compartment it is in, so history and deleted resources
// (which keep no search index rows) are restricted like current ones.
const (
	TagLabel   = "label:"
	TagPatient = "patient:"
)

// AccessTags returns the tags of a version of typ/id with index ix.
func AccessTags(typ, id string, ix *search.Index) []string {
	var tags []string
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	if typ == "Patient" {
		add(TagPatient + id)
	}
	if ix == nil {
		return tags
	}
	for _, t := range ix.Tokens {
		if t.Param == "_security" && t.Code != "" {
			add(TagLabel + t.System + "|" + t.Code)
		}
	}
	params := PatientCompartment[typ]
	for _, r := range ix.Refs {
		if r.TargetType != "Patient" || r.TargetID == "" {
			continue
		}
		for _, p := range params {
			if r.Param == p {
				add(TagPatient + r.TargetID)
			}
		}
	}
	return tags
}
