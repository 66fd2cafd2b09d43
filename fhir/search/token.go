// Package search holds FHIR search knowledge that does not depend on storage:
// parsing search values and extracting index values from resources.
package search

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Token is a parsed token search value (https://hl7.org/fhir/R4/search.html#token).
type Token struct {
	// AnySystem: "code" matches the code in any system.
	AnySystem bool
	// System: "system|code" or "|code" (System "" means no system).
	System string
	// AnyCode: "system|" matches any code in the system.
	AnyCode bool
	Code    string
}

// ParseToken parses one token value. A backslash escapes "|", "," and "$"
// (https://hl7.org/fhir/R4/search.html#escaping).
func ParseToken(s string) (Token, error) {
	parts := splitRaw(s, '|')
	for i := range parts {
		parts[i] = unescape(parts[i])
	}
	switch len(parts) {
	case 1:
		if parts[0] == "" {
			return Token{}, fmt.Errorf("empty token value")
		}
		return Token{AnySystem: true, Code: parts[0]}, nil
	case 2:
		sys, code := parts[0], parts[1]
		if sys == "" && code == "" {
			return Token{}, fmt.Errorf("token %q has neither system nor code", s)
		}
		if code == "" {
			return Token{System: sys, AnyCode: true}, nil
		}
		return Token{System: sys, Code: code}, nil
	default:
		return Token{}, fmt.Errorf("token %q has more than one unescaped '|'", s)
	}
}

// SplitValues splits a parameter value on unescaped commas (OR), keeping
// every escape in place for the value parsers, which unescape their parts.
func SplitValues(s string) []string { return splitRaw(s, ',') }

// splitRaw splits on unescaped sep and leaves escapes untouched.
func splitRaw(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // the next byte is escaped
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescape removes the backslash before "\\", "|", "," and "$".
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`\|,$`, s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// IndexedToken is one value a resource is indexed under.
type IndexedToken struct {
	System, Code string
}

// Identifiers returns the system|value pairs of an Identifier array (the
// JSON of a resource's "identifier" member). Identifiers without a value are
// not searchable and are skipped.
func Identifiers(member []byte) ([]IndexedToken, error) {
	if len(member) == 0 {
		return nil, nil
	}
	var ids []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	if err := json.Unmarshal(member, &ids); err != nil {
		return nil, fmt.Errorf("search.Identifiers: %w", err)
	}
	out := make([]IndexedToken, 0, len(ids))
	for _, id := range ids {
		if id.Value != "" {
			out = append(out, IndexedToken{System: id.System, Code: id.Value})
		}
	}
	return out, nil
}
