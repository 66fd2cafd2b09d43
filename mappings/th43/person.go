package th43

import (
	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// thIDType is TH Core's identifier-type code system (cid, localPid, ...).
const thIDType = "https://terms.sil-th.org/core/CodeSystem/cs-th-identifier-type"

func idType(system, code string) *mapping.CodeableConcept {
	return &mapping.CodeableConcept{Coding: []mapping.Coding{{System: system, Code: code}}}
}

// person maps a PERSON row to a Patient. Identifiers: the hospital-local PID
// (always; with HOSPCODE it is the key the other files join on), HN, the
// Thai CID and the passport. PERSON.PASSPORT has no issuing country, so the
// passport system comes from NATION through the nationality crosswalk, and
// TH Core's generic passport system is used when NATION names no country.
func (d *decoder) person(file string, r row) {
	s := d.newRow(file, r)
	hcode, pid := r.get("HOSPCODE"), r.get("PID")
	key := hcode + "|" + pid
	if r.broken { // rejected while reading; remembered for the rows that refer to it
		if _, dup := d.persons[key]; !dup && pid != "" {
			d.persons[key] = personRef{where: s.where()}
		}
		return
	}
	if prev, dup := d.persons[key]; dup {
		s.bad("PID", "duplicate of %s (same HOSPCODE and PID)", prev.where)
		s.finish(false)
		return
	}
	p := &mapping.Patient{ResourceType: "Patient", Meta: &mapping.Meta{Profile: []string{mapping.ProfilePatient}}}
	switch {
	case !hospPattern.MatchString(hcode):
		s.bad("HOSPCODE", "a HOSPCODE is 5 digits, got %q", hcode)
	case pid == "":
		s.bad("PID", "required: HOSPCODE+PID identify the person in every file")
	case !localPattern.MatchString(pid):
		s.bad("PID", "a PID is 1-15 letters or digits")
	default:
		p.Identifier = append(p.Identifier, mapping.Identifier{Type: idType(thIDType, "localPid"), System: mapping.ThaiLocal(hcode, "PID"), Value: pid})
		p.ManagingOrganization = &mapping.Reference{Type: "Organization", Identifier: &mapping.Identifier{System: mapping.HCode, Value: hcode}}
	}
	if hn := r.get("HN"); hn != "" && hospPattern.MatchString(hcode) {
		if !localPattern.MatchString(hn) {
			s.bad("HN", "an HN is 1-15 letters or digits")
		} else {
			p.Identifier = append(p.Identifier, mapping.Identifier{Type: idType(thIDType, "localHn"), System: mapping.ThaiLocal(hcode, "HN"), Value: hn})
		}
	}
	if cid := r.get("CID"); cid != "" {
		if !validCID(cid) {
			s.bad("CID", "not a valid 13-digit identification number (check digit)")
		} else {
			p.Identifier = append(p.Identifier, mapping.Identifier{Type: idType(thIDType, "cid"), System: mapping.ThaiCID, Value: cid})
		}
	}
	country := ""
	if nat := r.get("NATION"); nat != "" {
		if !codePattern.MatchString(nat) {
			s.bad("NATION", "%q is not a THCC nationality code", nat)
		} else {
			src := mapping.Coding{System: mapping.THCCNationality, Code: nat}
			iso, ok, known, _ := mapping.Translate(s.d.cfg.Terminology, src.System, nat, mapping.ISO3166)
			if !known {
				s.unmappedCode("NATION", src.System, nat)
			}
			codings := []mapping.Coding{src}
			if ok {
				codings = []mapping.Coding{iso, src}
				country = iso.Code
			}
			p.Extension = append(p.Extension, mapping.Extension{URL: mapping.ExtNationality, Extension: []mapping.Extension{{
				URL: "code", ValueCodeableConcept: &mapping.CodeableConcept{Coding: codings},
			}}})
		}
	}
	if pp := r.get("PASSPORT"); pp != "" {
		system := mapping.ThaiPassport
		if country != "" {
			system = mapping.Passport(country)
		}
		if !localPattern.MatchString(pp) {
			s.bad("PASSPORT", "a passport number is letters and digits")
		} else {
			p.Identifier = append(p.Identifier, mapping.Identifier{Type: idType(mapping.IdentifierType, "PPN"), System: system, Value: pp})
		}
	}
	if n, ok := mapping.NewName(r.get("LNAME"), r.get("NAME")); ok {
		p.Name = []mapping.HumanName{n}
	} else {
		s.bad("NAME", "NAME or LNAME is required")
	}
	switch sex := r.get("SEX"); sex {
	case "1":
		p.Gender = "male"
	case "2":
		p.Gender = "female"
	default:
		s.bad("SEX", "%q is not 1 (male) or 2 (female)", sex)
	}
	p.BirthDate = s.date("BIRTH", true)
	for _, t := range []struct{ col, use string }{{"TELEPHONE", "home"}, {"MOBILE", "mobile"}} {
		if v := r.get(t.col); v != "" {
			p.Telecom = append(p.Telecom, mapping.ContactPoint{System: "phone", Value: v, Use: t.use})
		}
	}
	if ta := r.get("TYPEAREA"); ta != "" {
		p.Extension = append(p.Extension, mapping.Extension{URL: mapping.ExtTypeArea, ValueCode: ta})
	}
	p.Meta.LastUpdated = s.updated()
	ref := personRef{where: s.where(), hospcode: hcode}
	if len(s.rejects) == 0 {
		h, err := d.b.Add(p, s.where())
		if err != nil {
			s.bad("", "%v", err)
		}
		ref.h = h
	}
	if pid != "" {
		d.persons[key] = ref
	}
	s.finish(ref.h != nil)
}

// owner finds the person a service row belongs to, or explains why not.
func (s *rowState) owner() (*mapping.Handle, string) {
	hcode, pid := s.r.get("HOSPCODE"), s.r.get("PID")
	if !hospPattern.MatchString(hcode) {
		s.bad("HOSPCODE", "a HOSPCODE is 5 digits, got %q", hcode)
		return nil, ""
	}
	if pid == "" {
		s.bad("PID", "required: HOSPCODE+PID join the row to its PERSON")
		return nil, ""
	}
	ref, ok := s.d.persons[hcode+"|"+pid]
	switch {
	case !ok:
		s.bad("PID", "no PERSON row has this HOSPCODE and PID")
	case ref.h == nil:
		s.bad("PID", "its PERSON row (%s) was rejected", ref.where)
	}
	return ref.h, hcode
}
