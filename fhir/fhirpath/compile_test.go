package fhirpath

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestCompileRejects: whatever the evaluator does not implement fails
// Compile, naming the construct and its column, so a search parameter that
// cannot be honoured stops start-up instead of indexing wrongly.
func TestCompileRejects(t *testing.T) {
	tests := []struct {
		expr, want string
		col        int
	}{
		{"Patient.name.count()", "function count() is not supported", 14},
		{"Patient.name[x]", `the indexer [] takes a non-negative integer literal, found "x"`, 14},
		{"Patient.name[-1]", `the indexer [] takes a non-negative integer literal, found "-"`, 14},
		{"Patient.name[0", `expected "]", found end of expression`, 15},
		{"Observation.value < 5", `operator "<" is not supported`, 19},
		{"a implies b", `operator "implies" is not supported`, 3},
		{"a xor b", `operator "xor" is not supported`, 3},
		{"'a' + 'b'", `operator "+" is not supported`, 5},
		{"a ~ b", `operator "~" is not supported`, 3},
		{"code in %vs", `operator "in" is not supported`, 6},
		{"Patient.birthDate = @2020-01-01", "date/time literal @2020-01-01 is not supported", 21},
		{"4 'mg'", "quantity literals are not supported", 1},
		{"4 days", "quantity literals are not supported", 1},
		{"%ucum", "environment variable %ucum is not supported", 1},
		{"%`vs-x`", "environment variable %vs-x is not supported", 1},
		{"name.where($index = 0)", "$index is not supported", 12},
		{"-1", `unary "-" is not supported`, 1},
		{"value is Foo", `unknown type "Foo"`, 10},
		{"value.as(FHIR.DateTime)", `unknown type "FHIR.DateTime"`, 10},
		{"value.ofType(System.Period)", `unknown type "System.Period"`, 14},
		{"value.as('Quantity')", `expected a type name, found string "Quantity"`, 10},
		{"extension(url)", "extension() needs a string literal argument", 1},
		{"where()", "where() takes 1 argument(s), got 0", 1},
		{"exists(a, b)", "exists() takes 0 to 1 arguments, got 2", 1},
		{"first(1)", "first() takes 0 argument(s), got 1", 1},
		{"Patient.", "expected a name after '.', found end of expression", 9},
		{"Patient.name.", "expected a name after '.'", 14},
		{"(Patient.name", `expected ")", found end of expression`, 14},
		{"Patient name", `unexpected "name"`, 9},
		{"'unterminated", "unterminated string", 1},
		{"`unterminated", "unterminated identifier", 1},
		{"'bad \\q escape'", `unknown escape \q`, 6},
		{"/* open comment", "unterminated comment", 1},
		{"Patient#name", `unexpected character '#'`, 8},
		{"", "unexpected end of expression", 1},
		{"where(x).", "expected a name after '.'", 10},
		{strings.Repeat("(", 101) + "1" + strings.Repeat(")", 101), "expression nested too deeply", 101},
	}
	for _, tt := range tests {
		_, err := Compile(tt.expr)
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("Compile(%q) = %v, want an *Error", tt.expr, err)
			continue
		}
		if !strings.Contains(ce.Msg, tt.want) || ce.Pos+1 != tt.col {
			t.Errorf("Compile(%q): %q at column %d, want %q at column %d", tt.expr, ce.Msg, ce.Pos+1, tt.want, tt.col)
		}
		if !strings.Contains(err.Error(), strconv.Quote(tt.expr)) {
			t.Errorf("Compile(%q): error %q does not quote the expression", tt.expr, err)
		}
	}
}

// TestString returns the source, which the search registry logs.
func TestString(t *testing.T) {
	const src = "(Observation.value as Quantity) | (Observation.value as SampledData)"
	if got := MustCompile(src).String(); got != src {
		t.Errorf("String() = %q", got)
	}
}
