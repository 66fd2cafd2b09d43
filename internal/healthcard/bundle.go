package healthcard

import (
	"fmt"
	"slices"
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
		if v := claimValue(c, pt.get(c)); v != nil {
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
		entries = append(entries, entry(i+1, minify(dataMinimized(res), refs)))
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

// claimValue is what a card says of one identity claim: the parts a
// verifier compares with an identity document, nothing else. A name keeps
// its family, given and (alone) text, without its language extension, use
// or period: a migrant named in Khmer, Thai and Latin letters would
// otherwise not fit one QR code. Names that say only that the name is
// unknown are left out, and so are identical ones. An identifier keeps its
// type, system and value; a doubted one (Mekong's doubtful-identifier
// system) is left out, since a card is evidence of identity.
func claimValue(claim string, v any) any {
	arr, ok := v.([]any)
	if !ok {
		return v
	}
	var out []any
	seen := map[string]bool{}
	for _, x := range arr {
		o, ok := x.(*object)
		if !ok {
			continue
		}
		keep := newObject()
		switch claim {
		case "name":
			for _, k := range []string{"family", "given"} {
				if v := o.get(k); v != nil {
					keep.set(k, v)
				}
			}
			if len(keep.keys) == 0 && o.get("text") != nil {
				keep.set("text", o.get("text"))
			}
		case "identifier":
			if o.str("system") == doubtfulSystem {
				continue
			}
			for _, k := range []string{"type", "system", "value"} {
				if v := o.get(k); v != nil {
					keep.set(k, v)
				}
			}
		default:
			out = append(out, o)
			continue
		}
		if len(keep.keys) == 0 {
			continue
		}
		key := string(encodeTree(keep))
		if !seen[key] {
			seen[key] = true
			out = append(out, keep)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// doubtfulSystem is where Mekong keeps identifiers that failed their own
// check (mappings/README.md, "Doubtful identifiers").
const doubtfulSystem = "https://mekong-fhir.github.io/fhir/sid/doubtful-identifier"

// The elements a card keeps of each resource: those of the SMART Health
// Cards Vaccination & Testing IG's data minimization (DM) profiles
// (http://hl7.org/fhir/uv/shc-vaccination/StructureDefinition/shc-vaccination-dm,
// shc-covid19-laboratory-result-observation-dm): what a verifier needs,
// and no source identifiers, notes or categories, which cost QR space and
// say more about the person than the card must.
var dmElements = map[string][]string{
	"Immunization": {"resourceType", "meta", "status", "vaccineCode", "patient", "occurrenceDateTime", "performer", "lotNumber", "isSubpotent"},
	"Observation": {"resourceType", "meta", "status", "code", "subject", "effectiveDateTime", "effectivePeriod", "performer",
		"valueCodeableConcept", "valueQuantity", "valueString", "valueBoolean", "valueInteger", "valueRange", "valueRatio",
		"interpretation", "referenceRange"},
}

// dmVaccineSystems are the vaccine code systems the vaccination DM profile
// slices vaccineCode.coding by (CVX, GTIN, SNOMED CT, ICD-11, AIR, ATC).
var dmVaccineSystems = []string{"http://hl7.org/fhir/sid/cvx", "https://www.gs1.org/gtin", "http://snomed.info/sct",
	"http://id.who.int/icd11/mms", "urn:oid:1.2.36.1.2001.1005.17", "http://www.whocc.no/atc"}

// dataMinimized keeps res's DM elements; a performer keeps only its actor's
// display, and a vaccine code only its codings in the DM systems (all of
// them when none is, so the card never loses what was given).
func dataMinimized(res *object) *object {
	keep, ok := dmElements[res.str("resourceType")]
	if !ok {
		return res
	}
	out := newObject()
	for _, k := range keep {
		if v := res.get(k); v != nil {
			out.set(k, v)
		}
	}
	if perf, ok := out.get("performer").([]any); ok {
		var slim []any
		for _, p := range perf {
			actor := p
			if o, ok := p.(*object); ok && out.str("resourceType") == "Immunization" {
				actor = o.get("actor")
			}
			a, ok := actor.(*object)
			if !ok || a.str("display") == "" {
				continue
			}
			d := newObject()
			d.set("display", a.get("display"))
			if out.str("resourceType") == "Immunization" {
				w := newObject()
				w.set("actor", d)
				slim = append(slim, w)
			} else {
				slim = append(slim, d)
			}
		}
		if slim == nil {
			out.del("performer")
		} else {
			out.set("performer", slim)
		}
	}
	if vc, ok := out.get("vaccineCode").(*object); ok {
		if codings, ok := vc.get("coding").([]any); ok {
			var dm []any
			for _, c := range codings {
				if o, ok := c.(*object); ok && slices.Contains(dmVaccineSystems, o.str("system")) {
					dm = append(dm, c)
				}
			}
			if dm != nil {
				v := newObject()
				v.set("coding", dm)
				out.set("vaccineCode", v)
			}
		}
	}
	return out
}
