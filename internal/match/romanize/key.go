package romanize

import "strings"

// Key reduces one romanized name word (lower case a-z, from Latin, Khmer or
// Readings) to a spelling key that the variants seen on Cambodian passports,
// NGO lists and Thai records share: Sok/Sokh, Chan/Chann, Sophea/Sophia,
// Chhun/Chun, Pich/Pech, Srey/Srei, Vuthy/Vuthi, Keo/Kaeo all give one key.
// Steps, in order:
//  1. doubled letters collapse (chann -> chan);
//  2. aspiration and spelling digraphs fold: chh, ch, j -> c; kh, q, c -> k;
//     ph -> p; th -> t; sh, x, z -> s; nh -> n; w -> v; other h after a
//     letter drop (final -h, aspiration), an initial h stays;
//  3. y between a consonant or the start and a vowel is a consonant, else i;
//  4. a final r or v after a vowel is the Khmer silent r / the glide of ov:
//     r drops, v reads o (Hor/Ho, Pov/Phao);
//  5. each vowel run maps to one of a, i, o, ia, ua, eu, ai, io (data in
//     vowelRuns), e and i share a class (Pich/Pech), as do o and u
//     (Chhun/Chhon, Sok/Suk).
func Key(word string) string {
	w := collapse(foldConsonants(collapse(word)))
	w = finals(w)
	return collapse(vowelClasses(w))
}

func collapse(s string) string {
	var b strings.Builder
	var prev byte
	for i := 0; i < len(s); i++ {
		if s[i] != prev {
			b.WriteByte(s[i])
		}
		prev = s[i]
	}
	return b.String()
}

func isVowel(c byte) bool { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' }

func foldConsonants(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		next := byte(0)
		if i+1 < len(s) {
			next = s[i+1]
		}
		switch {
		case c == 'c' && next == 'h':
			b.WriteByte('c')
			i++
			for i+1 < len(s) && s[i+1] == 'h' {
				i++
			}
		case c == 'c':
			b.WriteByte('k')
		case c == 'j':
			b.WriteByte('c')
		case c == 'q':
			b.WriteByte('k')
		case c == 'x' || c == 'z':
			b.WriteByte('s')
		case c == 'w':
			b.WriteByte('v')
		case c == 'n' && next == 'y' && i+2 < len(s) && isVowel(s[i+2]):
			b.WriteByte('n') // ny = nh (Khmer ញ)
			i++
		case c == 'r' && i > 0 && isVowel(s[i-1]) && i+1 < len(s) && !isVowel(next) && next != 'y':
			// Cambodian spellings write a silent r after a vowel: Oeurn, Kimsour.
		case (c == 'k' || c == 'p' || c == 't' || c == 's' || c == 'n' || c == 'g' || c == 'b' || c == 'd') && next == 'h':
			b.WriteByte(c)
			i++
		case c == 'h':
			if i == 0 {
				b.WriteByte('h')
			}
		case c == 'y':
			prevVowel := i > 0 && isVowel(s[i-1])
			nextVowel := i+1 < len(s) && isVowel(next)
			if !prevVowel && nextVowel {
				b.WriteByte('y')
			} else {
				b.WriteByte('i')
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func finals(s string) string {
	n := len(s)
	if n >= 3 && isVowel(s[n-2]) {
		switch s[n-1] {
		case 'r':
			return s[:n-1]
		case 'v':
			return s[:n-1] + "o"
		}
	}
	return s
}

// vowelRuns maps the vowel sequences of the romanizations (Khmer, RTGS and ad
// hoc) to their class; a run not listed maps letter by letter (e, i -> i;
// o, u -> o) and keeps its first and last class.
var vowelRuns = map[string]string{
	"a": "a", "aa": "a",
	"e": "i", "i": "i", "ei": "i", "ie": "ia", "ia": "ia", "ea": "ia", "iea": "ia", "eia": "ia", "ae": "i", "ee": "i", "ii": "i",
	"o": "o", "u": "o", "ou": "o", "au": "o", "ao": "o", "oo": "o", "uu": "o", "aoo": "o",
	"uo": "ua", "ua": "ua", "uoa": "ua", "oa": "ua", "uai": "ua",
	"oe": "eu", "eu": "eu", "ue": "eu", "oeu": "eu", "aeu": "eu", "uea": "eu", "eua": "eu", "oea": "eu", "ueu": "eu", "eo": "io",
	"ai": "ai", "aai": "ai", "aei": "ai",
	"io": "io", "iu": "io", "ieu": "io", "iao": "io", "ieo": "io", "aeo": "io",
	"ui": "oi", "oi": "oi", "oei": "oi",
}

func vowelClasses(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if !isVowel(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isVowel(s[j]) {
			j++
		}
		run := s[i:j]
		if c, ok := vowelRuns[run]; ok {
			b.WriteString(c)
		} else {
			var cls []byte
			for k := 0; k < len(run); k++ {
				c := run[k]
				switch c {
				case 'e':
					c = 'i'
				case 'u':
					c = 'o'
				}
				if len(cls) == 0 || cls[len(cls)-1] != c {
					cls = append(cls, c)
				}
			}
			if len(cls) > 2 {
				cls = []byte{cls[0], cls[len(cls)-1]}
			}
			b.Write(cls)
		}
		i = j
	}
	return b.String()
}

// Code is the cross-script phonetic code of one romanized name word, in the
// style of Suwanvisat & Prasitjutrakul's Thai-English soundex
// (data/phonetic.tsv): consonants by class, 0 for a leading vowel or h, ng as
// 52, no vowels (the Thai final vowel of Pali names such as สมบัติ is not
// pronounced, so a final vowel is not coded either), adjacent equal classes
// (not separated by a vowel) once, a silent r before a consonant (Oeurn) not
// coded, at most 8 digits.
// Because the romanizers keep each Thai and Khmer consonant in the class of
// its Latin value, a name gives the same code from any of the three scripts.
func Code(word string) string {
	w := finals(collapse(word))
	var b strings.Builder
	last := ""
	for i := 0; i < len(w); i++ {
		c := w[i]
		if i == 0 && (isVowel(c) || c == 'h') {
			b.WriteByte('0')
			last = "0"
			continue
		}
		if isVowel(c) || c == 'y' && i > 0 && (i+1 == len(w) || !isVowel(w[i+1])) {
			last = ""
			continue
		}
		if c == 'h' {
			continue // aspiration (kh, th, ph, chh) or a final h
		}
		if c == 'r' && i > 0 && isVowel(w[i-1]) && i+1 < len(w) && !isVowel(w[i+1]) && w[i+1] != 'y' {
			continue // the silent r of Oeurn, Kimsour
		}
		if c == 'y' && i > 0 && w[i-1] == 'n' {
			continue // ny = nh
		}
		cls := tab.phon["latin:"+string(c)]
		if c == 'n' && i+1 < len(w) && w[i+1] == 'g' {
			cls = "52"
			i++
		}
		if cls == "" || cls == last {
			continue
		}
		if b.Len()+len(cls) > 8 {
			break
		}
		b.WriteString(cls)
		last = cls
	}
	return b.String()
}
