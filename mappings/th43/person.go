package th43

import (
	"maps"
	"net/url"
	"slices"

	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// thIDType is TH Core's identifier-type code system (cid, localPid, ...).
const thIDType = "https://terms.sil-th.org/core/CodeSystem/cs-th-identifier-type"

func idType(system, code string) *mapping.CodeableConcept {
	return &mapping.CodeableConcept{Coding: []mapping.Coding{{System: system, Code: code}}}
}

// person maps a PERSON row to a Patient. Identifiers: the hospital-local PID
// (with HOSPCODE it is the key the other files join on), HN, the Thai CID and
// the passport. PERSON.PASSPORT has no issuing country, so the passport
// system comes from NATION through the nationality crosswalk, and TH Core's
// generic passport system is used when NATION names no country.
//
// One doubtful field never costs the person (issue 11): a CID whose check
// digit is wrong, a malformed passport, HN or PID is kept as a doubted
// identifier (mapping.Doubtful), an impossible birth date keeps its year
// (and month), an unknown sex or nationality is left out, a missing name is
// recorded as unknown; each is a warning naming the file, row and column.
// The row is rejected only when it carries no identifier at all; a person
// whose identifiers are all doubted is kept, found again by exactly those
// (mapping.Person.Match), and their rows in the other files still join on
// HOSPCODE+PID.
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
	if prev, dup := d.persons[key]; dup && pid != "" {
		s.bad("PID", "duplicate of %s (same HOSPCODE and PID)", prev.where)
		s.finish(false)
		return
	}
	for _, col := range slices.Sorted(maps.Keys(r.unreadable)) {
		s.warn(col, "%s: the column was left out", r.unreadable[col])
	}
	p := &mapping.Patient{ResourceType: "Patient", Meta: &mapping.Meta{Profile: []string{mapping.ProfilePatient}}}
	// local adds a hospital-local identifier (PID, HN): doubted when the
	// value or the HOSPCODE that scopes it is malformed.
	goodHosp := hospPattern.MatchString(hcode)
	if !goodHosp {
		s.warn("HOSPCODE", "a HOSPCODE is 5 digits, got %q: the hospital-local identifiers are kept as doubtful", hcode)
	}
	local := func(col, kind, typ, v string) {
		id := mapping.Identifier{Type: idType(thIDType, typ), System: mapping.ThaiLocal(hospScope(hcode), kind), Value: v}
		switch {
		case !localPattern.MatchString(v):
			s.warn(col, "a %s is 1-15 letters or digits: kept as a doubtful identifier", col)
			p.Identifier = append(p.Identifier, mapping.Doubtful(id, "not 1-15 letters or digits"))
		case !goodHosp:
			p.Identifier = append(p.Identifier, mapping.Doubtful(id, "its HOSPCODE is not 5 digits"))
		default:
			p.Identifier = append(p.Identifier, id)
		}
	}
	if pid == "" {
		s.warn("PID", "required: HOSPCODE+PID join the person's rows in the other files; the person is kept, those rows cannot be joined")
	} else {
		local("PID", "PID", "localPid", pid)
	}
	if goodHosp {
		p.ManagingOrganization = &mapping.Reference{Type: "Organization", Identifier: &mapping.Identifier{System: mapping.HCode, Value: hcode}}
	}
	if hn := r.get("HN"); hn != "" {
		local("HN", "HN", "localHn", hn)
	}
	if cid := r.get("CID"); cid != "" {
		id := mapping.Identifier{Type: idType(thIDType, "cid"), System: mapping.ThaiCID, Value: cid}
		if why := cidProblem(cid); why != "" {
			s.warn("CID", "%s: kept as a doubtful identifier, never used to match", why)
			id = mapping.Doubtful(id, why)
		}
		p.Identifier = append(p.Identifier, id)
	}
	country := ""
	if nat := r.get("NATION"); nat != "" {
		if !codePattern.MatchString(nat) {
			s.warn("NATION", "%q is not a THCC nationality code: nationality left out", nat)
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
		id := mapping.Identifier{Type: idType(mapping.IdentifierType, "PPN"), System: system, Value: pp}
		if !localPattern.MatchString(pp) {
			s.warn("PASSPORT", "a passport number is letters and digits: kept as a doubtful identifier")
			id = mapping.Doubtful(id, "not letters and digits")
		}
		p.Identifier = append(p.Identifier, id)
	}
	if n, ok := mapping.NewName(r.get("LNAME"), r.get("NAME")); ok {
		p.Name = []mapping.HumanName{n}
	} else {
		_, a := r.unreadable["NAME"]
		_, b := r.unreadable["LNAME"]
		if !a && !b { // an unreadable name was reported with its column
			s.warn("NAME", "NAME or LNAME is required: the name is recorded as unknown")
		}
		p.Name = []mapping.HumanName{mapping.UnknownName()}
	}
	switch sex := r.get("SEX"); sex {
	case "1":
		p.Gender = "male"
	case "2":
		p.Gender = "female"
	case "":
		if _, unreadable := r.unreadable["SEX"]; !unreadable {
			s.warn("SEX", "required (1 male, 2 female): sex left out")
		}
	default:
		s.warn("SEX", "%q is not 1 (male) or 2 (female): sex left out", sex)
	}
	p.BirthDate = s.birthDate("BIRTH")
	if v := r.get("D_UPDATE"); v != "" {
		if t, err := parseTimestamp(v); err != nil {
			s.warn("D_UPDATE", "%v: left out", err)
		} else {
			p.Meta.LastUpdated = t
		}
	} else {
		s.warn("D_UPDATE", "required: left out")
	}
	for _, t := range []struct{ col, use string }{{"TELEPHONE", "home"}, {"MOBILE", "mobile"}} {
		if v := r.get(t.col); v != "" {
			p.Telecom = append(p.Telecom, mapping.ContactPoint{System: "phone", Value: v, Use: t.use})
		}
	}
	if ta := r.get("TYPEAREA"); ta != "" {
		p.Extension = append(p.Extension, mapping.Extension{URL: mapping.ExtTypeArea, ValueCode: ta})
	}
	ref := personRef{where: s.where(), hospcode: hcode}
	h, err := d.b.Add(p, s.where())
	if err != nil {
		s.bad("", "%v", err)
	}
	ref.h = h
	if pid != "" {
		d.persons[key] = ref
	}
	s.finish(ref.h != nil)
}

// birthDate reads PERSON.BIRTH: an impossible date keeps the part that is
// real (mapping.SalvageDate), a missing or unreadable one is left out.
func (s *rowState) birthDate(col string) string {
	v := s.r.get(col)
	if v == "" {
		if _, unreadable := s.r.unreadable[col]; !unreadable {
			s.warn(col, "required: the birth date is left out")
		}
		return ""
	}
	out, err := parseDate(v)
	if err == nil {
		return out
	}
	kept := ""
	if compactDate.MatchString(v) && !buddhistEra(v) {
		kept = mapping.SalvageDate(v[:4] + "-" + v[4:6] + "-" + v[6:])
	}
	s.warn(col, "%s", mapping.Salvaged(kept, err))
	return kept
}

// owner finds the person a service row belongs to, or explains why not.
func (s *rowState) owner() (*mapping.Handle, string) {
	hcode, pid := s.r.get("HOSPCODE"), s.r.get("PID")
	if !hospPattern.MatchString(hcode) {
		// One doubtful field never costs the person the rest of their data:
		// the row still joins its PERSON row by HOSPCODE and PID as written
		// (that PERSON's hospital-local identifiers are doubted already).
		s.warn("HOSPCODE", "a HOSPCODE is 5 digits, got %q: the row is kept, joined to its PERSON row as written", hcode)
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
	return ref.h, hospScope(hcode)
}

// hospScope is a HOSPCODE as it scopes identifier systems: a malformed one
// escaped, so that the systems built from it stay valid URIs (a good one
// is unchanged).
func hospScope(hcode string) string { return url.PathEscape(hcode) }
