package healthcard

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// Identifier systems of what Mekong derives from a card it imports
// ($import-health-card). Each value is a base64url SHA-256, so the same card
// always gives the same identifiers and importing it again finds what the
// first import stored.
const (
	// CardSystem names a card: the hash of its compact JWS.
	CardSystem = "https://mekong-fhir.github.io/fhir/sid/health-card"
	// HolderSystem names the person a card is about, as one issuer
	// describes them: the hash of iss and the card's Patient (its identity
	// claims). A Patient created from a card carries it.
	HolderSystem = "https://mekong-fhir.github.io/fhir/sid/health-card-holder"
	// EntrySystem names one Immunization or Observation of a card: the hash
	// of the holder identifier and the resource as the card has it, so the
	// same vaccination in two cards of one issuer is one resource.
	EntrySystem = "https://mekong-fhir.github.io/fhir/sid/health-card-entry"
)

// Contents is what a card holds, made ready to store.
type Contents struct {
	// CardID is the card's CardSystem value.
	CardID string
	// Holder is the card's Patient.
	Holder Item
	// Items are the resources to store, in card order.
	Items []Item
	// Skipped are the entries left out, each with why.
	Skipped []Skipped
}

// Item is one resource of a card, made ready to store: its id (if any)
// removed, references to entries not stored dropped, and the derived
// identifier (HolderSystem for the Patient, EntrySystem otherwise) added.
// References to other stored entries, the holder's included, keep the
// card's fullUrl ("resource:0") for the writer to resolve.
type Item struct {
	Index      int    // the entry's position in the card's Bundle
	FullURL    string // "resource:N"
	Type       string
	Content    []byte
	Identifier string // the derived identifier's value
}

// Skipped is an entry of the card that is not stored.
type Skipped struct {
	Index   int
	FullURL string
	Type    string
	Reason  string
}

// ReadContents reads the fhirBundle of a card for import
// (cards-specification.md, "Health Cards are Small": a collection Bundle
// whose entries have fullUrl resource:N and reference each other so). iss
// is the card's issuer and jws its compact serialization. The card must hold
// exactly one Patient. Of the other entries, those of the types keep
// accepts whose subject (Immunization.patient, Observation.subject) is that
// Patient become Items; the rest are Skipped with the reason.
func ReadContents(iss, jws string, bundle []byte, keep func(typ string) bool) (*Contents, error) {
	v, err := fhirjson.Parse(bundle)
	if err != nil {
		return nil, fmt.Errorf("the card's fhirBundle is not JSON: %v", err)
	}
	b, ok := v.(*fhirjson.Object)
	if !ok || b.Str("resourceType") != "Bundle" {
		return nil, errors.New("the card's fhirBundle is not a Bundle")
	}
	entries, _ := b.Get("entry").([]any)
	if len(entries) == 0 {
		return nil, errors.New("the card's Bundle has no entries")
	}
	type entry struct {
		fullURL string
		res     *fhirjson.Object
	}
	es := make([]entry, len(entries))
	holder := -1
	seen := map[string]bool{}
	for i, x := range entries {
		e, ok := x.(*fhirjson.Object)
		if !ok {
			return nil, fmt.Errorf("Bundle.entry[%d] is not an object", i)
		}
		res, ok := e.Get("resource").(*fhirjson.Object)
		if !ok || res.Str("resourceType") == "" {
			return nil, fmt.Errorf("Bundle.entry[%d] has no resource", i)
		}
		full := e.Str("fullUrl")
		if full == "" {
			return nil, fmt.Errorf("Bundle.entry[%d] has no fullUrl (cards name their entries resource:N)", i)
		}
		if seen[full] {
			return nil, fmt.Errorf("Bundle.entry[%d]: fullUrl %s is used twice", i, full)
		}
		seen[full] = true
		es[i] = entry{full, res}
		if res.Str("resourceType") == "Patient" {
			if holder >= 0 {
				return nil, fmt.Errorf("the card holds two Patients (Bundle.entry[%d] and [%d]); a card is about one person", holder, i)
			}
			holder = i
		}
	}
	if holder < 0 {
		return nil, errors.New("the card holds no Patient: it does not say whom it is about")
	}
	c := &Contents{CardID: Hash(jws)}
	hp := es[holder].res
	c.Holder = Item{Index: holder, FullURL: es[holder].fullURL, Type: "Patient", Identifier: Hash(iss + "\n" + canonical(hp))}

	// Which entries are stored: the types kept, about the holder.
	stored := map[string]bool{es[holder].fullURL: true}
	for i, e := range es {
		if i == holder {
			continue
		}
		typ := e.res.Str("resourceType")
		var reason string
		switch {
		case !keep(typ):
			reason = typ + " is not a resource type Mekong stores (Patient, Immunization, Observation)"
		case subjectRef(e.res) != es[holder].fullURL:
			reason = fmt.Sprintf("its %s does not refer to the card's Patient (%s)", subjectMember(typ), es[holder].fullURL)
		}
		if reason != "" {
			c.Skipped = append(c.Skipped, Skipped{Index: i, FullURL: e.fullURL, Type: typ, Reason: reason})
			continue
		}
		stored[e.fullURL] = true
	}
	// Each stored entry's identifier, hashed before anything is changed.
	// The same resource twice would be created twice (and match twice on
	// the next import): the repeat is skipped.
	ids := make([]string, len(es))
	ids[holder] = c.Holder.Identifier
	first := map[string]string{}
	for i, e := range es {
		if i == holder || !stored[e.fullURL] {
			continue
		}
		ids[i] = Hash(c.Holder.Identifier + "\n" + canonical(e.res))
		if f, dup := first[ids[i]]; dup {
			c.Skipped = append(c.Skipped, Skipped{Index: i, FullURL: e.fullURL, Type: e.res.Str("resourceType"), Reason: "it repeats " + f})
			stored[e.fullURL] = false
			continue
		}
		first[ids[i]] = e.fullURL
	}
	for i, e := range es {
		if !stored[e.fullURL] {
			continue
		}
		system := EntrySystem
		if i == holder {
			system = HolderSystem
		}
		res := e.res
		res.Del("id")
		keepRefs(res, stored)
		res, _ = pruneObject(res)
		addIdentifier(res, system, ids[i])
		it := Item{Index: i, FullURL: e.fullURL, Type: res.Str("resourceType"), Content: fhirjson.Encode(res), Identifier: ids[i]}
		if i == holder {
			c.Holder = it
			continue
		}
		c.Items = append(c.Items, it)
	}
	slices.SortFunc(c.Skipped, func(a, b Skipped) int { return a.Index - b.Index })
	return c, nil
}

// Hash is base64url(SHA-256(s)) without padding.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// subjectMember names the element that says whom a resource is about.
func subjectMember(typ string) string {
	if typ == "Immunization" {
		return "patient"
	}
	return "subject"
}

func subjectRef(res *fhirjson.Object) string {
	o, _ := res.Get(subjectMember(res.Str("resourceType"))).(*fhirjson.Object)
	if o == nil {
		return ""
	}
	return o.Str("reference")
}

// keepRefs drops references to anything the import does not store (a
// Practitioner entry, an absolute URL): they would dangle. A contained
// reference (#id) stays.
func keepRefs(v any, stored map[string]bool) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			keepRefs(e, stored)
		}
	case *fhirjson.Object:
		if ref, ok := x.Get("reference").(string); ok && !strings.HasPrefix(ref, "#") && !stored[ref] {
			x.Del("reference")
			x.Del("type")
		}
		for _, e := range x.All() {
			keepRefs(e, stored)
		}
	}
}

func pruneObject(o *fhirjson.Object) (*fhirjson.Object, bool) {
	v, empty := prune(o)
	return v.(*fhirjson.Object), empty
}

// addIdentifier appends {system, value} to the resource's identifiers
// (a new identifier member goes last).
func addIdentifier(res *fhirjson.Object, system, value string) {
	id := fhirjson.NewObject()
	id.Set("system", system)
	id.Set("value", value)
	list, _ := res.Get("identifier").([]any)
	res.Set("identifier", append(list, id))
}

// canonical is a resource's JSON with object members sorted, so equal
// content hashes equally whatever order an issuer wrote it in.
func canonical(v any) string {
	b, err := fhirjson.Marshal(plain(v))
	if err != nil {
		return "" // strings, numbers, bools and containers of them: cannot fail
	}
	return string(b)
}

// plain turns a tree into maps and slices, which encoding/json sorts.
func plain(v any) any {
	switch x := v.(type) {
	case *fhirjson.Object:
		m := make(map[string]any, x.Len())
		for k, e := range x.All() {
			m[k] = plain(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}
