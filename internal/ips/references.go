package ips

import (
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// refs makes every reference of a resource copied into the document resolve
// inside it (https://hl7.org/fhir/R4/bundle.html#references): stored
// resources keep their fullUrl [base]/Type/id, so a relative "Type/id"
// resolves to the entry of that resource.
type refs struct {
	base    string
	subject string          // the document's Patient id
	linked  map[string]bool // ids of the subject's linked set, the subject included
	// included are the "Type/id" of the stored resources in the document.
	included map[string]bool
}

// resolve returns the reference to write for ref, or false when its target
// is not in the document. A reference to any Patient of the linked set is a
// reference to the subject: the document is one person's.
func (r *refs) resolve(ref string) (string, bool) {
	if strings.HasPrefix(ref, "#") {
		return ref, true // contained
	}
	rel := ref
	if r.base != "" && strings.HasPrefix(ref, r.base+"/") {
		rel = ref[len(r.base)+1:]
	}
	typ, rest, ok := strings.Cut(rel, "/")
	if !ok || typ == "" || strings.ContainsAny(typ, ":?") {
		return "", false
	}
	id, _, _ := strings.Cut(rest, "/") // a version-specific reference names the resource the document holds
	if typ == "Patient" && r.linked[id] {
		return "Patient/" + r.subject, true
	}
	if r.included[typ+"/"+id] {
		return typ + "/" + id, true
	}
	return "", false
}

// dropsParent lists the elements whose Reference is required by the element
// that holds it: when the reference goes, so does the holder, so that what
// is left is still valid R4. An extension's valueReference is its value.
var dropsParent = map[string]bool{
	"Immunization.performer.actor": true,
}

// fix repairs the references of res (a resource of type typ) in place.
// A reference whose target is not in the document loses its "reference";
// it stays when it still says something (a display or an identifier) and
// is removed otherwise. A target may be absent because the caller may not
// see it (a hidden HIV result that a panel lists in hasMember): its id
// must not appear in the document either.
func (r *refs) fix(typ string, res *fhirjson.Object) {
	r.fixObject(res, typ)
}

// fixObject returns true when o is a Reference (or holds one it cannot
// live without) that must be removed from its parent.
func (r *refs) fixObject(o *fhirjson.Object, path string) bool {
	if ref, ok := o.Get("reference").(string); ok {
		if to, ok := r.resolve(ref); ok {
			o.Set("reference", to)
		} else {
			o.Del("reference")
			if o.Get("display") == nil && o.Get("identifier") == nil {
				return true
			}
		}
	}
	for _, k := range o.Keys() {
		cp := path + "." + k
		drop := dropsParent[cp] || k == "valueReference"
		switch v := o.Get(k).(type) {
		case *fhirjson.Object:
			if r.fixObject(v, cp) {
				o.Del(k)
				if drop {
					return true
				}
			}
		case []any:
			kept := v[:0]
			for _, e := range v {
				if eo, ok := e.(*fhirjson.Object); ok && r.fixObject(eo, cp) {
					if drop {
						return true
					}
					continue
				}
				kept = append(kept, e)
			}
			if len(kept) == 0 {
				o.Del(k)
			} else {
				o.Set(k, kept)
			}
		}
	}
	return false
}
