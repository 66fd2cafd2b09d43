package mapping

import (
	"strings"
	"unicode"
)

// ScriptLanguage returns the BCP 47 language tag Mekong puts on a name written
// in s: "km", "th", "lo" or "my" for the scripts of the region, "en" for Latin
// (the passport spelling, tagged as TH Core tags its English name slice), ""
// when no letter says. Names are told apart by script, never by column, so a
// Thai hospital that typed a Cambodian's name in Latin letters is not mislabelled.
func ScriptLanguage(s string) string {
	for _, r := range s {
		switch {
		case r >= 0x1780 && r <= 0x17FF || r >= 0x19E0 && r <= 0x19FF:
			return "km"
		case r >= 0x0E00 && r <= 0x0E7F:
			return "th"
		case r >= 0x0E80 && r <= 0x0EFF:
			return "lo"
		case r >= 0x1000 && r <= 0x109F:
			return "my"
		case unicode.Is(unicode.Latin, r):
			return "en"
		}
	}
	return ""
}

// NewName builds an official HumanName tagged with the language of its script;
// it returns false when both parts are empty.
func NewName(family, given string) (HumanName, bool) {
	family, given = strings.TrimSpace(family), strings.TrimSpace(given)
	if family == "" && given == "" {
		return HumanName{}, false
	}
	n := HumanName{Use: "official", Family: family}
	if given != "" {
		n.Given = []string{given}
	}
	if lang := ScriptLanguage(given + family); lang != "" {
		n.Extension = []Extension{{URL: ExtLanguage, ValueCode: lang}}
	}
	return n, true
}

// GivenName returns the given names joined by spaces.
func (n HumanName) GivenName() string { return strings.Join(n.Given, " ") }

// Latin reports whether the name is in Latin script.
func (n HumanName) Latin() bool {
	if l := n.Language(); l != "" {
		return l == "en" || strings.HasSuffix(l, "-Latn")
	}
	return ScriptLanguage(n.GivenName()+n.Family) == "en"
}

// Names returns the patient's first Latin-script and first native-script names.
func (p *Patient) Names() (latin, native *HumanName) {
	for i := range p.Name {
		n := &p.Name[i]
		if n.Latin() {
			if latin == nil {
				latin = n
			}
		} else if native == nil {
			native = n
		}
	}
	return latin, native
}
