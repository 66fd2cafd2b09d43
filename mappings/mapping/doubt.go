package mapping

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// A source sometimes sends an identifier that fails its own check: a Thai
// CID whose check digit is wrong, a passport number with punctuation. The
// person is kept with everything else they came with, and so is the
// identifier, where a reader sees it; but it moves under Mekong's own
// system, so that no conditional create or identifier search on the real
// system can ever match it. Matching a person on a number that is known to
// be mistyped would merge two people.
//
// Mekong's system for it is DoubtfulSystem followed by "/" and the system
// the source meant, so that two doubted identifiers with the same value but
// different meant systems (PID 12/34 of two hospitals) never look alike to
// a search: a person kept on doubted identifiers alone is found again by
// exactly those (see Person.Match), and must not be found by another's.
const (
	// ExtIdentifierDoubt marks a doubted identifier; its sub-extensions
	// "system" (valueUri, the system the source meant) and "reason"
	// (valueString) say what it was and why it is doubted.
	ExtIdentifierDoubt = Base + "/StructureDefinition/identifier-doubt"
	// DoubtfulSystem is the root of every doubted identifier's system:
	// DoubtfulSystem + "/" + the meant system (see DoubtfulSystemFor).
	// Identifiers stored before 2026-12 carry DoubtfulSystem itself.
	DoubtfulSystem = Base + "/sid/doubtful-identifier"
	// ExtDataAbsentReason is FHIR's data-absent-reason extension.
	ExtDataAbsentReason = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
)

// DoubtfulSystemFor is the system a doubted identifier of the given meant
// system is kept under, e.g. DoubtfulSystem + "/https://terms.sil-th.org/id/th-cid".
func DoubtfulSystemFor(meant string) string {
	if meant == "" {
		return DoubtfulSystem
	}
	return DoubtfulSystem + "/" + meant
}

// IsDoubtfulSystem reports whether system is DoubtfulSystem or one under it.
func IsDoubtfulSystem(system string) bool {
	return system == DoubtfulSystem || strings.HasPrefix(system, DoubtfulSystem+"/")
}

// Doubtful returns id kept as a doubted identifier: its value and type, under
// DoubtfulSystemFor(id.System), with the system it was meant for and why it
// is doubted.
func Doubtful(id Identifier, why string) Identifier {
	return Identifier{
		Extension: []Extension{{URL: ExtIdentifierDoubt, Extension: []Extension{
			{URL: "system", ValueURI: id.System},
			{URL: "reason", ValueString: why},
		}}},
		Use:    id.Use,
		Type:   id.Type,
		System: DoubtfulSystemFor(id.System),
		Value:  id.Value,
	}
}

// IsDoubtful reports whether id is a doubted identifier (see Doubtful).
func (id Identifier) IsDoubtful() bool { return IsDoubtfulSystem(id.System) }

// MeantSystem is the system the source meant for a doubted identifier, and
// the identifier's own system otherwise.
func (id Identifier) MeantSystem() string {
	for _, e := range id.Extension {
		if e.URL != ExtIdentifierDoubt {
			continue
		}
		for _, x := range e.Extension {
			if x.URL == "system" {
				return x.ValueURI
			}
		}
	}
	return id.System
}

// trusted returns the identifiers that may identify the person: all but the doubted.
func trusted(ids []Identifier) []Identifier {
	var out []Identifier
	for _, id := range ids {
		if !id.IsDoubtful() {
			out = append(out, id)
		}
	}
	return out
}

// HasTrustedIdentifier reports whether p carries an identifier that is not
// doubted. A person without one is still kept (issue 11: a row is rejected
// only when nothing identifies the person at all), and is found again by
// exactly their doubted identifiers (see Person.Match).
func (p *Patient) HasTrustedIdentifier() bool { return len(trusted(p.Identifier)) > 0 }

// doubtedMatch is the search that finds again a person who carries doubted
// identifiers only: all of them (repeated parameters are AND,
// https://hl7.org/fhir/R4/search.html#combining), under their doubtful
// systems, which name the meant system, plus the birth date and sex when
// known. Re-sending the same row therefore finds what the first sending
// stored, while someone else who happens to share one mistyped number is
// not taken for this person. It is "" when p has a trusted identifier.
func doubtedMatch(p *Patient) string {
	if p.HasTrustedIdentifier() {
		return ""
	}
	var parts []string
	for _, id := range p.Identifier {
		parts = append(parts, "identifier="+queryEscape(escapeToken(id.System)+"|"+escapeToken(id.Value)))
	}
	slices.Sort(parts)
	parts = slices.Compact(parts)
	if p.BirthDate != "" {
		parts = append(parts, "birthdate="+queryEscape(p.BirthDate))
	}
	if p.Gender != "" {
		parts = append(parts, "gender="+queryEscape(p.Gender))
	}
	return strings.Join(parts, "&")
}

// TrustedIdentifiers returns p's identifiers that are not doubted, in order.
func (p *Patient) TrustedIdentifiers() []Identifier { return trusted(p.Identifier) }

// UnknownName is the name of a person whose source gave none that could be
// read: a HumanName holding only data-absent-reason "unknown"
// (https://hl7.org/fhir/R4/extension-data-absent-reason.html), so the record
// says plainly that the name is missing rather than leaving the person out.
func UnknownName() HumanName {
	return HumanName{Extension: []Extension{{URL: ExtDataAbsentReason, ValueCode: "unknown"}}}
}

var (
	isoYearMonth = regexp.MustCompile(`^\d{4}-\d{2}$`)
	isoYear      = regexp.MustCompile(`^\d{4}$`)
)

// SalvageDate keeps what a broken YYYY-MM-DD date still says: the year and
// month when only the day is impossible ("1992-02-30" → "1992-02"), the year
// when the month is ("1990-13-01" → "1990"). It returns "" when not even the
// year is a plausible one (1900-2100). A FHIR date may be partial
// (https://hl7.org/fhir/R4/datatypes.html#date), so the kept part is a true
// statement, and identity matching can still use the birth year.
func SalvageDate(s string) string {
	if len(s) < 4 || !isoYear.MatchString(s[:4]) {
		return ""
	}
	y, err := time.Parse("2006", s[:4])
	if err != nil || y.Year() < 1900 || y.Year() > 2100 {
		return ""
	}
	if len(s) >= 7 && isoYearMonth.MatchString(s[:7]) {
		if _, err := time.Parse("2006-01", s[:7]); err == nil {
			return s[:7]
		}
	}
	return s[:4]
}

// Salvaged is the warning text for a date SalvageDate shortened.
func Salvaged(kept string, err error) string {
	if kept == "" {
		return fmt.Sprintf("%v; the date was left out", err)
	}
	return fmt.Sprintf("%v; kept %s, the part that is a real date", err, kept)
}
