package ips

import (
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// sections builds the Composition's sections in the profile's order: the
// required ones always (empty: emptyReason "unavailable", which IPS 2.0
// recommends, never the removed absent-unknown code system), the others
// only when they hold something.
func sections(in Input, entries []*entry) []any {
	byKey := map[string][]*entry{}
	for _, e := range entries {
		byKey[e.section.Key] = append(byKey[e.section.Key], e)
	}
	var out []any
	for _, s := range sectionOrder {
		es := byKey[s.Key]
		if len(es) == 0 && !s.Required {
			continue
		}
		code := obj("coding", list(obj("system", loinc, "code", s.Code, "display", s.Display)))
		if len(es) == 0 {
			x := newXHTML()
			x.el("p", s.Empty)
			out = append(out, obj("title", s.Title, "code", code, "text", narrative(x.String()),
				"emptyReason", obj("coding", list(obj("system", ListEmptyReason, "code", "unavailable", "display", "Unavailable")),
					"text", "No information available")))
			continue
		}
		refs := make([]any, len(es))
		for i, e := range es {
			refs[i] = obj("reference", in.Base+"/"+e.typ+"/"+e.id)
		}
		out = append(out, obj("title", s.Title, "code", code, "text", narrative(sectionNarrative(in, s, es)), "entry", refs))
	}
	return out
}

// sectionNarrative is a table of the section's entries, newest first, and
// a note when the server's limit left older records out.
func sectionNarrative(in Input, s Section, es []*entry) string {
	x := newXHTML()
	rows := make([][]string, len(es))
	head := observationHead
	if s.Key == Immunizations.Key {
		head = immunizationHead
	}
	for i, e := range es {
		if e.typ == "Immunization" {
			rows[i] = immunizationRow(e.res)
		} else {
			rows[i] = observationRow(e.res)
		}
	}
	x.table(head, rows)
	typ := "Observation"
	if s.Key == Immunizations.Key {
		typ = "Immunization"
	}
	if in.Truncated[typ] {
		noun := "observations (results, vital signs, social history and pregnancy together)"
		if typ == "Immunization" {
			noun = "immunizations"
		}
		x.el("p", "Older records are not included: this summary holds the "+itoa(in.Limit)+" most recent "+noun+".")
	}
	return x.String()
}

// composition is the document's first entry
// (http://hl7.org/fhir/uv/ips/STU2/StructureDefinition-Composition-uv-ips.html).
func composition(in Input, patient *fhirjson.Object, others []*fhirjson.Object, patientURL, orgURL, conf string, secs []any) *fhirjson.Object {
	date := instant(in.Time)
	author := list(obj("reference", orgURL, "display", authorName(in.Author)))
	return obj(
		"resourceType", "Composition",
		"id", in.ID,
		"meta", obj("profile", list(ProfileComposition)),
		"language", "en",
		"text", narrative(compositionNarrative(in, patient, others, date)),
		"identifier", obj("system", "urn:ietf:rfc:3986", "value", "urn:uuid:"+in.ID),
		"status", "final",
		"type", obj("coding", list(obj("system", loinc, "code", PatientSummary, "display", "Patient summary Document"))),
		"subject", obj("reference", patientURL, "display", patientName(patient)),
		"date", date,
		"author", author,
		"title", "International Patient Summary",
		"confidentiality", conf,
		"custodian", obj("reference", orgURL, "display", authorName(in.Author)),
		"section", secs,
	)
}

func authorName(a Organization) string {
	if a.Name == "" {
		return "Mekong FHIR gateway"
	}
	return a.Name
}

// patientName joins the Patient's names in every script they were
// recorded in ("Sok Dara / សុខ ដារា").
func patientName(p *fhirjson.Object) string {
	var names []string
	seen := map[string]bool{}
	for _, n := range p.Objs("name") {
		if s := humanName(n); s != "" && !seen[s] {
			seen[s] = true
			names = append(names, s)
		}
	}
	return strings.Join(names, " / ")
}

// compositionNarrative is the document header: who it is about, how to
// recognise them, who produced it and when.
func compositionNarrative(in Input, patient *fhirjson.Object, others []*fhirjson.Object, date string) string {
	x := newXHTML()
	x.el("h3", "International Patient Summary")
	x.tag("p").el("b", "Patient: ").text(person(patient)).tag("/p")
	identifierList(x, patient)
	if len(others) > 0 {
		// The same person's records from other sources, in the scripts
		// and with the numbers those sources use.
		x.tag("p").el("b", "Also recorded as:").tag("/p").tag("ul")
		for _, o := range others {
			var ids []string
			for _, id := range o.Objs("identifier") {
				if id.Str("value") != "" {
					ids = append(ids, identifierText(id))
				}
			}
			line := person(o)
			if len(ids) > 0 {
				line += "; " + strings.Join(ids, "; ")
			}
			x.el("li", line)
		}
		x.tag("/ul")
	}
	x.tag("p").el("b", "Produced by: ").text(authorName(in.Author) + ", " + formatDate(date)).tag("/p")
	return x.String()
}

// person is "Sokha Chan / ចាន់ សុខា, female, born 3 Nov 1995".
func person(p *fhirjson.Object) string {
	s := patientName(p)
	if s == "" {
		s = unrecordedName
	}
	if g := p.Str("gender"); g != "" {
		s += ", " + g
	}
	if b := p.Str("birthDate"); b != "" {
		s += ", born " + formatDate(b)
	} else {
		s += ", date of birth not recorded"
	}
	return s
}

// identifierList writes a Patient's identifiers as a list.
func identifierList(x *xhtml, p *fhirjson.Object) {
	var ids []string
	for _, id := range p.Objs("identifier") {
		if id.Str("value") != "" {
			ids = append(ids, identifierText(id))
		}
	}
	if len(ids) == 0 {
		return
	}
	x.tag("ul")
	for _, id := range ids {
		x.el("li", id)
	}
	x.tag("/ul")
}

// identifierText is "Passport (KHM): N0123456"; an identifier an ingest kept
// as doubtful (CONTRACTS §7: failed its own check) says so and why, so a
// clinic does not take a mistyped number for the person's.
func identifierText(id *fhirjson.Object) string {
	system, doubt := id.Str("system"), ""
	if system == mapping.DoubtfulSystem {
		system = ""
		for _, e := range id.Objs("extension") {
			if e.Str("url") != mapping.ExtIdentifierDoubt {
				continue
			}
			for _, x := range e.Objs("extension") {
				switch x.Str("url") {
				case "system":
					system = x.Str("valueUri")
				case "reason":
					doubt = x.Str("valueString")
				}
			}
		}
		if doubt == "" {
			doubt = "failed its source's check"
		}
		doubt = " (doubtful: " + doubt + ")"
	}
	label := identifierLabel(system)
	if label == "" {
		label = "Identifier"
	}
	return label + ": " + id.Str("value") + doubt
}
