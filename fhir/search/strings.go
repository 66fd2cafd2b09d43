package search

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Normalize folds a string for the default string search, which matches
// "after both have been normalized by case and accent"
// (https://hl7.org/fhir/R4/search.html#string). Both the indexed value and
// the search value go through it; the index then compares bytes.
//
//   - Case: full Unicode case folding, so "ÉLODIE" is "elodie" and "Straße"
//     is "strasse".
//   - Accents: combining marks are removed only when they sit on a Latin,
//     Greek or Cyrillic letter ("Müller" → "muller", "Nguyễn" → "nguyen").
//     In Thai, Khmer, Lao and Burmese the vowel signs and tone marks are
//     combining marks too, but they are letters of the name: stripping them
//     would make "ปู" and "ป", or "សុខា" and "សខា", the same patient.
//   - Letters with a stroke that Unicode does not decompose (đ ø ł ħ ŧ) fold
//     to their base letter, so "Đức" is found by "duc" as Vietnamese users
//     expect.
//   - Whitespace is trimmed and runs of it become one space; zero-width
//     space, word joiner and BOM are dropped, as they are invisible and
//     typed inconsistently (Khmer text often carries U+200B).
//   - The result is NFC, so canonically equivalent input (a Thai tone mark
//     typed before or after a vowel sign) is one string. Invalid UTF-8 bytes
//     become U+FFFD.
func Normalize(s string) string {
	if isASCII(s) {
		return normalizeASCII(s)
	}
	return normalizeUnicode(s)
}

// foldPool holds case folders: a cases.Caser keeps state and may not be
// shared between goroutines, and making one per call costs more than the
// folding of a short name.
var foldPool = sync.Pool{New: func() any { return cases.Fold() }}

func normalizeUnicode(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	c := foldPool.Get().(cases.Caser)
	s = c.String(s)
	foldPool.Put(c)
	s = norm.NFD.String(s)

	var b strings.Builder
	b.Grow(len(s))
	strip := false // the current base letter is Latin, Greek or Cyrillic
	space := false // whitespace is pending between two words
	for _, r := range s {
		switch {
		case r == '\u200b' || r == '\u2060' || r == '\ufeff':
			continue
		case unicode.IsSpace(r):
			space, strip = b.Len() > 0, false
			continue
		case unicode.Is(unicode.M, r):
			if strip {
				continue
			}
		default:
			// x/text's Fold turns Cherokee capitals into small letters and
			// small into capitals, so "Ꮳ" and "ꮳ" would still differ;
			// lowering what it returns settles every such pair.
			r = unicode.ToLower(r)
			strip = unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic)
			if f, ok := strokeFold[r]; ok {
				r = f
			}
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}

// strokeFold maps the lower-case (already case-folded) letters whose stroke
// or slash is part of the code point rather than a combining mark.
var strokeFold = map[rune]rune{'đ': 'd', 'ø': 'o', 'ł': 'l', 'ħ': 'h', 'ŧ': 't'}

// normalizeASCII is Normalize for pure ASCII, which is most Latin-script
// names: no marks, no folding beyond A-Z, so one pass without allocating
// through x/text.
func normalizeASCII(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			space = b.Len() > 0
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// PrefixUpperBound returns the smallest string greater than every string
// with prefix p in byte order, so a prefix search can be the index range
// scan `col >= p AND col < bound` on PostgreSQL with COLLATE "C" and on
// SQLite (both compare bytes). ok is false when no such string exists: p is
// empty, or consists only of U+10FFFF (or 0xFF bytes); then `col >= p` alone
// is the scan.
//
// For valid UTF-8 p the bound is valid UTF-8 too, because PostgreSQL refuses
// a text parameter that is not: it is p with its last code point incremented
// (skipping the surrogates, which UTF-8 cannot encode), after dropping
// trailing U+10FFFF. UTF-8 byte order is code point order, so no valid string
// lies between p's extensions and the bound. For p that is not valid UTF-8,
// the bound is computed on bytes (drop trailing 0xFF, increment the last
// byte).
func PrefixUpperBound(p string) (string, bool) {
	if !utf8.ValidString(p) {
		b := []byte(p)
		for len(b) > 0 && b[len(b)-1] == 0xFF {
			b = b[:len(b)-1]
		}
		if len(b) == 0 {
			return "", false
		}
		b[len(b)-1]++
		return string(b), true
	}
	for p != "" {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		if r == unicode.MaxRune {
			continue
		}
		r++
		if r == 0xD800 {
			r = 0xE000
		}
		return p + string(r), true
	}
	return "", false
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// EscapeLike escapes %, _ and \ so s matches itself literally in a LIKE
// pattern written with ESCAPE '\' (the same on PostgreSQL and SQLite), e.g.
// `col LIKE '%' || $1 || '%' ESCAPE '\'` for :contains.
func EscapeLike(s string) string { return likeEscaper.Replace(s) }
