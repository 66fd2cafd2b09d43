package search

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// https://hl7.org/fhir/R4/search.html#token: the four token forms and escaping.
func TestParseToken(t *testing.T) {
	tests := []struct {
		in      string
		want    Token
		wantErr bool
	}{
		{in: "123", want: Token{AnySystem: true, Code: "123"}},
		{in: "http://hl7.org/fhir/sid/passport-KHM|N123", want: Token{System: "http://hl7.org/fhir/sid/passport-KHM", Code: "N123"}},
		{in: "|N123", want: Token{System: "", Code: "N123"}},
		{in: "https://terms.sil-th.org/id/th-cid|", want: Token{System: "https://terms.sil-th.org/id/th-cid", AnyCode: true}},
		{in: `a\|b`, want: Token{AnySystem: true, Code: "a|b"}},
		{in: `urn:x|a\,b`, want: Token{System: "urn:x", Code: "a,b"}},
		{in: "", wantErr: true},
		{in: "|", wantErr: true},
		{in: "a|b|c", wantErr: true},
	}
	for _, tc := range tests {
		got, err := ParseToken(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseToken(%q) error %v, wantErr %v", tc.in, err, tc.wantErr)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" && !tc.wantErr {
			t.Errorf("ParseToken(%q) (-want +got)\n%s", tc.in, d)
		}
	}
}

// Splitting keeps escapes for the value parsers: "a\|b,c" is two values,
// the first a code containing "|".
func TestSplitValuesKeepsEscapes(t *testing.T) {
	if d := cmp.Diff([]string{"a", `b\,c`, `x\|y`, "d"}, SplitValues(`a,b\,c,x\|y,d`)); d != "" {
		t.Error(d)
	}
	tok, err := ParseToken(SplitValues(`urn:s|x\|y,z`)[0])
	if err != nil || tok.System != "urn:s" || tok.Code != "x|y" {
		t.Errorf("escaped | after splitting: %+v %v", tok, err)
	}
	if got := unescape(`a\,b\|c\$d\\e`); got != `a,b|c$d\e` {
		t.Errorf("unescape: %q", got)
	}
}

func TestIdentifiers(t *testing.T) {
	got, err := Identifiers([]byte(`[{"system":"urn:a","value":"1"},{"value":"2"},{"system":"urn:b"}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []IndexedToken{{System: "urn:a", Code: "1"}, {Code: "2"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}
