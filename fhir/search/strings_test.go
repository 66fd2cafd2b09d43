package search

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// https://hl7.org/fhir/R4/search.html#string: a field matches "if the value
// of the field equals or starts with the supplied parameter value, after both
// have been normalized by case and accent". Accents are stripped from Latin,
// Greek and Cyrillic only; the vowel signs and tone marks of Thai, Khmer, Lao
// and Burmese are kept.
func TestNormalize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"ascii", "Sokha CHAN", "sokha chan"},
		{"umlaut", "Müller", "muller"},
		{"capital accent", "ÉLODIE", "elodie"},
		{"decomposed input", "E\u0301lodie", "elodie"},
		{"vietnamese stacked", "Nguyễn", "nguyen"},
		{"vietnamese full name", "NGUYỄN Thị Minh Khai", "nguyen thi minh khai"},
		{"vietnamese d with stroke", "Trần Văn Đức", "tran van duc"},
		{"vietnamese stacked decomposed", "Nguye\u0302\u0303n", "nguyen"},
		{"polish", "Łukasz Wałęsa", "lukasz walesa"},
		{"nordic", "Søren Ærø", "soren æro"},
		{"sharp s folds to ss", "Straße", "strasse"},
		{"dotted capital I", "İnci", "inci"},
		{"greek", "Ἀθηνᾶ Σίσυφος", "αθηνα σισυφοσ"},
		{"cyrillic", "Ёлка Йосиф", "елка иосиф"},
		{"thai", "สมชาย", "สมชาย"},
		{"thai tone marks", "สมศักดิ์ ใจดี", "สมศักดิ์ ใจดี"},
		// NFC puts the vowel sign (ccc 103) before the tone mark (ccc 107).
		{"thai mark order", "\u0e1b\u0e48\u0e39", "\u0e1b\u0e39\u0e48"},
		{"khmer", "សុខា", "សុខា"},
		{"khmer full name", "ចាន់ សុភាព", "ចាន់ សុភាព"},
		{"khmer zero-width space", "សុខ\u200bហេង", "សុខហេង"},
		{"lao", "ສົມພອນ", "ສົມພອນ"},
		{"burmese", "အောင်ဆန်း", "အောင်ဆန်း"},
		{"burmese composes under NFC", "\u1025\u102e", "\u1026"},
		{"mixed scripts", "Sokha សុខា Müller ", "sokha សុខា muller"},
		{"latin then thai mark stays on thai", "Ana ปู", "ana ปู"},
		{"whitespace", "  Sok \t\n  Dara  ", "sok dara"},
		{"no-break space", "Sok\u00a0Dara", "sok dara"},
		{"ideographic space", "Sok\u3000Dara", "sok dara"},
		{"only whitespace", " \t ", ""},
		{"empty", "", ""},
		{"mark with no base", "\u0301a", "\u0301a"},
		{"invalid utf-8", "Sok\xffha", "sok\ufffdha"},
		{"punctuation kept", "O'Brien-Smith", "o'brien-smith"},
		{"digits", "Room 12B", "room 12b"},
		{"cherokee capital", "\u13e3", "\uabb3"},
		{"cherokee small", "\uabb3", "\uabb3"},
	}
	for _, tc := range tests {
		got := Normalize(tc.in)
		if got != tc.want {
			t.Errorf("%s: Normalize(%q) = %q (%+q), want %q (%+q)", tc.name, tc.in, got, got, tc.want, tc.want)
		}
		if again := Normalize(got); again != got {
			t.Errorf("%s: Normalize is not idempotent: %q then %q", tc.name, got, again)
		}
	}
}

// Names that differ only in a Southeast Asian vowel sign or tone mark must
// stay different: they are different people.
func TestNormalizeKeepsNamesApart(t *testing.T) {
	pairs := [][2]string{
		{"ปู", "ป"},           // Thai sara uu
		{"ใจดี", "ใจด"},       // Thai sara ii
		{"ไม้", "ไม"},         // Thai mai tho (tone)
		{"สมศักดิ์", "สมศกด"}, // Thai mai han-akat, thanthakhat
		{"សុខា", "សខា"},       // Khmer vowel sign u
		{"សុខា", "សុខ"},       // Khmer vowel sign aa (spacing mark)
		{"ສົມ", "ສມ"},         // Lao
		{"မိုး", "မ"},         // Burmese
		{"အောင်", "အောင"},     // Burmese asat
	}
	for _, p := range pairs {
		if a, b := Normalize(p[0]), Normalize(p[1]); a == b {
			t.Errorf("Normalize(%q) = Normalize(%q) = %q", p[0], p[1], a)
		}
	}
}

// The ASCII fast path must agree with the general one.
func TestNormalizeASCIIPath(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "aZ09 \t\n\v\f\r-'.%_\x00\x7f"
	for range 5000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		if a, u := normalizeASCII(s), normalizeUnicode(s); a != u {
			t.Fatalf("Normalize(%q): ASCII path %q, Unicode path %q", s, a, u)
		}
	}
}

// Normalize yields valid NFC, is idempotent, and the ASCII path agrees with
// the general one.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Nguyễn", "สมศักดิ์", "សុខា", "Straße", "İ", "\u0301", "a\u200b\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n) || !norm.NFC.IsNormalString(n) {
			t.Fatalf("Normalize(%q) = %q is not valid NFC", s, n)
		}
		if again := Normalize(n); again != n {
			t.Fatalf("Normalize(%q) = %q, then %q", s, n, again)
		}
		if isASCII(s) && normalizeUnicode(s) != n {
			t.Fatalf("Normalize(%q): ASCII path %q, Unicode path %q", s, n, normalizeUnicode(s))
		}
	})
}

func TestPrefixUpperBound(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"ascii", "abc", "abd", true},
		{"one letter", "a", "b", true},
		{"empty has no bound", "", "", false},
		{"z", "az", "a{", true},
		{"last ascii to two bytes", "a\x7f", "a\u0080", true},
		{"two-byte", "é", "ê", true},
		{"two-byte carry stays valid", "\u00bf", "\u00c0", true},
		{"two-byte to three-byte", "\u07ff", "\u0800", true},
		{"thai", "สม", "สย", true},
		{"khmer", "សុ", "សូ", true},
		{"skip surrogates", "\ud7ff", "\ue000", true},
		{"max rune is dropped", "a\U0010ffff", "b", true},
		{"only max runes", "\U0010ffff\U0010ffff", "", false},
		{"invalid utf-8 uses bytes", "ab\xff", "ac", true},
		{"invalid utf-8 trailing 0xff run", "a\xfe\xff\xff", "a\xff", true},
		{"only 0xff", "\xff\xff", "", false},
		{"invalid mid-string", "a\xc3", "a\xc4", true},
	}
	for _, tc := range tests {
		got, ok := PrefixUpperBound(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: PrefixUpperBound(%+q) = %+q, %v; want %+q, %v", tc.name, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// For random prefixes p: every s with prefix p satisfies p <= s < bound, and
// every other s > p satisfies s >= bound, so `col >= p AND col < bound` is
// exactly a prefix match. For valid UTF-8 the bound is valid UTF-8.
func TestPrefixUpperBoundProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	// Runes near the encoding-length and surrogate edges, and in the scripts
	// Mekong's names use.
	runes := []rune{'a', 'b', 'z', 0x7e, 0x7f, 0x80, 0xbf, 0xc0, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff,
		0x10000, 0x10fffe, 0x10ffff, 'ส', 'ม', 'ស', 'ុ', 'ນ', 'မ', 'é', 'ễ'}
	randValid := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(runes[r.IntN(len(runes))])
		}
		return b.String()
	}
	randBytes := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = []byte{0x00, 0x61, 0x7f, 0x80, 0xc3, 0xbf, 0xfe, 0xff}[r.IntN(8)]
		}
		return string(b)
	}
	for i := range 20000 {
		gen := randValid
		if i%4 == 3 {
			gen = randBytes
		}
		p := gen(1 + r.IntN(4))
		bound, ok := PrefixUpperBound(p)
		if utf8.ValidString(p) && ok && !utf8.ValidString(bound) {
			t.Fatalf("PrefixUpperBound(%+q) = %+q is not valid UTF-8", p, bound)
		}
		if ok && strings.HasPrefix(bound, p) {
			t.Fatalf("PrefixUpperBound(%+q) = %+q has the prefix itself", p, bound)
		}
		for range 20 {
			s := p + gen(r.IntN(4))
			if !(p <= s) || (ok && !(s < bound)) {
				t.Fatalf("p=%+q s=%+q bound=%+q,%v: want p <= s < bound", p, s, bound, ok)
			}
			// A string near p without the prefix must fall outside the scan.
			o := gen(len(p) / 2) // shorter, so often a proper prefix of p or diverging early
			if utf8.ValidString(p) {
				o = mutateLast(p, r, runes)
			}
			if !strings.HasPrefix(o, p) && o > p && ok && o < bound {
				t.Fatalf("p=%+q other=%+q bound=%+q: a string without the prefix is inside the scan", p, o, bound)
			}
		}
	}
}

// mutateLast changes p's last rune and may append more, giving strings that
// sort right around p's prefix range.
func mutateLast(p string, r *rand.Rand, runes []rune) string {
	_, size := utf8.DecodeLastRuneInString(p)
	s := p[:len(p)-size] + string(runes[r.IntN(len(runes))])
	for range r.IntN(3) {
		s += string(runes[r.IntN(len(runes))])
	}
	return s
}

func TestEscapeLike(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sokha", "sokha"},
		{"100%", `100\%`},
		{"a_b", `a\_b`},
		{`c:\dir`, `c:\\dir`},
		{`%_\`, `\%\_\\`},
		{`\%`, `\\\%`},
		{"สม_ชาย%", `สม\_ชาย\%`},
		{"", ""},
	}
	for _, tc := range tests {
		if got := EscapeLike(tc.in); got != tc.want {
			t.Errorf("EscapeLike(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Typical patient names through Normalize, once per script family.
func BenchmarkNormalize(b *testing.B) {
	for _, name := range []struct{ label, s string }{
		{"ascii", "Sokha Chan"},
		{"vietnamese", "Nguyễn Thị Minh Khai"},
		{"khmer", "ចាន់ សុភាព"},
		{"thai", "สมชาย ใจดี"},
	} {
		b.Run(name.label, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Normalize(name.s)
			}
		})
	}
}
