package fhirjson

import (
	"strconv"
	"unicode/utf8"
)

// plain marks the bytes a string can contain with no further check: printable
// ASCII other than '"' and '\\'. The inner loop of scanString is a lookup in
// this table, which is where most of the scanning time goes.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanString scans the string starting at s.pos (a '"') and returns its raw
// contents, without the quotes, and whether they contain escapes. It checks
// escapes and UTF-8 but decodes nothing, since almost no caller needs the
// decoded text.
func (s *scanner) scanString() (raw []byte, escaped, ok bool) {
	data := s.data
	start := s.pos + 1
	i := start
	for {
		for i < len(data) && plain[data[i]] {
			i++
		}
		if i >= len(data) {
			s.eof(`'"' to end the string`)
			return nil, false, false
		}
		switch c := data[i]; {
		case c == '"':
			s.pos = i + 1
			return data[start:i], escaped, true
		case c == '\\':
			escaped = true
			if i+1 >= len(data) {
				s.eof("an escape character after '\\'")
				return nil, false, false
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for j := i + 2; j < i+6; j++ {
					if j >= len(data) {
						s.eof(`4 hex digits after "\u"`)
						return nil, false, false
					}
					if !isHex(data[j]) {
						s.unexpected(j, `4 hex digits after "\u"`)
						return nil, false, false
					}
				}
				i += 6
			default:
				s.syntaxError(i+1, "invalid escape "+s.describe(i+1)+` in string, expected one of " \ / b f n r t u after '\'`)
				return nil, false, false
			}
		case c < 0x20:
			s.syntaxError(i, "control character "+s.describe(i)+` in string (must be escaped, e.g. "\n")`)
			return nil, false, false
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				s.syntaxError(i, "invalid UTF-8 in string: "+s.describe(i))
				return nil, false, false
			}
			i += size
		}
	}
}

// scanScalar scans the string, number or literal at s.pos without applying
// the FHIR rules.
func (s *scanner) scanScalar() kind {
	if s.pos >= len(s.data) {
		return s.eof("a JSON value")
	}
	switch c := s.data[s.pos]; c {
	case '"':
		if _, _, ok := s.scanString(); !ok {
			return kindErr
		}
		return kindString
	case 't':
		return s.scanLiteral("true", kindTrue)
	case 'f':
		return s.scanLiteral("false", kindFalse)
	case 'n':
		return s.scanLiteral("null", kindNull)
	default:
		if c == '-' || isDigit(c) {
			return s.scanNumber()
		}
	}
	return s.unexpected(s.pos, "a JSON value (object, array, string, number, true, false or null)")
}

func (s *scanner) scanLiteral(lit string, k kind) kind {
	data := s.data
	if len(data)-s.pos >= len(lit) && string(data[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return k
	}
	for j := 1; ; j++ {
		if i := s.pos + j; i >= len(data) {
			return s.eof("the literal " + lit)
		} else if data[i] != lit[j] {
			return s.unexpected(i, "the literal "+lit)
		}
	}
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at s.pos.
func (s *scanner) scanNumber() kind {
	data := s.data
	i := s.pos
	if data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return s.eof("a digit after '-'")
	case data[i] == '0':
		i++
		if i < len(data) && isDigit(data[i]) {
			return s.syntaxError(i, "invalid number: leading zeros are not allowed")
		}
	case isDigit(data[i]):
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		return s.unexpected(i, "a digit after '-'")
	}
	if i < len(data) && data[i] == '.' {
		if i++; i >= len(data) {
			return s.eof("a digit after the decimal point")
		} else if !isDigit(data[i]) {
			return s.unexpected(i, "a digit after the decimal point")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	exp := false
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		exp = true
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) {
			return s.eof("a digit in the exponent")
		} else if !isDigit(data[i]) {
			return s.unexpected(i, "a digit in the exponent")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	// JSON has no limit on numbers, but every FHIR decimal Mekong reads is
	// held as a 64-bit float, and the validating parser refuses larger
	// ones without saying where; say it here, with the element.
	if exp || i-s.pos > 300 {
		if _, err := strconv.ParseFloat(string(data[s.pos:i]), 64); err != nil {
			s.issue(s.line, s.col(s.pos), s.expr(), "number "+shorten(data[s.pos:i])+" is out of range: a FHIR number must lie within ±1.8e308")
		}
	}
	s.pos = i
	return kindNumber
}

func shorten(b []byte) string {
	if len(b) > 40 {
		return string(b[:20]) + "…" + string(b[len(b)-10:])
	}
	return string(b)
}

// scanKey scans a member name at s.pos.
func (s *scanner) scanKey() (nameRef, bool) {
	if s.pos >= len(s.data) {
		s.eof("a member name (a string)")
		return nameRef{}, false
	}
	if s.data[s.pos] != '"' {
		s.unexpected(s.pos, "a member name (a string in double quotes)")
		return nameRef{}, false
	}
	start := s.pos + 1
	raw, esc, ok := s.scanString()
	if !ok {
		return nameRef{}, false
	}
	if !esc {
		return nameRef{off: start, end: start + len(raw)}, true
	}
	off := len(s.scratch)
	s.scratch = append(s.scratch, unescape(raw)...)
	return nameRef{off: off, end: len(s.scratch), scratch: true}, true
}

// expectColon consumes the ':' after a member name and the whitespace
// around it.
func (s *scanner) expectColon() bool {
	s.skipWS()
	if s.pos >= len(s.data) {
		s.eof("':' after a member name")
		return false
	}
	if s.data[s.pos] != ':' {
		s.unexpected(s.pos, "':' after a member name")
		return false
	}
	s.pos++
	s.skipWS()
	return true
}
