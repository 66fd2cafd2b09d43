package fhirjson

// skipValue checks the syntax of the value at s.pos without applying the
// FHIR rules. It keeps its own stack of open containers instead of
// recursing, so any nesting depth is safe.
func (s *scanner) skipValue() kind {
	var arr [maxDepth]byte
	stack := arr[:0] // closing bracket of each open container
	data := s.data
	first := kindErr
	for {
		// s.pos is at the start of a value.
		if s.pos >= len(data) {
			return s.eof("a JSON value")
		}
		var k kind
		switch c := data[s.pos]; c {
		case '{', '[':
			closer := byte('}')
			k = kindObject
			if c == '[' {
				closer, k = ']', kindArray
			}
			if first == kindErr {
				first = k
			}
			s.pos++
			s.skipWS()
			if s.pos < len(data) && data[s.pos] == closer {
				s.pos++ // empty: a complete value
				break
			}
			stack = append(stack, closer)
			if c == '{' {
				if _, ok := s.scanKey(); !ok || !s.expectColon() {
					return kindErr
				}
			}
			continue
		default:
			if k = s.scanScalar(); k == kindErr {
				return kindErr
			}
		}
		if first == kindErr {
			first = k
		}
		// After a value: close containers until one has another element.
		for {
			if len(stack) == 0 {
				return first
			}
			s.skipWS()
			closer := stack[len(stack)-1]
			if s.pos >= len(data) {
				return s.eof("',' or '" + string(closer) + "'")
			}
			if data[s.pos] == closer {
				s.pos++
				stack = stack[:len(stack)-1]
				continue
			}
			if data[s.pos] != ',' {
				return s.unexpected(s.pos, "',' or '"+string(closer)+"'")
			}
			s.pos++
			s.skipWS()
			if s.pos < len(data) && data[s.pos] == closer {
				return s.syntaxError(s.pos, "unexpected '"+string(closer)+"' after ',' (trailing commas are not allowed)")
			}
			if closer == '}' {
				if _, ok := s.scanKey(); !ok || !s.expectColon() {
					return kindErr
				}
			}
			break
		}
	}
}
