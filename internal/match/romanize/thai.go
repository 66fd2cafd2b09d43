package romanize

import "strings"

// Thai romanizes Thai-script text by the Royal Thai General System (RTGS,
// data/thai.tsv): initial and final consonant values, vowel patterns, tone
// marks and silent letters dropped, the inherent vowel o in a closed syllable
// and a in an open one. RTGS needs the pronunciation, which no table has, so
// this is the reading a careful clerk would give a name they never heard.
// The result is lower case a-z, words separated by single spaces.
func Thai(s string) string { return thaiText(s, false) }

// ThaiLetters is Thai with every final consonant read with its initial value
// (ล -> l, ช -> ch, ส -> s, ร -> r) and written clusters kept: the reading that
// recovers a foreign name a Thai writer spelled letter by letter, e.g. a Khmer
// name ending in -l, -ch or -s (data/thai.tsv, column "letter").
func ThaiLetters(s string) string { return thaiText(s, true) }

func isThai(r rune) bool { return r >= 0x0E01 && r <= 0x0E5B }

func thaiText(s string, letters bool) string {
	var words []string
	for _, w := range splitScript(s, isThai) {
		if r := thaiWord(thaiClean([]rune(w)), letters); r != "" {
			words = append(words, r)
		}
	}
	return strings.Join(words, " ")
}

func isThaiCons(r rune) bool { _, ok := tab.thCons[r]; return ok }

func isThaiLead(r rune) bool { return r >= 'เ' && r <= 'ไ' }

// isThaiFollow reports the vowel signs written after or above/below a consonant.
func isThaiFollow(r rune) bool {
	switch r {
	case 'ะ', 'ั', 'า', 'ำ', 'ิ', 'ี', 'ึ', 'ื', 'ุ', 'ู', '็', 'ํ':
		return true
	}
	return false
}

func isThaiSonorant(r rune) bool { return strings.ContainsRune("งญนมยรลว", r) }

// thaiClean drops tone marks and the other signs that carry no sound, and
// the letters a thanthakhat (karan, ์) silences: the letter under it with its
// vowel, and a consonant before it when two consonants precede (จันทร์ -> จัน).
func thaiClean(rs []rune) []rune {
	out := make([]rune, 0, len(rs))
	for _, r := range rs {
		switch tab.thSigns[r] {
		case "tone", "drop", "repeat":
			continue
		case "silent":
			for len(out) > 0 && isThaiFollow(out[len(out)-1]) {
				out = out[:len(out)-1]
			}
			if len(out) > 0 && isThaiCons(out[len(out)-1]) {
				out = out[:len(out)-1]
			}
			if n := len(out); n >= 2 && isThaiCons(out[n-1]) && isThaiCons(out[n-2]) && strings.ContainsRune("ทตดร", out[n-1]) {
				out = out[:n-1]
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

func thaiWord(rs []rune, letters bool) string {
	var b strings.Builder
	n := len(rs)
	follows := func(i int) bool { return i < n && isThaiFollow(rs[i]) }
	var lead rune
	for i := 0; i < n; {
		r := rs[i]
		if isThaiLead(r) {
			lead = r
			i++
			continue
		}
		if v, ok := tab.thIndep[string(rs[i:min(i+2, n)])]; ok && i+1 < n {
			b.WriteString(v)
			i += 2
			continue
		}
		if v, ok := tab.thIndep[string(r)]; ok {
			b.WriteString(v)
			i++
			continue
		}
		if !isThaiCons(r) {
			i++
			continue
		}
		// ห before a sonorant only marks the tone (ho nam): หนู, หลิน.
		if r == 'ห' && i+1 < n && isThaiSonorant(rs[i+1]) && (i+2 < n || lead != 0) {
			i++
			r = rs[i]
		}
		onset := tab.thCons[r].initial
		if letters {
			onset = tab.thCons[r].letter
		}
		i++
		// A written cluster (กร, ปล, ศร, ...) before a vowel sign.
		if i+1 < n && (rs[i] == 'ร' || rs[i] == 'ล' || rs[i] == 'ว') && rs[i+1] != 'ร' && (follows(i+1) || lead != 0 && (i+2 >= n || !isThaiCons(rs[i+1]))) {
			if !(rs[i] == 'ร' && !letters && strings.ContainsRune("ศสทซ", r)) { // RTGS reads ศร, สร, ทร as s
				onset += tab.thCons[rs[i]].initial
			}
			i++
		}
		// Ro han: รร is the vowel a plus, before an open syllable, n (วรรณา -> wanna).
		if i+1 < n && rs[i] == 'ร' && rs[i+1] == 'ร' {
			i += 2
			b.WriteString(onset + "a")
			switch {
			case i < n && isThaiCons(rs[i]) && !follows(i+1) && !(i+1 < n && isThaiCons(rs[i+1])):
				b.WriteString(thaiFinal(rs[i], letters)) // วรรณ -> wan
				i++
			case i >= n || follows(i+1) || lead != 0:
				b.WriteString("n") // วรรณา -> wanna
			}
			continue
		}
		sig := ""
		for i < n {
			if isThaiFollow(rs[i]) {
				sig += string(rs[i])
				i++
				continue
			}
			if strings.ContainsRune("อยว", rs[i]) && !follows(i+1) {
				if _, ok := tab.thVowels[leadKey(lead)+"|"+sig+string(rs[i])]; ok {
					sig += string(rs[i])
					i++
					continue
				}
			}
			break
		}
		var vowel string
		switch {
		case lead == 0 && sig == "":
			switch {
			case i+1 < n && rs[i] == 'ว' && isThaiCons(rs[i+1]) && !follows(i+2):
				vowel = "ua" // medial ว: นวน -> nuan
				i++
			case i < n && isThaiCons(rs[i]) && !follows(i+1):
				vowel = "o"
			default:
				vowel = "a"
			}
		default:
			var ok bool
			if vowel, ok = tab.thVowels[leadKey(lead)+"|"+dashed(sig)]; !ok {
				vowel = tab.thVowels[leadKey(lead)+"|-"] + tab.thVowels["-|"+dashed(sig)]
			}
		}
		lead = 0
		b.WriteString(onset)
		b.WriteString(vowel)
		// A consonant that opens no syllable of its own closes this one. Before
		// a last consonant it opens one with the inherent o (โกศล ko-son), unless
		// that last letter is ร, silent after a final (วิจิตร wichit, เพ็ชร phet).
		if i < n && isThaiCons(rs[i]) && !follows(i+1) && !(i+1 < n && rs[i] == 'ร' && rs[i+1] == 'ร') && !(i+2 < n && rs[i+1] == 'ร' && rs[i+2] == 'ร') {
			if i+2 == n && isThaiCons(rs[i+1]) && rs[i+1] != 'ร' {
				continue
			}
			c := rs[i]
			final := thaiFinal(c, letters)
			if (c == 'ย' && strings.HasSuffix(vowel, "i")) || (c == 'ว' && strings.HasSuffix(vowel, "o")) {
				final = ""
			}
			b.WriteString(final)
			i++
			if i+1 == n && rs[i] == 'ร' {
				i++
			}
		}
	}
	return b.String()
}

func leadKey(r rune) string {
	if r == 0 {
		return "-"
	}
	return string(r)
}

func dashed(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// thaiFinal is a consonant's value closing a syllable: RTGS's, or in the
// letter reading its own value (ย and ว stay vowel glides in both: สาย sai, แก้ว kaeo).
func thaiFinal(c rune, letters bool) string {
	tc := tab.thCons[c]
	if letters && c != 'ย' && c != 'ว' {
		return tc.letter
	}
	return tc.final
}
