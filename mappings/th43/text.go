package th43

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Encodings of a 43-file export.
const (
	Auto    = ""        // UTF-8 when the file is valid UTF-8, TIS-620 otherwise
	UTF8    = "utf-8"   // declared UTF-8
	TIS620  = "tis-620" // declared TIS-620 (Thai Industrial Standard 620-2533)
	bom     = "\xEF\xBB\xBF"
	thaiLow = 0xA1 // TIS-620 0xA1-0xFB map to U+0E01-U+0E5B (ISO/IEC 8859-11)
)

// tisValid reports whether b is a TIS-620 byte: ASCII, or 0xA1-0xDA and 0xDF-0xFB
// (0xDB-0xDE and 0xFC-0xFF are unassigned).
func tisValid(b byte) bool {
	return b < 0x80 || b >= 0xA1 && b <= 0xDA || b >= 0xDF && b <= 0xFB
}

// decodeTIS620 converts a TIS-620 line to UTF-8; it fails at the first
// unassigned byte, whose offset it returns.
func decodeTIS620(b []byte) (string, int, bool) {
	var sb strings.Builder
	sb.Grow(len(b) * 2)
	for i, c := range b {
		if !tisValid(c) {
			return "", i, false
		}
		if c < 0x80 {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(rune(c) - thaiLow + 0x0E01)
		}
	}
	return sb.String(), 0, true
}

// encodeTIS620 converts UTF-8 to TIS-620, failing on a rune TIS-620 lacks
// (Khmer, Lao, Latin letters with accents...).
func encodeTIS620(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < 0x80:
			out = append(out, byte(r))
		case r >= 0x0E01 && r <= 0x0E5B && tisValid(byte(r-0x0E01+thaiLow)):
			out = append(out, byte(r-0x0E01+thaiLow))
		default:
			return nil, false
		}
	}
	return out, true
}

// line is one raw line of a file with its 1-based number.
type line struct {
	n    int
	text []byte
	last bool // no newline after it: the file may have been cut here
}

func splitLines(data []byte) []line {
	var out []line
	n := 0
	for len(data) > 0 {
		n++
		i := bytes.IndexByte(data, '\n')
		l := line{n: n}
		if i < 0 {
			l.text, l.last, data = data, true, nil
		} else {
			l.text, data = data[:i], data[i+1:]
		}
		l.text = bytes.TrimSuffix(l.text, []byte("\r"))
		out = append(out, l)
	}
	return out
}

// detect chooses the encoding of a file by majority of the lines that have
// non-ASCII bytes: a line that is valid UTF-8 votes UTF-8 (UTF-8 Thai text is
// almost never valid TIS-620 as well), a line that is only valid TIS-620
// votes TIS-620. A cut last line counts for UTF-8 if the cut is the only
// problem, so a truncated UTF-8 file is not misread, and one stray line in
// the other encoding costs that line, not the file.
func detect(lines []line) string {
	utf, tis := 0, 0
	for _, l := range lines {
		if isASCII(l.text) {
			continue
		}
		switch {
		case utf8.Valid(l.text) || l.last && utf8.Valid(trimPartialRune(l.text)):
			utf++
		case validTIS620(l.text):
			tis++
		}
	}
	if tis > utf {
		return TIS620
	}
	return UTF8
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func validTIS620(b []byte) bool {
	for _, c := range b {
		if !tisValid(c) {
			return false
		}
	}
	return true
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= 3 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

// text converts a line to a string in the file's encoding.
func text(l line, enc string) (string, error) {
	if enc == TIS620 {
		s, at, ok := decodeTIS620(l.text)
		if !ok {
			return "", fmt.Errorf("byte 0x%02X at column %d is not TIS-620", l.text[at], at+1)
		}
		return s, nil
	}
	if !utf8.Valid(l.text) {
		if l.last {
			return "", fmt.Errorf("not valid UTF-8: the file ends inside a character (truncated?)")
		}
		return "", fmt.Errorf("not valid UTF-8")
	}
	return string(l.text), nil
}
