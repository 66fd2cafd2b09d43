package fhirjson

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Messages for FHIR rule violations. They say what to do instead, because
// the reader is usually a developer whose serializer emitted the construct.
const (
	msgEmptyObject     = "empty object is not allowed in FHIR JSON (omit the element instead)"
	msgEmptyArray      = "empty array is not allowed in FHIR JSON (omit the element instead)"
	msgEmptyString     = "empty string is not allowed in FHIR JSON (omit the element instead)"
	msgEmptyName       = `empty member name "" is not allowed in FHIR JSON`
	msgOnlyNulls       = "array of only nulls is not allowed in FHIR JSON (null is only a placeholder aligning a primitive array with its \"_\" extension array; omit the element instead)"
	msgTooDeep         = "JSON nesting deeper than 64 levels is not allowed"
	msgNoResourceType  = `a FHIR resource must have a "resourceType" member naming its type`
	msgBadResourceType = `"resourceType" must be a non-empty string naming the resource type, found `
)

func duplicateMsg(name []byte, line, col int) string {
	return fmt.Sprintf("duplicate member %q (first occurrence at line %d, column %d)", name, line, col)
}

func nullMemberMsg(name []byte) string {
	return fmt.Sprintf(`null is not allowed as the value of member %q (FHIR JSON allows null only as an array element, aligning a primitive array with its "_" extension array; omit the member instead)`, name)
}

func itoa(i int) string { return strconv.Itoa(i) }

// issue records a FHIR rule violation. Past maxIssues it only counts on the
// caller to keep scanning, so that a later syntax error is still reported.
func (s *scanner) issue(line, col int, expr, msg string) {
	if len(s.issues) < maxIssues {
		s.issues = append(s.issues, Issue{Expression: expr, Line: line, Column: col, Message: msg})
	}
}

// syntaxError replaces all issues with a syntax error at data[off], which
// must be on the current line (or at the end of the input).
func (s *scanner) syntaxError(off int, msg string) kind {
	line, col := s.line, s.col(off)
	s.issues = append(s.issues[:0], Issue{
		Expression: s.expr(),
		Line:       line,
		Column:     col,
		Message:    fmt.Sprintf("invalid JSON: %s (line %d, column %d)", msg, line, col),
		Syntax:     true,
	})
	s.syntax = true
	return kindErr
}

func (s *scanner) eof(expected string) kind {
	return s.syntaxError(len(s.data), "unexpected end of input, expected "+expected)
}

func (s *scanner) unexpected(off int, expected string) kind {
	return s.syntaxError(off, "unexpected "+s.describe(off)+", expected "+expected)
}

// describe names the character at data[off] for a message; control
// characters and invalid bytes are spelled out so the message stays
// printable.
func (s *scanner) describe(off int) string {
	c := s.data[off]
	switch {
	case c >= 0x20 && c < 0x7f:
		return strconv.QuoteRune(rune(c))
	case c < 0x80:
		return fmt.Sprintf("U+%04X", c)
	}
	r, size := utf8.DecodeRune(s.data[off:])
	if r == utf8.RuneError && size == 1 {
		return fmt.Sprintf("byte 0x%02X", c)
	}
	return fmt.Sprintf("%U %q", r, r)
}

// expr renders the current path, relative to the root: Scan prefixes the
// resourceType at the end, since it may come after the issue.
func (s *scanner) expr() string {
	if s.npath == 0 {
		return ""
	}
	b := make([]byte, 0, 64)
	for i, e := range s.path[:s.npath] {
		if e.isIndex {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(e.index), 10)
			b = append(b, ']')
			continue
		}
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, s.name(e.name)...)
	}
	return string(b)
}

// unescape decodes a member name or resourceType containing escapes. FHIR
// names never need escapes, so this rare path reuses encoding/json rather
// than duplicating its handling of surrogates and invalid escapes (which
// keeps duplicate detection consistent with json.Unmarshal).
func unescape(raw []byte) []byte {
	q := make([]byte, 0, len(raw)+2)
	q = append(q, '"')
	q = append(q, raw...)
	q = append(q, '"')
	var str string
	if err := json.Unmarshal(q, &str); err != nil {
		return raw // unreachable: scanString has checked the escapes
	}
	return []byte(str)
}
