package ips

import (
	"strings"
	"unicode/utf8"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// xhtml builds a narrative div (https://hl7.org/fhir/R4/narrative.html):
// well-formed XHTML of the elements FHIR allows, with every piece of data
// written through text, which escapes it. Names, codes and values come from
// other systems and may hold markup ("<script>"); none of it may become an
// element or attribute.
type xhtml struct{ b strings.Builder }

const divOpen = `<div xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en">`

func newXHTML() *xhtml {
	x := &xhtml{}
	x.b.WriteString(divOpen)
	return x
}

// tag writes an element's start or end tag; names are constants of this package.
func (x *xhtml) tag(t string) *xhtml {
	x.b.WriteByte('<')
	x.b.WriteString(t)
	x.b.WriteByte('>')
	return x
}

// text writes s escaped for XML character data (no attribute is ever
// written from data, so quotes need no escaping). Characters XML 1.0 cannot
// hold (most C0 controls, unpaired surrogates, U+FFFE/U+FFFF) are dropped:
// they would make the whole document unreadable to an XML parser.
func (x *xhtml) text(s string) *xhtml {
	for _, r := range s {
		switch r {
		case '<':
			x.b.WriteString("&lt;")
		case '>':
			x.b.WriteString("&gt;")
		case '&':
			x.b.WriteString("&amp;")
		default:
			if xmlChar(r) {
				x.b.WriteRune(r)
			}
		}
	}
	return x
}

// el writes <t>text</t>.
func (x *xhtml) el(t, s string) *xhtml {
	return x.tag(t).text(s).tag("/" + t)
}

func (x *xhtml) String() string {
	return x.b.String() + "</div>"
}

func xmlChar(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return false
	case r == 0x9 || r == 0xA || r == 0xD:
		return true
	case r < 0x20:
		return false
	case r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
		return false
	}
	return true
}

// table writes a table with a header row and one row per item; cells are text.
func (x *xhtml) table(head []string, rows [][]string) {
	x.tag("table").tag("thead").tag("tr")
	for _, h := range head {
		x.el("th", h)
	}
	x.tag("/tr").tag("/thead").tag("tbody")
	for _, r := range rows {
		x.tag("tr")
		for _, c := range r {
			x.el("td", c)
		}
		x.tag("/tr")
	}
	x.tag("/tbody").tag("/table")
}

// narrative is a generated Narrative element.
func narrative(div string) *fhirjson.Object {
	return obj("status", "generated", "div", div)
}
