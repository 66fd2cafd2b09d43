package healthcard

import (
	"fmt"
	"strconv"
	"strings"
)

// Entry is one stored resource going into a card.
type Entry struct {
	// Ref is its reference on the server ("Immunization/123"), for
	// resourceLink and for rewriting the references that point to it.
	Ref string
	// Content is the resource JSON.
	Content []byte
}

// DefaultIdentityClaims are the Patient elements a card carries when the
// caller names none: enough for a verifier to match the card to an
// identity document, nothing more (data minimisation).
var DefaultIdentityClaims = []string{"name", "birthDate"}

// IdentityClaims are the Patient elements includeIdentityClaim may ask for.
var IdentityClaims = []string{"name", "birthDate", "gender", "identifier"}

// BundleInput is what a card is built from.
type BundleInput struct {
	Patient Entry
	// Aliases are other references to the same person (Patients linked to
	// it): references to them also become resource:0.
	Aliases []string
	// Resources are the Immunizations and Observations, in card order.
	Resources []Entry
	// Claims are the Patient elements to keep (DefaultIdentityClaims when empty).
	Claims []string
}

// Link ties a bundled resource to the stored one it came from
// ($health-cards-issue's resourceLink).
type Link struct {
	Bundled string // "resource:2"
	Hosted  string // "Immunization/123"
}

// Bundle is a card's fhirBundle.
type Bundle struct {
	JSON  []byte
	Links []Link
}

// BuildBundle makes the minified collection Bundle of a card
// (cards-specification.md, "Payload content minified for QR codes"): no
// Resource.id, no meta other than meta.security, no DomainResource.text,
// CodeableConcept.text or Coding.display; fullUrl resource:N and every
// reference to a bundled resource rewritten to it. A reference to
// anything not in the card (an Encounter, a Practitioner) is dropped,
// keeping its display, so no server id leaks into a signed card.
func BuildBundle(in BundleInput) (*Bundle, error) {
	claims := in.Claims
	if len(claims) == 0 {
		claims = DefaultIdentityClaims
	}
	refs := map[string]string{normRef(in.Patient.Ref): "resource:0"}
	for _, a := range in.Aliases {
		refs[normRef(a)] = "resource:0"
	}
	for i, e := range in.Resources {
		refs[normRef(e.Ref)] = "resource:" + strconv.Itoa(i+1)
	}
	pt, err := parseResource(in.Patient.Content, "Patient")
	if err != nil {
		return nil, err
	}
	patient := newObject()
	patient.set("resourceType", "Patient")
	for _, c := range claims {
		if v := pt.get(c); v != nil {
			patient.set(c, v)
		}
	}
	entries := []any{entry(0, minify(patient, refs))}
	links := []Link{{Bundled: "resource:0", Hosted: in.Patient.Ref}}
	for i, e := range in.Resources {
		res, err := parseResource(e.Content, "")
		if err != nil {
			return nil, fmt.Errorf("%s: %v", e.Ref, err)
		}
		entries = append(entries, entry(i+1, minify(res, refs)))
		links = append(links, Link{Bundled: "resource:" + strconv.Itoa(i+1), Hosted: e.Ref})
	}
	b := newObject()
	b.set("resourceType", "Bundle")
	b.set("type", "collection")
	b.set("entry", entries)
	return &Bundle{JSON: encodeTree(b), Links: links}, nil
}

func parseResource(content []byte, want string) (*object, error) {
	v, err := parseTree(content)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*object)
	if !ok || o.str("resourceType") == "" {
		return nil, fmt.Errorf("not a FHIR resource")
	}
	if want != "" && o.str("resourceType") != want {
		return nil, fmt.Errorf("a %s, not a %s", o.str("resourceType"), want)
	}
	return o, nil
}

func entry(i int, res *object) *object {
	e := newObject()
	e.set("fullUrl", "resource:"+strconv.Itoa(i))
	e.set("resource", res)
	return e
}

// normRef reduces a reference to "Type/id": absolute URLs and version
// suffixes point to the same resource.
func normRef(ref string) string {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) >= 2 {
		return parts[len(parts)-2] + "/" + parts[len(parts)-1]
	}
	return ref
}

// minify strips a resource for a card, in place, and returns it.
func minify(res *object, refs map[string]string) *object {
	res.del("id")
	res.del("text")
	if meta, ok := res.get("meta").(*object); ok && meta.get("security") != nil {
		m := newObject()
		m.set("security", meta.get("security"))
		res.set("meta", m)
	} else {
		res.del("meta")
	}
	if c, ok := res.get("contained").([]any); ok {
		for _, r := range c {
			if o, ok := r.(*object); ok {
				o.del("text")
				o.del("meta")
			}
		}
	}
	walk(res, "", refs)
	prune(res)
	return res
}

// walk applies the element rules below a resource's top level; key is the
// member name v was found under.
func walk(v any, key string, refs map[string]string) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			walk(e, key, refs)
		}
	case *object:
		// A Coding: an element of coding, of meta.security/tag, or a valueCoding.
		if key == "coding" || key == "security" || key == "tag" || strings.HasSuffix(key, "Coding") {
			x.del("display")
		}
		// A CodeableConcept: text goes when codings say it; a concept that is
		// only text keeps it, or nothing would be left.
		if x.get("coding") != nil {
			x.del("text")
		}
		if ref, ok := x.get("reference").(string); ok && !strings.HasPrefix(ref, "#") {
			if to, ok := refs[normRef(ref)]; ok {
				x.set("reference", to)
			} else {
				x.del("reference")
				x.del("type")
			}
		}
		for _, k := range x.keys {
			walk(x.vals[k], k, refs)
		}
	}
}

// prune removes the objects and arrays the rules emptied (FHIR forbids
// empty elements) and reports whether v itself is now empty.
func prune(v any) (any, bool) {
	switch x := v.(type) {
	case *object:
		for _, k := range append([]string(nil), x.keys...) {
			if nv, empty := prune(x.vals[k]); empty {
				x.del(k)
			} else {
				x.vals[k] = nv
			}
		}
		return x, len(x.keys) == 0
	case []any:
		var kept []any
		for _, e := range x {
			if nv, empty := prune(e); !empty {
				kept = append(kept, nv)
			}
		}
		return kept, len(kept) == 0
	}
	return v, false
}
