package fhirjson

import "bytes"

const (
	// maxDepth bounds container nesting. The recursive descent below uses
	// one goroutine stack frame per level, so without a bound a request body
	// of a few megabytes of '[' could grow the stack to gigabytes. Real FHIR
	// resources stay far below: a Questionnaire with 20 nested item levels
	// is about 41 deep (each level is an array and an object).
	maxDepth = 64
	// maxIssues bounds the work spent on, and the size of the response to, a
	// resource that is wrong everywhere.
	maxIssues = 100
)

// kind is the type of a scanned JSON value; kindErr means a syntax error was
// recorded and scanning must stop.
type kind uint8

const (
	kindErr kind = iota
	kindObject
	kindArray
	kindString
	kindNumber
	kindTrue
	kindFalse
	kindNull
)

// String describes the kind for messages ("found an array").
func (k kind) String() string {
	switch k {
	case kindObject:
		return "an object"
	case kindArray:
		return "an array"
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindTrue:
		return "true"
	case kindFalse:
		return "false"
	case kindNull:
		return "null"
	}
	return "invalid JSON"
}

// nameRef locates a decoded member name: data[off:end], or scratch[off:end]
// for a name that had escapes. Offsets rather than slices keep the scanner's
// arrays free of pointers, so a pooled scanner retains no request body and
// filling them costs no GC write barriers.
type nameRef struct {
	off, end int
	scratch  bool
}

// pathElem is one step of the location of the value being scanned; the
// Expression of an issue is only built from these when an issue occurs.
type pathElem struct {
	name    nameRef
	index   int
	isIndex bool
}

// key is a member name of an object still being scanned, kept to detect
// duplicates and to say where the first occurrence was.
type key struct {
	name      nameRef
	line, col int
}

// topMember is a member of the top-level object; its value is buf[start:end].
type topMember struct {
	name       nameRef
	start, end int
}

type scanner struct {
	data      []byte
	pos       int // index of the next byte to scan
	line      int // line of pos
	lineStart int // index of the first byte of line

	depth int // number of containers open
	npath int
	path  [maxDepth]pathElem
	keys  []key // names of the members of all open objects, innermost last
	// scratch holds the decoded member names that had escapes.
	scratch []byte

	issues []Issue
	syntax bool // issues holds a syntax error and nothing else

	sawResourceType bool
	hasRoot         bool
	root            nameRef // value of resourceType, once known and valid

	// Compaction of top-level member values: while compacting, skipWS
	// copies the bytes since seg to buf[nbuf:] before skipping whitespace.
	// buf is as long as the input, which the compacted values never exceed,
	// so copying needs no capacity checks and never reallocates.
	compacting bool
	seg        int
	buf        []byte
	nbuf       int
	top        []topMember
}

// name returns the bytes of a member name.
func (s *scanner) name(r nameRef) []byte {
	if r.scratch {
		return s.scratch[r.off:r.end]
	}
	return s.data[r.off:r.end]
}

// col returns the column of data[off], which must be on the current line.
// That holds for every offset the scanner reports right away, because only
// skipWS crosses line breaks (strings cannot contain raw newlines).
func (s *scanner) col(off int) int { return off - s.lineStart + 1 }

// skipWS skips JSON whitespace, tracking lines. It is the only place
// whitespace is consumed, which makes it the one place that needs to know
// about compaction.
func (s *scanner) skipWS() {
	data := s.data
	i := s.pos
loop:
	for ; i < len(data); i++ {
		switch data[i] {
		case ' ', '\t', '\r':
		case '\n':
			s.line++
			s.lineStart = i + 1
		default:
			break loop
		}
	}
	if i == s.pos {
		return
	}
	if s.compacting {
		s.nbuf += copy(s.buf[s.nbuf:], data[s.seg:s.pos])
		s.seg = i
	}
	s.pos = i
}

// scanValue scans the value at s.pos, applying the FHIR rules.
func (s *scanner) scanValue() kind {
	if s.pos >= len(s.data) {
		return s.eof("a JSON value")
	}
	switch s.data[s.pos] {
	case '{':
		if s.depth == maxDepth {
			return s.tooDeep()
		}
		return s.scanObject()
	case '[':
		if s.depth == maxDepth {
			return s.tooDeep()
		}
		return s.scanArray()
	case '"':
		line, col := s.line, s.col(s.pos)
		raw, _, ok := s.scanString()
		if !ok {
			return kindErr
		}
		if len(raw) == 0 {
			s.issue(line, col, s.expr(), msgEmptyString)
		}
		return kindString
	}
	return s.scanScalar()
}

// tooDeep reports the container at s.pos and skips it without recursion.
func (s *scanner) tooDeep() kind {
	s.issue(s.line, s.col(s.pos), s.expr(), msgTooDeep)
	return s.skipValue()
}

func (s *scanner) scanObject() kind {
	line, col := s.line, s.col(s.pos)
	data := s.data
	s.pos++
	s.skipWS()
	if s.pos < len(data) && data[s.pos] == '}' {
		s.pos++
		if s.depth > 0 { // an empty resource is reported as lacking resourceType
			s.issue(line, col, s.expr(), msgEmptyObject)
		}
		return kindObject
	}
	s.depth++
	top := s.depth == 1
	keyBase := len(s.keys)
	// Linear search is fastest for the small objects FHIR is made of; the
	// map keeps a hostile object with many members from going quadratic.
	var seen map[string]int
	for {
		keyLine, keyCol := s.line, s.col(s.pos)
		ref, ok := s.scanKey()
		if !ok {
			return kindErr
		}
		name := s.name(ref)
		if len(name) == 0 {
			s.issue(keyLine, keyCol, s.expr(), msgEmptyName)
		}
		s.path[s.npath] = pathElem{name: ref}
		s.npath++
		dup := -1
		if seen == nil {
			for i := keyBase; i < len(s.keys); i++ {
				if bytes.Equal(s.name(s.keys[i].name), name) {
					dup = i
					break
				}
			}
		} else if i, ok := seen[string(name)]; ok {
			dup = i
		}
		if dup >= 0 {
			first := s.keys[dup]
			s.issue(keyLine, keyCol, s.expr(), duplicateMsg(name, first.line, first.col))
		} else {
			s.keys = append(s.keys, key{name: ref, line: keyLine, col: keyCol})
			if seen != nil {
				seen[string(name)] = len(s.keys) - 1
			} else if len(s.keys)-keyBase > 32 {
				seen = make(map[string]int, 64)
				for i := keyBase; i < len(s.keys); i++ {
					seen[string(s.name(s.keys[i].name))] = i
				}
			}
		}
		if !s.expectColon() {
			return kindErr
		}

		valLine, valCol := s.line, s.col(s.pos)
		isType := top && !s.sawResourceType && string(name) == "resourceType"
		var k kind
		if top {
			start := s.nbuf
			s.compacting, s.seg = true, s.pos
			if isType {
				k = s.scanResourceType()
			} else {
				k = s.scanValue()
			}
			if k == kindErr {
				return kindErr
			}
			s.nbuf += copy(s.buf[s.nbuf:], data[s.seg:s.pos])
			s.compacting = false
			s.top = append(s.top, topMember{name: ref, start: start, end: s.nbuf})
		} else if k = s.scanValue(); k == kindErr {
			return kindErr
		}
		if k == kindNull && !isType {
			s.issue(valLine, valCol, s.expr(), nullMemberMsg(name))
		}
		s.npath--

		s.skipWS()
		if s.pos >= len(data) {
			return s.eof("',' or '}' after an object member")
		}
		switch data[s.pos] {
		case ',':
			s.pos++
			s.skipWS()
			if s.pos < len(data) && data[s.pos] == '}' {
				return s.syntaxError(s.pos, "unexpected '}' after ',', expected a member name (trailing commas are not allowed)")
			}
			continue
		case '}':
			s.pos++
		default:
			return s.unexpected(s.pos, "',' or '}' after an object member")
		}
		break
	}
	s.keys = s.keys[:keyBase]
	s.depth--
	return kindObject
}

// scanResourceType scans the value of the top-level resourceType member,
// which becomes the root of every Expression.
func (s *scanner) scanResourceType() kind {
	s.sawResourceType = true
	line, col := s.line, s.col(s.pos)
	if s.pos < len(s.data) && s.data[s.pos] == '"' {
		// Read as a member name: it is text that becomes part of paths.
		ref, ok := s.scanKey()
		if !ok {
			return kindErr
		}
		if ref.off == ref.end {
			s.issue(line, col, s.expr(), msgBadResourceType+"an empty string")
		} else {
			s.root, s.hasRoot = ref, true
		}
		return kindString
	}
	k := s.scanValue()
	if k != kindErr {
		s.issue(line, col, s.expr(), msgBadResourceType+k.String())
	}
	return k
}

func (s *scanner) scanArray() kind {
	line, col := s.line, s.col(s.pos)
	data := s.data
	s.pos++
	s.skipWS()
	if s.pos < len(data) && data[s.pos] == ']' {
		s.pos++
		s.issue(line, col, s.expr(), msgEmptyArray)
		return kindArray
	}
	s.depth++
	elem := &s.path[s.npath]
	*elem = pathElem{isIndex: true}
	s.npath++
	onlyNulls := true
	for {
		k := s.scanValue()
		if k == kindErr {
			return kindErr
		}
		if k != kindNull {
			onlyNulls = false
		}
		s.skipWS()
		if s.pos >= len(data) {
			return s.eof("',' or ']' after an array element")
		}
		switch data[s.pos] {
		case ',':
			s.pos++
			elem.index++
			s.skipWS()
			if s.pos < len(data) && data[s.pos] == ']' {
				return s.syntaxError(s.pos, "unexpected ']' after ',', expected a value (trailing commas are not allowed)")
			}
			continue
		case ']':
			s.pos++
		default:
			return s.unexpected(s.pos, "',' or ']' after an array element")
		}
		break
	}
	s.npath--
	s.depth--
	if onlyNulls {
		s.issue(line, col, s.expr(), msgOnlyNulls)
	}
	return kindArray
}
