package rest

import (
	"context"
	"net/url"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/store"
)

// LinkedModifier searches across a linked set: a reference parameter to a
// Patient (subject, patient, link...) or Patient's _id with :linked matches
// every Patient of the set the caller may read, in the manner of HAPI
// FHIR's :mdm qualifier. Observation?subject:linked=Patient/a finds the
// Observations of a and of every Patient linked to a; without it a search
// stays with the one Patient.
const LinkedModifier = ":linked"

// maxLinkedValues bounds the values one :linked parameter may name.
const maxLinkedValues = 20

// expandLinked rewrites the :linked parameters of q into plain ones listing
// every member of each named Patient's linked set. q is not changed.
func (s *Service) expandLinked(ctx context.Context, q url.Values) (url.Values, error) {
	var linked []string
	for name := range q {
		if strings.HasSuffix(name, LinkedModifier) {
			linked = append(linked, name)
		}
	}
	if len(linked) == 0 {
		return q, nil
	}
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	for _, name := range linked {
		base := strings.TrimSuffix(name, LinkedModifier)
		if base == "" || strings.Contains(base, ":") || strings.Contains(base, ".") {
			return nil, outcome.Invalid("%s: :linked applies to a plain reference parameter (subject:linked=Patient/[id]) or _id", name).At(name)
		}
		delete(out, name)
		for _, v := range q[name] {
			vals := strings.Split(v, ",")
			if len(vals) > maxLinkedValues {
				return nil, outcome.Invalid("%s names %d Patients; at most %d", name, len(vals), maxLinkedValues).At(name)
			}
			var refs []string
			for _, val := range vals {
				id := strings.TrimPrefix(strings.TrimSpace(val), store.LinkedType+"/")
				if err := checkID(id); err != nil {
					return nil, outcome.Invalid("%s %q must name a Patient (Patient/[id])", name, val).At(name)
				}
				set, err := s.LinkedSet(ctx, id)
				if err != nil {
					return nil, err
				}
				for _, m := range set {
					if base == "_id" {
						refs = append(refs, m)
					} else {
						refs = append(refs, store.LinkedType+"/"+m)
					}
				}
			}
			out[base] = append(out[base], strings.Join(refs, ","))
		}
	}
	return out, nil
}
