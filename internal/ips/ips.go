// Package ips builds International Patient Summary documents (HL7 IPS
// 2.0, http://hl7.org/fhir/uv/ips/STU2): a document Bundle whose first
// entry is a Composition with one section per kind of record
// (immunizations, results, vital signs, social history, pregnancy, and the
// three required sections Mekong holds no data for), each with a narrative
// a clinician can read, followed by the Patient, the author Organization
// and the resources the sections list.
//
// It knows neither HTTP nor storage. The caller reads the Patient and its
// resources with the requester's access, so what the requester may not see
// (HIV and TB results without permission) never reaches Build: no entry,
// narrative, count or emptyReason can mention it.
package ips

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// Canonical URLs and code systems the document uses.
const (
	ProfileBundle       = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"
	ProfileComposition  = "http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips"
	ProfilePatient      = "http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips"
	ProfileOrganization = "http://hl7.org/fhir/uv/ips/StructureDefinition/Organization-uv-ips"

	Confidentiality  = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	ListEmptyReason  = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
	DataAbsentReason = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

	// PatientSummary is the LOINC document type of an IPS (60591-5).
	PatientSummary = "60591-5"
)

// Resource is a stored resource as read for the caller.
type Resource struct {
	Type, ID string
	Content  []byte
}

// Organization is the document's author and custodian: the organization
// running the gateway, from the server's configuration.
type Organization struct {
	Name string
	// Identifier is "system|value" (e.g. a Thai HCODE), or "".
	Identifier string
}

// Input is everything a document is made of.
type Input struct {
	// Base is the FHIR base URL; a stored resource's fullUrl is Base/Type/id.
	Base string
	// Patient is the subject.
	Patient Resource
	// Linked are the other Patients of the subject's linked set (the same
	// person's records from other sources) that the requester may read.
	// Their resources are in Resources, and their references to those
	// Patients become references to the subject; the header lists their
	// names and identifiers.
	Linked []Resource
	// Resources are the Immunizations and Observations the requester may
	// see, in any order.
	Resources []Resource
	// Truncated names the types of which more resources existed than
	// Resources holds (the newest Limit were given); the sections say so.
	Truncated map[string]bool
	Limit     int
	// Restricted are the security labels ("system|code") that make a
	// resource restricted, whatever its confidentiality code (HIV, TB...).
	Restricted []string
	Author     Organization
	// ID identifies the document (a UUID): Bundle.id, Composition.id and
	// the Bundle identifier urn:uuid:ID.
	ID string
	// Time is the document's timestamp and date.
	Time time.Time
}

// Document is a built summary.
type Document struct {
	// JSON is the document Bundle.
	JSON []byte
	// Included are the stored resources the document holds, the Patient
	// first: what the access was to, for the audit trail.
	Included []Resource
	// Confidentiality is the high-water mark: N, R or V.
	Confidentiality string
}

// entry is one resource of the document.
type entry struct {
	typ, id string
	res     *fhirjson.Object
	section Section
	date    string
}

// Build assembles the document.
func Build(in Input) (*Document, error) {
	if in.ID == "" || in.Patient.ID == "" {
		return nil, fmt.Errorf("ips.Build: the document id and the patient are required")
	}
	patient, err := fhirjson.ParseObject(in.Patient.Content)
	if err != nil {
		return nil, fmt.Errorf("ips.Build: Patient/%s: %w", in.Patient.ID, err)
	}
	doc := &Document{Included: []Resource{in.Patient}}

	var entries []*entry
	included := map[string]bool{}
	for _, r := range in.Resources {
		o, err := fhirjson.ParseObject(r.Content)
		if err != nil {
			return nil, fmt.Errorf("ips.Build: %s/%s: %w", r.Type, r.ID, err)
		}
		sec, ok := sectionOf(r.Type, o)
		if !ok || included[r.Type+"/"+r.ID] {
			continue
		}
		included[r.Type+"/"+r.ID] = true
		entries = append(entries, &entry{typ: r.Type, id: r.ID, res: o, section: sec, date: date(r.Type, o)})
		doc.Included = append(doc.Included, r)
	}
	// Entries in section order, newest first in each; equal dates in id order.
	rank := map[string]int{}
	for i, s := range sectionOrder {
		rank[s.Key] = i
	}
	sort.SliceStable(entries, func(i, j int) bool {
		if ri, rj := rank[entries[i].section.Key], rank[entries[j].section.Key]; ri != rj {
			return ri < rj
		}
		ti, tj := sortKey(entries[i].date), sortKey(entries[j].date)
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return entries[i].typ+"/"+entries[i].id < entries[j].typ+"/"+entries[j].id
	})

	linked := map[string]bool{in.Patient.ID: true}
	var others []*fhirjson.Object
	for _, l := range in.Linked {
		o, err := fhirjson.ParseObject(l.Content)
		if err != nil {
			return nil, fmt.Errorf("ips.Build: Patient/%s: %w", l.ID, err)
		}
		linked[l.ID] = true
		others = append(others, o)
		doc.Included = append(doc.Included, l)
	}
	rf := &refs{base: in.Base, subject: in.Patient.ID, linked: linked, included: included}
	preparePatient(patient)
	rf.fix("Patient", patient)
	for _, e := range entries {
		rf.fix(e.typ, e.res)
	}

	conf := highWaterMark(in.Restricted, append(append([]*fhirjson.Object{patient}, others...), resourcesOf(entries)...)...)
	doc.Confidentiality = conf
	org := organization(in.Author)
	orgURL := "urn:uuid:" + org.Str("id")
	patientURL := in.Base + "/Patient/" + in.Patient.ID

	comp := composition(in, patient, others, patientURL, orgURL, conf, sections(in, entries))
	bundleEntries := []any{
		obj("fullUrl", "urn:uuid:"+in.ID, "resource", comp),
		obj("fullUrl", patientURL, "resource", patient),
		obj("fullUrl", orgURL, "resource", org),
	}
	for _, e := range entries {
		bundleEntries = append(bundleEntries, obj("fullUrl", in.Base+"/"+e.typ+"/"+e.id, "resource", e.res))
	}
	b := obj(
		"resourceType", "Bundle",
		"id", in.ID,
		"meta", obj("profile", list(ProfileBundle), "security", list(confidentialityCoding(conf))),
		"language", "en",
		"identifier", obj("system", "urn:ietf:rfc:3986", "value", "urn:uuid:"+in.ID),
		"type", "document",
		"timestamp", instant(in.Time),
		"entry", bundleEntries,
	)
	doc.JSON = fhirjson.Encode(b)
	return doc, nil
}

func resourcesOf(entries []*entry) []*fhirjson.Object {
	out := make([]*fhirjson.Object, len(entries))
	for i, e := range entries {
		out[i] = e.res
	}
	return out
}

func instant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// preparePatient makes the document's copy of the Patient meet Patient-uv-ips
// (name 1..*, birthDate 1..1) without inventing data: an unknown birth date
// carries the data-absent-reason extension ("unknown", as the IPS
// missing-data rules say for required elements), and a name with no parts
// (none at all, or one an ingest kept as data-absent-reason only) the text
// "(name not recorded)", since ips-pat-1 needs family, given or text.
// Patient.link is dropped: it points to the records the document already
// merges (the linked set) or to records it does not hold.
func preparePatient(p *fhirjson.Object) {
	p.Del("link")
	absent := func() *fhirjson.Object {
		return obj("extension", list(obj("url", DataAbsentReason, "valueCode", "unknown")))
	}
	names := p.Objs("name")
	for _, n := range names {
		if n.Get("text") == nil && n.Get("family") == nil && n.Get("given") == nil {
			if n.Get("extension") == nil {
				n.Set("extension", absent().Get("extension"))
			}
			n.SetAfter(lastOf(n, "id", "extension", "use"), "text", unrecordedName)
		}
	}
	if len(names) == 0 {
		n := absent()
		n.Set("text", unrecordedName)
		p.SetAfter(lastOf(p, "resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension",
			"modifierExtension", "identifier", "active"), "name", list(n))
	}
	if p.Get("birthDate") == nil && p.Get("_birthDate") == nil {
		p.SetAfter(lastOf(p, "resourceType", "id", "meta", "text", "identifier", "active", "name", "telecom", "gender"), "_birthDate", absent())
	}
}

// unrecordedName is the text of a name the sources did not give.
const unrecordedName = "(name not recorded)"

// lastOf returns the last of keys that o has, for inserting after it.
func lastOf(o *fhirjson.Object, keys ...string) string {
	last := ""
	for _, k := range keys {
		if o.Get(k) != nil {
			last = k
		}
	}
	return last
}

// organization is the author: a deterministic id (UUIDv5 of name and
// identifier), so every document from one gateway names the same author.
func organization(a Organization) *fhirjson.Object {
	name := a.Name
	if name == "" {
		name = "Mekong FHIR gateway"
	}
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("mekong:organization:"+name+"|"+a.Identifier)).String()
	var ident *fhirjson.Object
	if sys, val, ok := strings.Cut(a.Identifier, "|"); ok && val != "" {
		ident = obj("system", sys, "value", val)
	} else if a.Identifier != "" {
		ident = obj("value", a.Identifier)
	}
	var idents []any
	if ident != nil {
		idents = list(ident)
	}
	x := newXHTML()
	x.text(name)
	if ident != nil {
		label := identifierLabel(ident.Str("system"))
		if label != "" {
			label += ": "
		}
		x.text(" (" + label + ident.Str("value") + ")")
	}
	return obj("resourceType", "Organization", "id", id, "meta", obj("profile", list(ProfileOrganization)),
		"text", narrative(x.String()), "identifier", idents, "name", name)
}

// confidentiality codes from least to most restricted
// (http://terminology.hl7.org/CodeSystem/v3-Confidentiality).
var confRank = map[string]int{"U": 0, "L": 1, "M": 2, "N": 3, "R": 4, "V": 5}
var confDisplay = map[string]string{"N": "normal", "R": "restricted", "V": "very restricted"}

// highWaterMark is the most restrictive confidentiality of what the document
// holds, at least N (https://hl7.org/fhir/uv/ips/STU2/Privacy-and-Security-Considerations.html):
// a resource's own v3-Confidentiality label counts, and a restricted label
// (HIV, TB) makes it at least R.
func highWaterMark(restricted []string, resources ...*fhirjson.Object) string {
	isRestricted := map[string]bool{}
	for _, l := range restricted {
		isRestricted[l] = true
	}
	best := "N"
	raise := func(c string) {
		if r, ok := confRank[c]; ok && r > confRank[best] {
			best = c
		}
	}
	for _, r := range resources {
		for _, l := range r.Obj("meta").Objs("security") {
			sys, code := l.Str("system"), l.Str("code")
			if sys == Confidentiality {
				raise(code)
			} else if isRestricted[sys+"|"+code] {
				raise("R")
			}
		}
	}
	return best
}

func confidentialityCoding(code string) *fhirjson.Object {
	return obj("system", Confidentiality, "code", code, "display", confDisplay[code])
}

func itoa(n int) string { return strconv.Itoa(n) }
