package healthcard

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
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
	patient := fhirjson.NewObject()
	patient.Set("resourceType", "Patient")
	for _, c := range claims {
		if v := claimValue(c, pt.Get(c)); v != nil {
			patient.Set(c, v)
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
	b := fhirjson.NewObject()
	b.Set("resourceType", "Bundle")
	b.Set("type", "collection")
	b.Set("entry", entries)
	return &Bundle{JSON: fhirjson.Encode(b), Links: links}, nil
}

func parseResource(content []byte, want string) (*fhirjson.Object, error) {
	v, err := fhirjson.Parse(content)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*fhirjson.Object)
	if !ok || o.Str("resourceType") == "" {
		return nil, fmt.Errorf("not a FHIR resource")
	}
	if want != "" && o.Str("resourceType") != want {
		return nil, fmt.Errorf("a %s, not a %s", o.Str("resourceType"), want)
	}
	return o, nil
}

func entry(i int, res *fhirjson.Object) *fhirjson.Object {
	e := fhirjson.NewObject()
	e.Set("fullUrl", "resource:"+strconv.Itoa(i))
	e.Set("resource", res)
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
func minify(res *fhirjson.Object, refs map[string]string) *fhirjson.Object {
	res.Del("id")
	res.Del("text")
	if meta, ok := res.Get("meta").(*fhirjson.Object); ok && meta.Get("security") != nil {
		m := fhirjson.NewObject()
		m.Set("security", meta.Get("security"))
		res.Set("meta", m)
	} else {
		res.Del("meta")
	}
	if c, ok := res.Get("contained").([]any); ok {
		for _, r := range c {
			if o, ok := r.(*fhirjson.Object); ok {
				o.Del("text")
				o.Del("meta")
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
	case *fhirjson.Object:
		// A Coding: an element of coding, of meta.security/tag, or a valueCoding.
		if key == "coding" || key == "security" || key == "tag" || strings.HasSuffix(key, "Coding") {
			x.Del("display")
		}
		// A CodeableConcept: text goes when codings say it; a concept that is
		// only text keeps it, or nothing would be left.
		if x.Get("coding") != nil {
			x.Del("text")
		}
		if ref, ok := x.Get("reference").(string); ok && !strings.HasPrefix(ref, "#") {
			if to, ok := refs[normRef(ref)]; ok {
				x.Set("reference", to)
			} else {
				x.Del("reference")
				x.Del("type")
			}
		}
		for k, e := range x.All() {
			walk(e, k, refs)
		}
	}
}

// prune removes the objects and arrays the rules emptied (FHIR forbids
// empty elements) and reports whether v itself is now empty.
func prune(v any) (any, bool) {
	switch x := v.(type) {
	case *fhirjson.Object:
		for _, k := range x.Keys() {
			if nv, empty := prune(x.Get(k)); empty {
				x.Del(k)
			} else {
				x.Set(k, nv)
			}
		}
		return x, x.Len() == 0
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
		o, ok := x.(*fhirjson.Object)
		if !ok {
			continue
		}
		keep := fhirjson.NewObject()
		switch claim {
		case "name":
			for _, k := range []string{"family", "given"} {
				if v := o.Get(k); v != nil {
					keep.Set(k, v)
				}
			}
			if keep.Len() == 0 && o.Get("text") != nil {
				keep.Set("text", o.Get("text"))
			}
		case "identifier":
			if o.Str("system") == doubtfulSystem {
				continue
			}
			for _, k := range []string{"type", "system", "value"} {
				if v := o.Get(k); v != nil {
					keep.Set(k, v)
				}
			}
		default:
			out = append(out, o)
			continue
		}
		if keep.Len() == 0 {
			continue
		}
		key := string(fhirjson.Encode(keep))
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
func dataMinimized(res *fhirjson.Object) *fhirjson.Object {
	keep, ok := dmElements[res.Str("resourceType")]
	if !ok {
		return res
	}
	out := fhirjson.NewObject()
	for _, k := range keep {
		if v := res.Get(k); v != nil {
			out.Set(k, v)
		}
	}
	if perf, ok := out.Get("performer").([]any); ok {
		var slim []any
		for _, p := range perf {
			actor := p
			if o, ok := p.(*fhirjson.Object); ok && out.Str("resourceType") == "Immunization" {
				actor = o.Get("actor")
			}
			a, ok := actor.(*fhirjson.Object)
			if !ok || a.Str("display") == "" {
				continue
			}
			d := fhirjson.NewObject()
			d.Set("display", a.Get("display"))
			if out.Str("resourceType") == "Immunization" {
				w := fhirjson.NewObject()
				w.Set("actor", d)
				slim = append(slim, w)
			} else {
				slim = append(slim, d)
			}
		}
		if slim == nil {
			out.Del("performer")
		} else {
			out.Set("performer", slim)
		}
	}
	if vc, ok := out.Get("vaccineCode").(*fhirjson.Object); ok {
		if codings, ok := vc.Get("coding").([]any); ok {
			var dm []any
			for _, c := range codings {
				if o, ok := c.(*fhirjson.Object); ok && slices.Contains(dmVaccineSystems, o.Str("system")) {
					dm = append(dm, c)
				}
			}
			if dm != nil {
				v := fhirjson.NewObject()
				v.Set("coding", dm)
				out.Set("vaccineCode", v)
			}
		}
	}
	return out
}
