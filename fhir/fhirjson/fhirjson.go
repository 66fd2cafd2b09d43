// Package fhirjson checks a FHIR R4 resource against the rules of the FHIR
// JSON format (https://hl7.org/fhir/R4/json.html) that the google/fhir proto
// parser does not enforce, and splits the resource into its top-level members.
//
// The proto parser used to validate writes silently accepts empty arrays,
// empty objects, empty strings, null member values and duplicate keys (keeping
// the last one), and reports JSON syntax errors without a usable position.
// Scan runs before that parser, rejects all of these with a FHIRPath-style
// location and a line/column, and hands back the compacted top-level members
// so the server can rebuild the stored JSON with server-assigned id and meta
// without re-encoding through the (slow) proto marshaller.
//
// Scan is a single pass over the input with no reflection and a handful of
// allocations, because it runs on every write.
package fhirjson

import (
	"bytes"
	"slices"
	"strings"
	"sync"
)

// Member is one member of the top-level JSON object, in document order.
// Value is the member's JSON value, compacted: insignificant whitespace is
// removed; string contents and escapes are kept byte-for-byte.
type Member struct {
	Name  string
	Value []byte
}

// Issue is one violation of the FHIR JSON rules.
type Issue struct {
	// Expression is the FHIRPath-style location of the offending element,
	// e.g. "Patient.name[0].given[1]" or "Patient.meta". Its root is the
	// resourceType when known; without one, paths start at the member name
	// ("name[0]"), and problems with the resource as a whole have "".
	// Member names are used as-is, including "_birthDate"-style
	// primitive-extension members.
	Expression string
	// Line and Column are the 1-based position of the offending token;
	// Column counts bytes. A leading byte order mark is not counted.
	Line, Column int
	// Message is a diagnostic meant for the developer who sent the resource.
	Message string
	// Syntax is true when the input is not well-formed JSON at all, and false
	// for a FHIR JSON rule violation in well-formed JSON.
	Syntax bool
}

// Error lists the issues found by Scan, ordered by position. A syntax error
// is reported alone, since the FHIR rules are meaningless on input that is
// not JSON; otherwise up to 100 issues are collected.
type Error struct {
	Issues []Issue
}

// maxErrorIssues bounds the text of Error so that a resource with a hundred
// issues does not produce a log line of several kilobytes; every issue is
// still available in Issues.
const maxErrorIssues = 10

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fhirjson: ")
	if len(e.Issues) == 0 {
		b.WriteString("invalid FHIR JSON")
		return b.String()
	}
	for i, is := range e.Issues {
		if i == maxErrorIssues {
			b.WriteString("; and ")
			b.WriteString(itoa(len(e.Issues) - i))
			b.WriteString(" more")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if is.Expression != "" {
			b.WriteString(is.Expression)
			b.WriteString(": ")
		}
		b.WriteString(is.Message)
		if !is.Syntax { // syntax messages already carry their position
			b.WriteString(" (line ")
			b.WriteString(itoa(is.Line))
			b.WriteString(", column ")
			b.WriteString(itoa(is.Column))
			b.WriteString(")")
		}
	}
	return b.String()
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// scanners recycles scanners: one holds a few kilobytes of stacks that would
// otherwise be allocated and zeroed on every call.
var scanners = sync.Pool{New: func() any { return new(scanner) }}

func (s *scanner) reset(data []byte) {
	*s = scanner{
		data:    data,
		line:    1,
		keys:    s.keys[:0],
		top:     s.top[:0],
		scratch: s.scratch[:0],
	}
}

// release returns s to the pool without references to the caller's data or
// to the results, and without an oversized stack from a pathological input.
func (s *scanner) release() {
	s.data, s.buf, s.issues = nil, nil, nil
	if cap(s.keys) > 1024 || cap(s.top) > 1024 || cap(s.scratch) > 4096 {
		return
	}
	scanners.Put(s)
}

// Scan checks data against the FHIR JSON rules and returns the members of its
// top-level object. The rules are:
//
//  1. data is well-formed JSON (RFC 8259) in valid UTF-8: exactly one value
//     with only whitespace around it. A leading UTF-8 byte order mark is
//     skipped.
//  2. The value is an object.
//  3. It has a "resourceType" member whose value is a non-empty string.
//  4. No object anywhere has two members with the same name.
//  5. There is no empty object, empty array or empty string anywhere.
//  6. null appears only as an array element (FHIR's placeholder for aligning
//     "given" with "_given"), and no array is made only of nulls.
//  7. Containers are nested at most 64 deep.
//
// The error, if any, is an *Error. Members are returned only when there are
// no issues; their Values share one buffer that does not alias data.
func Scan(data []byte) ([]Member, error) {
	s := scanners.Get().(*scanner)
	defer s.release()
	s.reset(data)
	if bytes.HasPrefix(data, bom) {
		s.pos, s.lineStart = len(bom), len(bom)
	}
	s.skipWS()
	if s.pos < len(data) && data[s.pos] == '{' {
		// Compacted values are never longer than the input, so one buffer
		// holds them all and never grows.
		s.buf = make([]byte, len(data)-s.pos)
		line, col := s.line, s.col(s.pos)
		if s.scanObject() != kindErr && !s.sawResourceType {
			s.issue(line, col, "", msgNoResourceType)
		}
	} else if s.pos < len(data) {
		line, col := s.line, s.col(s.pos)
		if k := s.skipValue(); k != kindErr {
			s.issue(line, col, "", "a FHIR resource must be a JSON object, found "+k.String())
		}
	} else {
		s.syntaxError(s.pos, "unexpected end of input, expected a JSON value")
	}
	if !s.syntax {
		s.skipWS()
		if s.pos < len(data) {
			s.unexpected(s.pos, "end of input after the top-level value")
		}
	}
	if len(s.issues) > 0 {
		return nil, s.err()
	}
	return s.members(), nil
}

// err wraps the collected issues, rooting their expressions at the
// resourceType. It is applied at the end because resourceType need not be
// the first member.
func (s *scanner) err() *Error {
	if s.hasRoot {
		root := string(s.name(s.root))
		for i := range s.issues {
			if e := s.issues[i].Expression; e == "" {
				s.issues[i].Expression = root
			} else {
				s.issues[i].Expression = root + "." + e
			}
		}
	}
	// Issues about a container (empty, only nulls) are found at its end but
	// belong at its start.
	slices.SortStableFunc(s.issues, func(a, b Issue) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return &Error{Issues: s.issues}
}

// members builds the result with all names in one string and all values in
// one buffer, to keep the allocation count independent of the member count.
func (s *scanner) members() []Member {
	n := 0
	for _, t := range s.top {
		n += t.name.end - t.name.off
	}
	var names strings.Builder
	names.Grow(n)
	for _, t := range s.top {
		names.Write(s.name(t.name))
	}
	all := names.String()
	ms := make([]Member, len(s.top))
	off := 0
	for i, t := range s.top {
		ms[i] = Member{
			Name:  all[off : off+t.name.end-t.name.off],
			Value: s.buf[t.start:t.end:t.end], // full slice: appending to one Value must not clobber the next
		}
		off += t.name.end - t.name.off
	}
	return ms
}
