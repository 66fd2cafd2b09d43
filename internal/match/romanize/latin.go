package romanize

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Script is the writing system of a name.
type Script string

const (
	ScriptLatin Script = "latin"
	ScriptKhmer Script = "khmer"
	ScriptThai  Script = "thai"
	ScriptOther Script = "other"
)

// ScriptOf returns the script of the first letter of s.
func ScriptOf(s string) Script {
	for _, r := range s {
		switch {
		case isKhmer(r):
			return ScriptKhmer
		case isThai(r):
			return ScriptThai
		case unicode.Is(unicode.Latin, r):
			return ScriptLatin
		case unicode.IsLetter(r):
			return ScriptOther
		}
	}
	return ScriptOther
}

// Latin folds Latin-script text to lower-case a-z words: diacritics removed
// (UNGEGN's â, ô, é of the Khmer system become a, o, e), every other
// character a word separator.
func Latin(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		switch r {
		case 'đ':
			r = 'd'
		case 'ø':
			r = 'o'
		case 'ł':
			r = 'l'
		case 'ß':
			r = 's'
		case 'æ':
			b.WriteString("ae")
			space = false
			continue
		}
		if r >= 'a' && r <= 'z' {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
			continue
		}
		if r == '\'' || r == '’' || r == 'ʼ' { // O'Neil, UNGEGN's glottal stop
			continue
		}
		space = true
	}
	return b.String()
}

// Readings returns the Latin readings of a name written in any supported
// script, lower case a-z with single spaces: one for Latin and Khmer, the
// RTGS and the letter-by-letter reading for Thai (when they differ). Text in
// other scripts (Lao, Myanmar, ...) has no reading yet and gives none.
func Readings(s string) []string {
	var lat, km, th, thl []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == ',' || r == '-' || r == '.' || r == '/' }) {
		switch ScriptOf(w) {
		case ScriptKhmer:
			km = append(km, Khmer(w))
		case ScriptThai:
			th = append(th, Thai(w))
			thl = append(thl, ThaiLetters(w))
		case ScriptLatin:
			lat = append(lat, Latin(w))
		}
	}
	var out []string
	add := func(parts []string) {
		s := strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
		if s == "" {
			return
		}
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	// Mixed-script text keeps its Latin words in every reading.
	add(append(append(append([]string{}, lat...), km...), thl...))
	if len(th) > 0 {
		add(append(append(append([]string{}, lat...), km...), th...))
	}
	return out
}
