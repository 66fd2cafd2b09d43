package search

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Prefix is a search comparator (https://hl7.org/fhir/R4/search.html#prefix).
// "If no prefix is present, the prefix eq is assumed."
type Prefix string

// The comparators of https://hl7.org/fhir/R4/search.html#prefix, for the
// ordered types number, date and quantity.
const (
	PrefixEq Prefix = "eq"
	PrefixNe Prefix = "ne"
	PrefixGt Prefix = "gt"
	PrefixLt Prefix = "lt"
	PrefixGe Prefix = "ge"
	PrefixLe Prefix = "le"
	PrefixSa Prefix = "sa"
	PrefixEb Prefix = "eb"
	PrefixAp Prefix = "ap"
)

func (p Prefix) valid() bool {
	switch p {
	case PrefixEq, PrefixNe, PrefixGt, PrefixLt, PrefixGe, PrefixLe, PrefixSa, PrefixEb, PrefixAp:
		return true
	}
	return false
}

// splitPrefix separates an optional comparator from a number, date or
// quantity value. Values of those types never start with a letter, so two
// leading letters are always meant as a prefix.
func splitPrefix(kind, s string) (Prefix, string, error) {
	if s == "" {
		return "", "", fmt.Errorf("empty %s value", kind)
	}
	if len(s) >= 2 && isASCIILetter(s[0]) && isASCIILetter(s[1]) {
		p := Prefix(s[:2])
		if !p.valid() {
			return "", "", fmt.Errorf("%s %q: unknown prefix %q; expected one of eq, ne, gt, lt, ge, le, sa, eb, ap (lower case)", kind, s, s[:2])
		}
		if len(s) == 2 {
			return "", "", fmt.Errorf("%s %q: prefix %q has no value after it, e.g. %s%s", kind, s, s, s, prefixExample[kind])
		}
		return p, s[2:], nil
	}
	return PrefixEq, s, nil
}

var prefixExample = map[string]string{"date": "2026-03-14", "number": "5.4"}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// NumberValue is a parsed number (or the number part of a quantity) with its
// implicit precision.
type NumberValue struct {
	Prefix Prefix
	Value  float64
	// Lo and Hi are the implicit-precision interval [Lo, Hi): half a unit of
	// the last digit given on each side. "5.4" is [5.35, 5.45), "100" is
	// [99.5, 100.5), "100.00" is [99.995, 100.005), "1.00e2" is [99.5, 100.5),
	// and "1e2" is [50, 150).
	//
	// The spec states the rule: "The number of significant digits of the
	// implicit range is the number of digits specified in the search parameter
	// value, excluding leading zeros. So 100 and 1.00e2 both have the same
	// number of significant digits - three" (https://hl7.org/fhir/R4/search.html#number).
	// Its example row for 1e2 says "to 1 significant figures precision" yet
	// gives [95 ... 105), which is two; Mekong follows the rule, so 1e2 is
	// [50, 150).
	//
	// Bounds are the float64 nearest the exact decimal bounds, the same
	// rounding stored values get when read from JSON, so a stored 5.45 is
	// outside eq5.4 and a stored 5.35 inside. When the interval is narrower
	// than float64 can tell apart, Hi is the next float above Lo.
	Lo, Hi float64
	Raw    string
}

// ParseNumber parses a number search value: an optional prefix and a FHIR
// decimal such as 5.4, -0.25, 100.00 or 1e2 (exponent forms are allowed in
// search, https://hl7.org/fhir/R4/search.html#number).
func ParseNumber(s string) (NumberValue, error) {
	p, rest, err := splitPrefix("number", s)
	if err != nil {
		return NumberValue{}, err
	}
	v, lo, hi, err := parseDecimal(rest)
	if err != nil {
		return NumberValue{}, fmt.Errorf("number %q: %w", s, err)
	}
	return NumberValue{Prefix: p, Value: v, Lo: lo, Hi: hi, Raw: s}, nil
}

// maxExponent bounds the exponent so that a hostile value cannot make the
// bound arithmetic build enormous strings; anything this far out is beyond
// float64 anyway.
const maxExponent = 100000

// parseDecimal reads -?digits(.digits)?([eE][+-]?digits)? and its implicit
// range. The range is computed on the exact decimal digits (as integers times
// a power of ten) so that "5.4" gives exactly the floats nearest 5.35 and
// 5.45 rather than 5.4±0.05 with float error.
func parseDecimal(s string) (v, lo, hi float64, err error) {
	const want = "expected a decimal number such as 5.4, -0.25, 100 or 1e2"
	i, neg := 0, false
	if i < len(s) && s[i] == '-' {
		neg, i = true, i+1
	}
	start := i
	for i < len(s) && isASCIIDigit(s[i]) {
		i++
	}
	intPart := s[start:i]
	if intPart == "" {
		if strings.HasPrefix(s, "+") {
			return 0, 0, 0, fmt.Errorf("a leading '+' is not allowed; %s", want)
		}
		return 0, 0, 0, fmt.Errorf("%s", want)
	}
	var frac string
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isASCIIDigit(s[i]) {
			i++
		}
		if frac = s[start:i]; frac == "" {
			return 0, 0, 0, fmt.Errorf("digits must follow the decimal point; %s", want)
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		start = i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		for i < len(s) && isASCIIDigit(s[i]) {
			i++
		}
		e, convErr := strconv.Atoi(s[start:i])
		if convErr != nil || e > maxExponent || e < -maxExponent {
			return 0, 0, 0, fmt.Errorf("exponent %q is missing or out of range; %s", s[start:i], want)
		}
		exp = e
	}
	if i < len(s) {
		return 0, 0, 0, fmt.Errorf("unexpected %q; %s", s[i:], want)
	}

	// The value is m × 10^exp with m the digits as an integer; the range is
	// (10m ∓ 5) × 10^(exp-1).
	m, _ := new(big.Int).SetString(intPart+frac, 10)
	if neg {
		m.Neg(m)
	}
	exp -= len(frac)
	ten := new(big.Int).Mul(m, big.NewInt(10))
	bound := func(delta int64) (float64, error) {
		n := new(big.Int).Add(ten, big.NewInt(delta))
		return strconv.ParseFloat(n.String()+"e"+strconv.Itoa(exp-1), 64)
	}
	v, err1 := strconv.ParseFloat(s, 64)
	lo, err2 := bound(-5)
	hi, err3 := bound(5)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, fmt.Errorf("magnitude is beyond what a 64-bit float holds (about 1.8e308)")
	}
	if !(lo < hi) {
		hi = math.Nextafter(lo, math.Inf(1))
	}
	return v, lo, hi, nil
}

// MatchNumber reports whether a stored number matches a search value; it is
// the reference semantics the SQL must reproduce. From
// https://hl7.org/fhir/R4/search.html#number and #prefix:
//
//	eq  Lo <= t < Hi   "the range of the search value fully contains the range of the target value"
//	ne  not eq
//	gt  t > Value      "When a comparison prefix in the set gt, lt, ge, le, sa & eb is provided, the
//	lt  t < Value       implicit precision of the number is ignored, and they are treated as if they
//	ge  t >= Value      have arbitrarily high precision" — gt100 is "greater than exactly 100"
//	le  t <= Value
//	sa  t > Value      a stored number is a point, so "starts after" is gt
//	eb  t < Value      and "ends before" is lt
//	ap  ApproxLo <= t < ApproxHi, see ApproxBounds
func MatchNumber(v NumberValue, target float64) bool {
	t := target
	switch v.Prefix {
	case PrefixEq, "":
		return v.Lo <= t && t < v.Hi
	case PrefixNe:
		return !(v.Lo <= t && t < v.Hi)
	case PrefixGt, PrefixSa:
		return t > v.Value
	case PrefixLt, PrefixEb:
		return t < v.Value
	case PrefixGe:
		return t >= v.Value
	case PrefixLe:
		return t <= v.Value
	case PrefixAp:
		lo, hi := v.ApproxBounds()
		return lo <= t && t < hi
	}
	return false
}

// ApproxBounds is the half-open interval ap matches: "the recommended value
// for the approximation is 10% of the stated value" (#prefix), so
// [Value-10%, Value+10%), widened to the implicit range where that is wider,
// as it is near zero: ap100 is [90, 110), ap0 is [-0.5, 0.5).
func (v NumberValue) ApproxBounds() (lo, hi float64) {
	d := math.Abs(v.Value) / 10
	return min(v.Lo, v.Value-d), max(v.Hi, v.Value+d)
}

// QuantityValue is a parsed quantity search value
// (https://hl7.org/fhir/R4/search.html#quantity).
type QuantityValue struct {
	Number NumberValue
	// System and Code are empty when not given: "5.4" matches any unit.
	// With System empty and Code set ("5.4||mg"), Code is matched against
	// the Quantity's code or its human unit: "the unit - either the code
	// (code) or the stated human unit (unit) are "mg"". With both set the
	// match is on system and code only.
	System, Code string
}

// ParseQuantity parses "[prefix]number|system|code", "[prefix]number||code"
// or "[prefix]number". s is one value after splitting on commas, with its
// backslash escapes still in place: "\|", "\,", "\$" and "\\" stand for the
// character itself, and any other backslash is an error, as the spec says
// "The parameter value xx\xx is illegal" (https://hl7.org/fhir/R4/search.html#escaping).
func ParseQuantity(s string) (QuantityValue, error) {
	const forms = "expected number, number|system|code or number||code, e.g. 5.4|http://unitsofmeasure.org|mg"
	parts, err := splitEscaped(s, '|')
	if err != nil {
		return QuantityValue{}, fmt.Errorf("quantity %q: %w", s, err)
	}
	var q QuantityValue
	switch len(parts) {
	case 1:
	case 3:
		q.System, q.Code = parts[1], parts[2]
		if q.System != "" && q.Code == "" {
			return QuantityValue{}, fmt.Errorf("quantity %q: a unit system needs a code; %s", s, forms)
		}
	default:
		return QuantityValue{}, fmt.Errorf("quantity %q: has %d parts separated by '|'; %s", s, len(parts), forms)
	}
	q.Number, err = ParseNumber(parts[0])
	if err != nil {
		return QuantityValue{}, fmt.Errorf("quantity %q: %w", s, err)
	}
	return q, nil
}

// splitEscaped splits s on unescaped sep and resolves the escapes of
// https://hl7.org/fhir/R4/search.html#escaping, rejecting any other use of a
// backslash rather than guessing what was meant.
func splitEscaped(s string, sep byte) ([]string, error) {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf(`a trailing backslash escapes nothing (write \\ for a backslash)`)
			}
			switch n := s[i+1]; n {
			case '\\', '|', ',', '$':
				cur.WriteByte(n)
				i++
			default:
				r, _ := utf8.DecodeRuneInString(s[i+1:])
				return nil, fmt.Errorf(`invalid escape "\%c": only \\, \|, \, and \$ are escapes`, r)
			}
		case c == sep:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String()), nil
}
