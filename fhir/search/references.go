package search

import (
	"sort"
	"strconv"
)

// ElementRef is a reference in a resource: the FHIRPath of its Reference
// element ("Observation.subject", "Observation.performer[1]") and its
// reference string as written.
type ElementRef struct {
	Path, Reference string
}

// References lists every Reference.reference in a decoded resource of type
// typ, contained resources and extensions included, ordered by path. It is
// what referential integrity checks; search parameters index only some of
// these.
func References(typ string, res map[string]any) []ElementRef {
	var out []ElementRef
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["reference"].(string); ok && ref != "" {
				out = append(out, ElementRef{Path: path, Reference: ref})
			}
			for k, c := range x {
				if k == "resourceType" || k == "reference" {
					continue
				}
				walk(path+"."+k, c)
			}
		case []any:
			for i, c := range x {
				walk(path+"["+strconv.Itoa(i)+"]", c)
			}
		}
	}
	for k, v := range res {
		if k != "resourceType" && k != "id" && k != "meta" {
			walk(typ+"."+k, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
