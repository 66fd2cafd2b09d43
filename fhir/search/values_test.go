package search

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var allPrefixes = []Prefix{PrefixEq, PrefixNe, PrefixGt, PrefixLt, PrefixGe, PrefixLe, PrefixSa, PrefixEb, PrefixAp}

// https://hl7.org/fhir/R4/search.html#number: "Searching on decimals involves
// an implicit range. The number of significant digits of the implicit range
// is the number of digits specified in the search parameter value, excluding
// leading zeros."
func TestParseNumber(t *testing.T) {
	tests := []struct {
		in            string
		prefix        Prefix
		value, lo, hi float64
	}{
		{"100", PrefixEq, 100, 99.5, 100.5},        // spec: [99.5 ... 100.5)
		{"100.00", PrefixEq, 100, 99.995, 100.005}, // spec: [99.995 ... 100.005)
		{"1.00e2", PrefixEq, 100, 99.5, 100.5},     // spec: "100 and 1.00e2 both have ... three"
		{"1e2", PrefixEq, 100, 50, 150},            // one significant digit (see NumberValue.Lo)
		{"1E2", PrefixEq, 100, 50, 150},
		{"1e+2", PrefixEq, 100, 50, 150},
		{"5.4", PrefixEq, 5.4, 5.35, 5.45},
		{"-5.4", PrefixEq, -5.4, -5.45, -5.35},
		{"-0.25", PrefixEq, -0.25, -0.255, -0.245},
		{"0", PrefixEq, 0, -0.5, 0.5},
		{"0.0050", PrefixEq, 0.005, 0.00495, 0.00505},
		{"5.40e-3", PrefixEq, 0.0054, 0.005395, 0.005405}, // spec: 0.0054(+/-0.000005)
		{"8e-1", PrefixEq, 0.8, 0.75, 0.85},
		{"gt0.8", PrefixGt, 0.8, 0.75, 0.85}, // spec: probability=gt0.8
		{"2", PrefixEq, 2, 1.5, 2.5},         // spec: dose-number=2
		{"007", PrefixEq, 7, 6.5, 7.5},
		{"-1e-2", PrefixEq, -0.01, -0.015, -0.005},
		{"ap-100", PrefixAp, -100, -100.5, -99.5},
	}
	for _, tc := range tests {
		got, err := ParseNumber(tc.in)
		if err != nil {
			t.Errorf("ParseNumber(%q): %v", tc.in, err)
			continue
		}
		want := NumberValue{Prefix: tc.prefix, Value: tc.value, Lo: tc.lo, Hi: tc.hi, Raw: tc.in}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ParseNumber(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, p := range allPrefixes {
		got, err := ParseNumber(string(p) + "5.4")
		if err != nil || got.Prefix != p || got.Value != 5.4 || got.Lo != 5.35 {
			t.Errorf("ParseNumber(%q) = %+v, %v", string(p)+"5.4", got, err)
		}
	}
}

// Beyond float64 resolution the interval still has Lo < Hi, and huge or tiny
// values keep their order.
func TestParseNumberExtremes(t *testing.T) {
	for _, in := range []string{"1.0000000000000000000001", "123456789012345678901234567890", "1e-400", "-1e-400",
		"1.7976931348623157e308", "4.9e-324", "0.00000000000000000000000000000000000001"} {
		v, err := ParseNumber(in)
		if err != nil {
			t.Errorf("ParseNumber(%q): %v", in, err)
			continue
		}
		if !(v.Lo < v.Hi) || v.Value < v.Lo || v.Value > v.Hi {
			t.Errorf("ParseNumber(%q) = [%g, %g) around %g", in, v.Lo, v.Hi, v.Value)
		}
	}
}

// Malformed numbers get a message that quotes the value and says what a
// number looks like.
func TestParseNumberErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty number value"},
		{"ge", `prefix "ge" has no value after it, e.g. ge5.4`},
		{"1.2.3", `unexpected ".3"; expected a decimal number such as 5.4`},
		{"abc", `unknown prefix "ab"`},
		{"GT5", `unknown prefix "GT"`},
		{"+5", "a leading '+' is not allowed"},
		{".5", "expected a decimal number"},
		{"5.", "digits must follow the decimal point"},
		{"1e", `exponent "" is missing or out of range`},
		{"1e1000000", `exponent "1000000" is missing or out of range`},
		{"1e999", "beyond what a 64-bit float holds"},
		{"-1e999", "beyond what a 64-bit float holds"},
		{"-", "expected a decimal number"},
		{"--1", "expected a decimal number"},
		{"5 ", `unexpected " "`},
		{"1,5", `unexpected ",5"`},
		{"0x10", `unexpected "x10"`},
		{"1_000", `unexpected "_000"`},
		{"NaN", `unknown prefix "Na"`},
		{"geInf", "expected a decimal number"},
	}
	for _, tc := range tests {
		_, err := ParseNumber(tc.in)
		if err == nil {
			t.Errorf("ParseNumber(%q) succeeded, want error containing %q", tc.in, tc.want)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || (tc.in != "" && !strings.Contains(msg, strconv.Quote(tc.in))) {
			t.Errorf("ParseNumber(%q) error %q, want it to quote the value and contain %q", tc.in, msg, tc.want)
		}
	}
}

// https://hl7.org/fhir/R4/search.html#number and #prefix: eq/ne use the
// implicit range; "When a comparison prefix in the set gt, lt, ge, le, sa &
// eb is provided, the implicit precision of the number is ignored"; ap is
// within 10%.
func TestMatchNumber(t *testing.T) {
	tests := []struct {
		search string
		target float64
		want   bool
	}{
		{"100", 100, true},
		{"eq100", 99.5, true},
		{"eq100", 99.49999, false},
		{"eq100", 100.4999, true},
		{"eq100", 100.5, false},
		{"eq100.00", 100.004, true},
		{"eq100.00", 100.005, false},
		{"eq100.00", 99.995, true},
		{"eq1e2", 50, true},
		{"eq1e2", 149.9, true},
		{"eq1e2", 150, false},
		{"eq1e2", 49.9, false},
		{"eq5.4", 5.35, true},
		{"eq5.4", 5.45, false},
		{"eq5.4", 5.4, true},
		{"eq-5.4", -5.45, true},
		{"eq-5.4", -5.35, false},
		// "the significance issues cancel out" for integers, and "if there are
		// non-zero digits after a decimal point, there cannot be any matches".
		{"eq2", 2, true},
		{"eq2", 3, false},
		{"eq2", 1, false},
		{"eq2.5", 2, false},
		{"eq2.5", 3, false},

		{"ne100", 100, false},
		{"ne100", 100.4, false},
		{"ne100", 100.5, true},
		{"ne100", 99.4, true},

		// gt100 is "greater than exactly 100", even inside the implicit range.
		{"gt100", 100, false},
		{"gt100", 100.1, true},
		{"gt100", 100.0000001, true},
		{"gt100", 99, false},
		{"gt-5", -4, true},
		{"gt-5", -6, false},
		{"lt100", 99.9, true},
		{"lt100", 100, false},
		{"lt100", 100.1, false},
		{"ge100", 100, true},
		{"ge100", 99.9999, false},
		{"ge100", 1e9, true},
		{"le100", 100, true},
		{"le100", 100.0001, false},
		{"le100", -1e9, true},
		// A stored number is a point: sa is gt and eb is lt.
		{"sa100", 100, false},
		{"sa100", 100.1, true},
		{"eb100", 99.9, true},
		{"eb100", 100, false},

		// ap: [Value-10%, Value+10%), or the implicit range if wider.
		{"ap100", 100, true},
		{"ap100", 90, true},
		{"ap100", 89.99, false},
		{"ap100", 109.99, true},
		{"ap100", 110, false},
		{"ap0", 0.49, true},
		{"ap0", -0.5, true},
		{"ap0", 0.5, false},
		{"ap-100", -110, true},
		{"ap-100", -90.0001, true},
		{"ap-100", -90, false},
		{"ap-100", -111, false},
		{"ap5.4", 4.9, true},
		{"ap5.4", 5.9, true},
		{"ap5.4", 4.8, false},
		{"ap5.4", 6, false},
		{"ap1e2", 140, true},
		{"ap1e2", 150, false},
	}
	for _, tc := range tests {
		v, err := ParseNumber(tc.search)
		if err != nil {
			t.Fatalf("ParseNumber(%q): %v", tc.search, err)
		}
		if got := MatchNumber(v, tc.target); got != tc.want {
			t.Errorf("MatchNumber(%s [%g, %g), %g) = %v, want %v", tc.search, v.Lo, v.Hi, tc.target, got, tc.want)
		}
	}
}

func TestApproxBounds(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi float64
	}{
		{"ap100", 90, 110},
		{"ap-100", -110, -90},
		{"ap0", -0.5, 0.5},
		{"ap1e2", 50, 150},
	}
	for _, tc := range tests {
		v, _ := ParseNumber(tc.in)
		if lo, hi := v.ApproxBounds(); lo != tc.lo || hi != tc.hi {
			t.Errorf("%s.ApproxBounds() = [%g, %g), want [%g, %g)", tc.in, lo, hi, tc.lo, tc.hi)
		}
	}
}

// https://hl7.org/fhir/R4/search.html#quantity: "[prefix][number]|[system]|[code]",
// the spec's own examples, and #escaping for system and code.
func TestParseQuantity(t *testing.T) {
	num := func(s string) NumberValue {
		v, err := ParseNumber(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const ucum = "http://unitsofmeasure.org"
	tests := []struct {
		in   string
		want QuantityValue
	}{
		{"5.4|http://unitsofmeasure.org|mg", QuantityValue{num("5.4"), ucum, "mg"}},
		{"5.40e-3|http://unitsofmeasure.org|g", QuantityValue{num("5.40e-3"), ucum, "g"}},
		{"5.4||mg", QuantityValue{num("5.4"), "", "mg"}},
		{"5.4", QuantityValue{num("5.4"), "", ""}},
		{"5.4||", QuantityValue{num("5.4"), "", ""}},
		{"le5.4|http://unitsofmeasure.org|mg", QuantityValue{num("le5.4"), ucum, "mg"}},
		{"ap5.4|http://unitsofmeasure.org|mg", QuantityValue{num("ap5.4"), ucum, "mg"}},
		{"-3.5|http://unitsofmeasure.org|Cel", QuantityValue{num("-3.5"), ucum, "Cel"}},
		{"gt1e2|http://unitsofmeasure.org|mm[Hg]", QuantityValue{num("gt1e2"), ucum, "mm[Hg]"}},
		{`5|urn:a\|b|m\\g`, QuantityValue{num("5"), "urn:a|b", `m\g`}},
		{`5|urn:x\,y|a\$b`, QuantityValue{num("5"), "urn:x,y", "a$b"}},
		{"38||°C", QuantityValue{num("38"), "", "°C"}},
	}
	for _, tc := range tests {
		got, err := ParseQuantity(tc.in)
		if err != nil {
			t.Errorf("ParseQuantity(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseQuantity(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, p := range allPrefixes {
		in := string(p) + "5.4|" + ucum + "|mg"
		got, err := ParseQuantity(in)
		if err != nil || got.Number.Prefix != p || got.Number.Value != 5.4 || got.System != ucum || got.Code != "mg" {
			t.Errorf("ParseQuantity(%q) = %+v, %v", in, got, err)
		}
	}
}

func TestParseQuantityErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty number value"},
		{"abc|x", "has 2 parts separated by '|'; expected number, number|system|code or number||code"},
		{"5|x", "has 2 parts"},
		{"5|a|b|c", "has 4 parts"},
		{"|http://unitsofmeasure.org|mg", "empty number value"},
		{"ge|http://unitsofmeasure.org|mg", `prefix "ge" has no value after it`},
		{"1.2.3||mg", `unexpected ".3"`},
		{"5|http://unitsofmeasure.org|", "a unit system needs a code"},
		{`5|a\qb|mg`, `invalid escape "\q"`},
		{`5|a|mg\`, "a trailing backslash escapes nothing"},
		{`5\,0|s|c`, `number "5,0": unexpected ",0"`},
		{"5 mg", `unexpected " mg"`},
	}
	for _, tc := range tests {
		_, err := ParseQuantity(tc.in)
		if err == nil {
			t.Errorf("ParseQuantity(%q) succeeded, want error containing %q", tc.in, tc.want)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.Contains(msg, "quantity") {
			t.Errorf("ParseQuantity(%q) error %q, want it to contain %q", tc.in, msg, tc.want)
		}
	}
}

// checkNumber is the invariant every parsed number keeps.
func checkNumber(t *testing.T, in string, v NumberValue) {
	t.Helper()
	if !(v.Lo < v.Hi) || v.Value < v.Lo || v.Value > v.Hi || math.IsNaN(v.Value) {
		t.Fatalf("%q: Value %g not in non-empty [%g, %g)", in, v.Value, v.Lo, v.Hi)
	}
	if lo, hi := v.ApproxBounds(); !(lo < hi) || lo > v.Lo || hi < v.Hi {
		t.Fatalf("%q: ApproxBounds [%g, %g) does not cover [%g, %g)", in, lo, hi, v.Lo, v.Hi)
	}
	if !v.Prefix.valid() {
		t.Fatalf("%q: prefix %q", in, v.Prefix)
	}
}

func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"100", "100.00", "1e2", "-5.4", "ap0", "gt8e-1", "1.2.3", "1e-400", "1.0000000000000000000001", "9e307"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseNumber(s)
		if err != nil {
			return
		}
		checkNumber(t, s, v)
	})
}

func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"5.4|http://unitsofmeasure.org|mg", "5.4||mg", "ap5.4", `5|a\|b|c`, "abc|x", `5|a\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuantity(s)
		if err != nil {
			return
		}
		checkNumber(t, s, q.Number)
		if q.System != "" && q.Code == "" {
			t.Fatalf("%q: system %q without a code", s, q.System)
		}
	})
}
