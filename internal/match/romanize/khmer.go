package romanize

import "strings"

// kmItem is one orthographic unit of Khmer text: a consonant cluster with its
// vowel, or an independent vowel.
type kmItem struct {
	base   rune   // consonant, or 0 for an independent vowel
	indep  string // romanized independent vowel
	subs   []rune // subscript consonants (after coeng)
	reg    int    // 1 or 2 when a register sign forces the series
	vowel  string // dependent vowel sequence, "" for the inherent vowel
	silent bool   // toandakhiat: the letter is not pronounced
	coda   bool   // the base of a split cluster: closes the syllable before it
}

// Second-series stops: a cluster whose subscript is one of these takes the
// second series even when the base is a first-series letter (BGN/PCGN 1972).
const kmVoicedStops = "គឃជឈឌឍទធពភ"

// Khmer romanizes Khmer-script text the way Cambodian passports and NGO
// lists write names: consonant values of BGN/PCGN 1972 (UNGEGN), vowel
// values by register as in the Documentation Center of Cambodia's 1998 table,
// no diacritics (data/khmer.tsv). Words stay separated by single spaces;
// characters of other scripts separate words. The result is lower case a-z.
func Khmer(s string) string {
	var words []string
	for _, w := range splitScript(s, isKhmer) {
		if r := khmerWord([]rune(w)); r != "" {
			words = append(words, r)
		}
	}
	return strings.Join(words, " ")
}

func isKhmer(r rune) bool { return r >= 0x1780 && r <= 0x17FF || r >= 0x19E0 && r <= 0x19FF }

func khmerWord(rs []rune) string {
	items := kmParse(rs)
	var b strings.Builder
	for j := 0; j < len(items); j++ {
		it := items[j]
		if it.silent {
			continue
		}
		if it.base == 0 {
			b.WriteString(it.indep)
			if j+1 < len(items) && kmIsCoda(items, j+1) {
				j++
				b.WriteString(kmFinal(items[j]))
			}
			continue
		}
		series := kmSeries(it)
		b.WriteString(kmOnset(it))
		switch {
		case it.vowel != "":
			v := tab.kmVowels[it.vowel]
			b.WriteString(v[series-1])
		case series == 1:
			b.WriteString("a")
		default:
			b.WriteString("o")
		}
		if j+1 < len(items) && kmIsCoda(items, j+1) {
			j++
			b.WriteString(kmFinal(items[j]))
		}
	}
	return b.String()
}

// kmIsCoda reports whether items[k], a vowel-less consonant, closes the
// syllable before it rather than opening one of its own: it does when it ends
// the word or when the next unit carries its own vowel.
func kmIsCoda(items []kmItem, k int) bool {
	it := items[k]
	if it.base == 0 || it.vowel != "" {
		return false
	}
	if it.coda {
		return true
	}
	if k == len(items)-1 {
		return true
	}
	next := items[k+1]
	return next.base == 0 || next.vowel != "" || next.silent
}

func kmParse(rs []rune) []kmItem {
	var items []kmItem
	for i := 0; i < len(rs); {
		r := rs[i]
		if c, ok := tab.kmCons[r]; ok {
			_ = c
			it := kmItem{base: r}
			i++
			for i < len(rs) {
				switch tab.kmSigns[rs[i]] {
				case "coeng":
					if i+1 < len(rs) {
						if _, ok := tab.kmCons[rs[i+1]]; ok {
							it.subs = append(it.subs, rs[i+1])
							i += 2
							continue
						}
					}
					i++
					continue
				case "reg1":
					it.reg = 1
					i++
					continue
				case "reg2":
					it.reg = 2
					i++
					continue
				}
				break
			}
			for l := min(tab.kmMaxV, len(rs)-i); l > 0; l-- {
				if _, ok := tab.kmVowels[string(rs[i:i+l])]; ok {
					it.vowel = string(rs[i : i+l])
					i += l
					break
				}
			}
		signs:
			for i < len(rs) {
				switch tab.kmSigns[rs[i]] {
				case "silent":
					it.silent = true
				case "reg1":
					it.reg = 1
				case "reg2":
					it.reg = 2
				case "short", "drop":
				default:
					break signs
				}
				i++
			}
			items = append(items, it)
			continue
		}
		if v, ok := tab.kmIndep[r]; ok {
			items = append(items, kmItem{indep: v})
		} else if tab.kmSigns[r] == "silent" && len(items) > 0 {
			items[len(items)-1].silent = true
		}
		i++
	}
	// A vowel-less cluster ends the word (ពេជ្រ, សុភ័ក្ត្រ): its subscripts are
	// not pronounced. Inside a word its base closes the syllable before it and
	// the subscript opens the next (នរោត្តម: ...rot-tam).
	var out []kmItem
	for j, it := range items {
		if it.base == 0 || it.vowel != "" || len(it.subs) == 0 || j == 0 {
			out = append(out, it)
			continue
		}
		if j == len(items)-1 {
			it.subs = nil
			out = append(out, it)
			continue
		}
		out = append(out, kmItem{base: it.base, reg: it.reg, coda: true})
		out = append(out, kmItem{base: it.subs[0], subs: it.subs[1:]})
	}
	return out
}

func kmSeries(it kmItem) int {
	if it.reg != 0 {
		return it.reg
	}
	s := tab.kmCons[it.base].series
	for _, sub := range it.subs {
		if strings.ContainsRune(kmVoicedStops, sub) {
			s = 2
		}
	}
	return s
}

func kmOnset(it kmItem) string {
	init := tab.kmCons[it.base].initial
	if it.base == 'ប' && (it.reg == 1 || len(it.subs) > 0) {
		init = "p" // ប៉ and ប before a subscript are /p/ (BGN/PCGN note; DC-Cam note 1)
	}
	var b strings.Builder
	b.WriteString(init)
	for _, sub := range it.subs {
		b.WriteString(tab.kmCons[sub].initial)
	}
	return b.String()
}

func kmFinal(it kmItem) string { return tab.kmCons[it.base].final }

// splitScript returns the runs of s whose runes satisfy in.
func splitScript(s string, in func(rune) bool) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !in(r) })
}
