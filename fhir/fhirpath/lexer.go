package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokenKind classifies the lexical elements of FHIRPath N1 §8.
type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokIdent
	tokDelimitedIdent // `div`: an identifier even where a keyword could be
	tokString
	tokNumber
	tokDateTime // @2020-01-01: recognised only to be rejected by name
	tokThis     // $this
	tokDollar   // $index, $total: rejected by name
	tokEnv      // %resource
	tokPunct    // ( ) [ ] { } . , and the symbolic operators
)

type token struct {
	kind tokenKind
	text string // identifier name, decoded string, number or punctuation
	pos  int    // byte offset in the expression
}

// lex splits expr into tokens; positions let errors point at the construct.
func lex(expr string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(expr) {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case strings.HasPrefix(expr[i:], "//"):
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case strings.HasPrefix(expr[i:], "/*"):
			end := strings.Index(expr[i+2:], "*/")
			if end < 0 {
				return nil, errAt(expr, i, "unterminated comment")
			}
			i += end + 4
		case isIdentStart(c):
			j := i + 1
			for j < len(expr) && isIdentPart(expr[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, expr[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(expr) && expr[j] >= '0' && expr[j] <= '9' {
				j++
			}
			// A decimal point counts only when digits follow, so 1.exists()
			// still lexes as number, dot, identifier.
			if j+1 < len(expr) && expr[j] == '.' && expr[j+1] >= '0' && expr[j+1] <= '9' {
				j++
				for j < len(expr) && expr[j] >= '0' && expr[j] <= '9' {
					j++
				}
			}
			toks = append(toks, token{tokNumber, expr[i:j], i})
			i = j
		case c == '\'' || c == '`':
			s, n, err := unquote(expr, i)
			if err != nil {
				return nil, err
			}
			kind := tokString
			if c == '`' {
				kind = tokDelimitedIdent
			}
			toks = append(toks, token{kind, s, i})
			i += n
		case c == '@':
			j := i + 1
			for j < len(expr) && (isIdentPart(expr[j]) || strings.IndexByte("-:.+TZ", expr[j]) >= 0) {
				j++
			}
			toks = append(toks, token{tokDateTime, expr[i:j], i})
			i = j
		case c == '$' || c == '%':
			j := i + 1
			if c == '%' && j < len(expr) && (expr[j] == '`' || expr[j] == '\'') {
				s, n, err := unquote(expr, j)
				if err != nil {
					return nil, err
				}
				toks = append(toks, token{tokEnv, s, i})
				i = j + n
				continue
			}
			for j < len(expr) && isIdentPart(expr[j]) {
				j++
			}
			if j == i+1 {
				return nil, errAt(expr, i, fmt.Sprintf("%q must be followed by a name", c))
			}
			kind := tokEnv
			if c == '$' {
				kind = tokDollar
				if expr[i:j] == "$this" {
					kind = tokThis
				}
			}
			toks = append(toks, token{kind, expr[i+1 : j], i})
			i = j
		default:
			op := ""
			for _, p := range []string{"!=", "!~", "<=", ">="} {
				if strings.HasPrefix(expr[i:], p) {
					op = p
				}
			}
			if op == "" && strings.IndexByte("()[]{}.,=~<>|&+-*/", c) >= 0 {
				op = expr[i : i+1]
			}
			if op == "" {
				r, _ := utf8.DecodeRuneInString(expr[i:])
				return nil, errAt(expr, i, fmt.Sprintf("unexpected character %q", r))
			}
			toks = append(toks, token{tokPunct, op, i})
			i += len(op)
		}
	}
	return append(toks, token{tokEOF, "", len(expr)}), nil
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// unquote decodes the string or delimited identifier starting at expr[i]
// (N1 string literal escapes) and returns it with the number of bytes consumed.
func unquote(expr string, i int) (string, int, error) {
	quote := expr[i]
	var b strings.Builder
	for j := i + 1; j < len(expr); j++ {
		c := expr[j]
		switch {
		case c == quote:
			return b.String(), j + 1 - i, nil
		case c != '\\':
			b.WriteByte(c)
		case j+1 >= len(expr):
			return "", 0, errAt(expr, j, "unterminated escape")
		default:
			j++
			switch e := expr[j]; e {
			case '\'', '"', '`', '\\', '/':
				b.WriteByte(e)
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if j+5 > len(expr) {
					return "", 0, errAt(expr, j-1, "short \\u escape")
				}
				n, err := strconv.ParseUint(expr[j+1:j+5], 16, 16)
				if err != nil {
					return "", 0, errAt(expr, j-1, "bad \\u escape")
				}
				b.WriteRune(rune(n))
				j += 4
			default:
				return "", 0, errAt(expr, j-1, fmt.Sprintf("unknown escape \\%c", e))
			}
		}
	}
	return "", 0, errAt(expr, i, "unterminated "+map[byte]string{'\'': "string", '`': "identifier"}[quote])
}
