package th43

import (
	"archive/zip"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/terminology"
)

// Encode writes records as a 43-file export, the ZIP archive of PERSON.txt,
// EPI.txt, LABFU.txt and SPECIALPP.txt a Thai hospital system loads. What
// cannot be expressed in these files is returned as an Omission.
func Encode(w io.Writer, records []mapping.Record, cfg Config) ([]mapping.Omission, error) {
	files, omitted, err := EncodeFiles(records, cfg)
	if err != nil {
		return nil, err
	}
	zw := zip.NewWriter(w)
	for _, f := range files {
		fw, err := zw.Create(f.Name)
		if err != nil {
			return nil, fmt.Errorf("th43.Encode: %w", err)
		}
		if _, err := fw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("th43.Encode: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("th43.Encode: %w", err)
	}
	return omitted, nil
}

// EncodeFiles returns the four files, each with its header row. Patients
// Mekong decoded from 43 files keep their HOSPCODE, PID and visit numbers;
// patients from other sources need Config.HospCode and get a PID derived
// from their identifiers.
func EncodeFiles(records []mapping.Record, cfg Config) ([]File, []mapping.Omission, error) {
	cfg = cfg.withDefaults()
	if cfg.HospCode != "" && !hospPattern.MatchString(cfg.HospCode) {
		return nil, nil, fmt.Errorf("th43.EncodeFiles: HospCode %q is not 5 digits", cfg.HospCode)
	}
	enc := strings.ToLower(cfg.Encoding)
	if enc != Auto && enc != UTF8 && enc != TIS620 {
		return nil, nil, fmt.Errorf("th43.EncodeFiles: unknown encoding %q", cfg.Encoding)
	}
	e := &encoder{cfg: cfg, rows: map[string][]map[string]string{}}
	for _, rec := range records {
		e.record(rec)
	}
	var files []File
	for _, s := range specs {
		var b strings.Builder
		b.WriteString(strings.Join(s.columns, "|") + "\n")
		for _, r := range e.rows[s.name] {
			vals := make([]string, len(s.columns))
			for i, c := range s.columns {
				vals[i] = r[c]
			}
			b.WriteString(strings.Join(vals, "|") + "\n")
		}
		data := []byte(b.String())
		if enc == TIS620 {
			data = e.tis620(s.name, b.String())
		}
		files = append(files, File{Name: s.name + ".txt", Data: data})
	}
	return files, e.omitted, nil
}

type encoder struct {
	cfg     Config
	rows    map[string][]map[string]string
	omitted []mapping.Omission
}

func (e *encoder) omit(what, format string, args ...any) {
	e.omitted = append(e.omitted, mapping.Omission{Resource: what, Reason: fmt.Sprintf(format, args...)})
}

// hp is a HOSPCODE+PID pair, one PERSON row.
type hp struct{ hcode, pid string }

func (e *encoder) record(rec mapping.Record) {
	p := &rec.Patient
	keys := e.personKeys(p)
	if len(keys) == 0 {
		e.omit("Patient", "no HOSPCODE and PID: set Config.HospCode to export patients from other sources")
		return
	}
	cid := p.IdentifierValue(mapping.ThaiCID)
	for _, k := range keys {
		e.rows[personSpec.name] = append(e.rows[personSpec.name], e.personRow(p, k, cid))
	}
	for _, im := range rec.Immunizations {
		e.epi(im, e.owner(im.Identifier, mapping.TH43EPI, keys), cid)
	}
	for _, o := range rec.Observations {
		e.observation(o, keys, cid)
	}
}

// personKeys lists the HOSPCODE+PID pairs to write the patient under.
func (e *encoder) personKeys(p *mapping.Patient) []hp {
	if h := e.cfg.HospCode; h != "" {
		if pid := p.IdentifierValue(mapping.ThaiLocal(h, "PID")); pid != "" {
			return []hp{{h, pid}}
		}
		return []hp{{h, derivedPID(p)}}
	}
	var out []hp
	for _, id := range p.Identifier {
		rest, ok := strings.CutPrefix(id.System, "https://terms.sil-th.org/hcode/5/")
		if h, kind, _ := strings.Cut(rest, "/"); ok && kind == "PID" && hospPattern.MatchString(h) {
			out = append(out, hp{h, id.Value})
		}
	}
	return out
}

// derivedPID gives a patient from another source a stable 15-digit PID:
// "9" and 14 digits of a hash of their first identifier, so exporting the
// same patient twice yields the same PID.
func derivedPID(p *mapping.Patient) string {
	h := fnv.New64a()
	if len(p.Identifier) > 0 {
		h.Write([]byte(p.Identifier[0].Key()))
	}
	return fmt.Sprintf("9%014d", h.Sum64()%100000000000000)
}

// owner returns the PERSON row a service row goes under: the HOSPCODE+PID
// of its 43-file key when the patient is written under it, else the first.
func (e *encoder) owner(ids []mapping.Identifier, system string, keys []hp) hp {
	if v := mapping.IdentifierIn(ids, system); v != "" {
		parts := strings.Split(v, "/")
		for _, k := range keys {
			if len(parts) == 4 && parts[0] == k.hcode && parts[1] == k.pid {
				return k
			}
		}
	}
	return keys[0]
}

func (e *encoder) personRow(p *mapping.Patient, k hp, cid string) map[string]string {
	r := map[string]string{"HOSPCODE": k.hcode, "PID": k.pid, "CID": cid}
	r["HN"] = p.IdentifierValue(mapping.ThaiLocal(k.hcode, "HN"))
	if n := thaiName(p); n != nil {
		r["NAME"], r["LNAME"] = n.GivenName(), n.Family
	}
	switch p.Gender {
	case "male":
		r["SEX"] = "1"
	case "female":
		r["SEX"] = "2"
	default:
		e.omit("Patient", "sex %q has no 43-file code: SEX left empty", p.Gender)
	}
	r["BIRTH"] = formatDate(p.BirthDate)
	for _, id := range p.Identifier {
		if id.System == mapping.ThaiPassport || mapping.PassportCountry(id.System) != "" {
			r["PASSPORT"] = id.Value
			break
		}
	}
	r["TYPEAREA"] = e.cfg.TypeArea
	for _, ext := range p.Extension {
		switch ext.URL {
		case mapping.ExtTypeArea:
			r["TYPEAREA"] = ext.ValueCode
		case mapping.ExtNationality:
			for _, sub := range ext.Extension {
				if sub.URL == "code" {
					r["NATION"] = e.nation(sub.ValueCodeableConcept)
				}
			}
		}
	}
	for _, t := range p.Telecom {
		switch {
		case t.System == "phone" && t.Use == "mobile":
			r["MOBILE"] = t.Value
		case t.System == "phone" && r["TELEPHONE"] == "":
			r["TELEPHONE"] = t.Value
		}
	}
	updated := ""
	if p.Meta != nil {
		updated = p.Meta.LastUpdated
	}
	r["D_UPDATE"] = formatTimestamp(updated, e.cfg.Now)
	return r
}

// thaiName picks the name a Thai system shows: Thai script, else Latin, else any.
func thaiName(p *mapping.Patient) *mapping.HumanName {
	for _, lang := range []string{"th", "en"} {
		for i := range p.Name {
			if p.Name[i].Language() == lang || p.Name[i].Language() == "" && mapping.ScriptLanguage(p.Name[i].GivenName()+p.Name[i].Family) == lang {
				return &p.Name[i]
			}
		}
	}
	if len(p.Name) > 0 {
		return &p.Name[0]
	}
	return nil
}

// nation returns the THCC nationality code, translating ISO 3166 when needed.
func (e *encoder) nation(cc *mapping.CodeableConcept) string {
	if c := mapping.CodeIn(cc, mapping.THCCNationality); c != "" {
		return c
	}
	if iso := mapping.CodeIn(cc, mapping.ISO3166); iso != "" {
		if c, ok := terminology.First(e.cfg.Terminology.Map(mapping.ISO3166, iso, mapping.THCCNationality)); ok {
			return c.Code
		}
	}
	return ""
}

// service fills the columns every service row shares.
func (e *encoder) service(k hp, cid, date string, enc *mapping.Reference, updated string) map[string]string {
	r := map[string]string{"HOSPCODE": k.hcode, "PID": k.pid, "CID": cid, "DATE_SERV": formatDate(date)}
	r["SEQ"] = r["DATE_SERV"] // a visit number for services recorded elsewhere
	if enc != nil && enc.Identifier != nil && enc.Identifier.System == mapping.ThaiLocal(k.hcode, "VN") {
		r["SEQ"] = enc.Identifier.Value
	}
	r["D_UPDATE"] = formatTimestamp(updated, e.cfg.Now)
	return r
}

// place and provider read the performers written by the decoder.
func place(refs []mapping.Reference) string {
	for _, p := range refs {
		if p.Identifier != nil && p.Identifier.System == mapping.HCode {
			return p.Identifier.Value
		}
	}
	return ""
}

func provider(refs []mapping.Reference, hcode string) string {
	for _, p := range refs {
		if p.Identifier != nil && p.Identifier.System == mapping.TH43Provider+"/"+hcode {
			return p.Identifier.Value
		}
	}
	return ""
}

func lastUpdated(m *mapping.Meta) string {
	if m == nil {
		return ""
	}
	return m.LastUpdated
}

func (e *encoder) epi(im mapping.Immunization, k hp, cid string) {
	what := mapping.Describe("Immunization", im.Identifier)
	vt := mapping.CodeIn(&im.VaccineCode, mapping.THCCVaccine)
	if vt == "" {
		vt = e.vaccineType(im)
	}
	if vt == "" {
		e.omit(what, "no THCC vaccine code: the crosswalk has no single THCC code for its CVX code and dose")
		return
	}
	if formatDate(im.OccurrenceDateTime) == "" {
		e.omit(what, "no vaccination date")
		return
	}
	var actors []mapping.Reference
	for _, p := range im.Performer {
		actors = append(actors, p.Actor)
	}
	r := e.service(k, cid, im.OccurrenceDateTime, im.Encounter, lastUpdated(im.Meta))
	r["VACCINETYPE"], r["VACCINEPLACE"], r["PROVIDER"] = vt, place(actors), provider(actors, k.hcode)
	e.rows[epiSpec.name] = append(e.rows[epiSpec.name], r)
}

// vaccineType reads the THCC crosswalk backwards: CVX and dose number to
// the one THCC code (CVX 511, dose 2 → CS2). A vaccine without a dose
// number matches only when the THCC code carries none (BCG).
func (e *encoder) vaccineType(im mapping.Immunization) string {
	cvx := mapping.CodeIn(&im.VaccineCode, mapping.CVX)
	if cvx == "" {
		return ""
	}
	t := e.cfg.Terminology
	if dose := im.Dose(); dose > 0 {
		if c, ok := terminology.First(t.Map(mapping.CVX, cvx, mapping.THCCVaccine, terminology.Property{Property: terminology.Dose, Value: strconv.Itoa(dose)})); ok {
			return c.Code
		}
	}
	var plain []terminology.Match
	for _, m := range t.Map(mapping.CVX, cvx, mapping.THCCVaccine) {
		if len(m.Product) == 0 {
			plain = append(plain, m)
		}
	}
	if c, ok := terminology.First(plain); ok {
		return c.Code
	}
	return ""
}
