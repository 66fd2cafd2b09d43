// Package th43 maps the Thai Ministry of Public Health "43 files" export
// (แฟ้มมาตรฐาน 43 แฟ้ม) to FHIR and back: PERSON, EPI, LABFU and SPECIALPP,
// pipe-delimited with a header row, joined on HOSPCODE+PID, in UTF-8 or
// TIS-620 (domain.md §4.1). Other files of an export are not read.
package th43

import (
	"regexp"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/mappings/terminology"
)

// Config adapts the mapping to one export. The zero value decodes any
// export; encoding needs HospCode for patients from other sources.
type Config struct {
	// Encoding is Auto (detect per file), UTF8 or TIS620; the encoder writes
	// UTF-8 unless it is TIS620.
	Encoding string
	// HospCode is the 5-digit code of the hospital an export is written for.
	// Empty: each patient is written under the HOSPCODE and PID it came with.
	HospCode string
	// TypeArea is PERSON.TYPEAREA for patients from other sources (the
	// decoder keeps the value of Thai patients). Mekong does not guess it.
	TypeArea string
	// Now stamps D_UPDATE of rows whose resource has no meta.lastUpdated
	// (default time.Now).
	Now func() time.Time
	// Terminology translates codes (default terminology.Default()).
	Terminology *terminology.Terminology
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Terminology == nil {
		c.Terminology = terminology.Default()
	}
	return c
}

// thaiTime is the zone of every 43-file timestamp (UTC+7, no daylight saving).
var thaiTime = time.FixedZone("ICT", 7*3600)

// spec describes one file: its columns in the standard order (the encoder
// writes them all), the columns a header must have, and the columns Mekong maps.
type spec struct {
	name     string
	columns  []string
	required []string
	mapped   []string
}

// The column lists follow the public loaders of the 43-file format
// (domain.md §4.1), with the version-dependent columns Mekong maps added at
// the end, as newer versions do.
var (
	personSpec = spec{
		name: "PERSON",
		columns: []string{"HOSPCODE", "CID", "PID", "HID", "PRENAME", "NAME", "LNAME", "HN", "SEX", "BIRTH", "MSTATUS",
			"OCCUPATION_OLD", "OCCUPATION_NEW", "RACE", "NATION", "RELIGION", "EDUCATION", "FSTATUS", "FATHER", "MOTHER",
			"COUPLE", "VSTATUS", "MOVEIN", "DISCHARGE", "DDISCHARGE", "ABOGROUP", "RHGROUP", "LABOR", "PASSPORT",
			"TYPEAREA", "D_UPDATE", "TELEPHONE", "MOBILE"},
		required: []string{"HOSPCODE", "PID", "NAME", "LNAME", "SEX", "BIRTH", "D_UPDATE"},
		mapped: []string{"HOSPCODE", "CID", "PID", "NAME", "LNAME", "HN", "SEX", "BIRTH", "NATION", "PASSPORT",
			"TYPEAREA", "D_UPDATE", "TELEPHONE", "MOBILE"},
	}
	epiSpec = spec{
		name:     "EPI",
		columns:  []string{"HOSPCODE", "PID", "SEQ", "DATE_SERV", "VACCINETYPE", "VACCINEPLACE", "PROVIDER", "D_UPDATE", "CID"},
		required: []string{"HOSPCODE", "PID", "DATE_SERV", "VACCINETYPE", "D_UPDATE"},
		mapped:   []string{"HOSPCODE", "PID", "SEQ", "DATE_SERV", "VACCINETYPE", "VACCINEPLACE", "PROVIDER", "D_UPDATE", "CID"},
	}
	labfuSpec = spec{
		name:     "LABFU",
		columns:  []string{"HOSPCODE", "PID", "SEQ", "DATE_SERV", "LABTEST", "LABRESULT", "D_UPDATE", "LABPLACE", "CID", "PROVIDER"},
		required: []string{"HOSPCODE", "PID", "SEQ", "DATE_SERV", "LABTEST", "LABRESULT", "D_UPDATE"},
		mapped:   []string{"HOSPCODE", "PID", "SEQ", "DATE_SERV", "LABTEST", "LABRESULT", "D_UPDATE", "LABPLACE", "CID", "PROVIDER"},
	}
	specialppSpec = spec{
		name:     "SPECIALPP",
		columns:  []string{"HOSPCODE", "PID", "SEQ", "DATE_SERV", "SERVPLACE", "PPSPECIAL", "PPSPLACE", "PROVIDER", "D_UPDATE", "CID"},
		required: []string{"HOSPCODE", "PID", "SEQ", "DATE_SERV", "PPSPECIAL", "D_UPDATE"},
		mapped:   []string{"HOSPCODE", "PID", "SEQ", "DATE_SERV", "SERVPLACE", "PPSPECIAL", "PPSPLACE", "PROVIDER", "D_UPDATE", "CID"},
	}
	specs = []spec{personSpec, epiSpec, labfuSpec, specialppSpec}
)

// kindOf returns the spec a file name denotes: PERSON.txt, person.TXT, or an
// export-prefixed name ending in _PERSON.txt.
func kindOf(filename string) (spec, bool) {
	base := filename
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	base = strings.ToUpper(base)
	for _, s := range specs {
		if base == s.name || strings.HasSuffix(base, "_"+s.name) {
			return s, true
		}
	}
	return spec{}, false
}

var (
	hospPattern  = regexp.MustCompile(`^[0-9]{5}$`)
	localPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,14}$`)
	codePattern  = regexp.MustCompile(`^[0-9A-Z]{2,7}$`)
	seqPattern   = regexp.MustCompile(`^[A-Za-z0-9]{1,16}$`)
	digits13     = regexp.MustCompile(`^[0-9]{13}$`)
)

// validCID checks the 13-digit Thai identification number and its check
// digit: the weighted sum of the first twelve digits (weights 13..2) mod 11.
func validCID(s string) bool {
	if !digits13.MatchString(s) {
		return false
	}
	sum := 0
	for i := 0; i < 12; i++ {
		sum += int(s[i]-'0') * (13 - i)
	}
	return int(s[12]-'0') == (11-sum%11)%10
}

// cidProblem says why a CID is doubted, "" when it is a valid 13-digit
// identification number.
func cidProblem(s string) string {
	switch {
	case !digits13.MatchString(s):
		return "not a 13-digit identification number"
	case !validCID(s):
		return "not a valid identification number (check digit)"
	}
	return ""
}
