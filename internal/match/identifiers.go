package match

import (
	"fmt"
	"strings"
)

const (
	systemKHMNationalID = "https://mekong-fhir.github.io/fhir/sid/khm-national-id"
	systemThaiCID       = "https://terms.sil-th.org/id/th-cid"
	passportPrefix      = "http://hl7.org/fhir/sid/passport-"
)

// normSystem folds the TH Core https alias of the HL7 passport systems into
// the http form (domain.md caution 2).
func normSystem(s string) string {
	if rest, ok := strings.CutPrefix(s, "https://hl7.org/fhir/sid/passport-"); ok {
		return passportPrefix + rest
	}
	return s
}

// normValue drops the spaces, dashes and dots people type inside numbers and
// upper-cases letters: "n 0123-4567" and "N01234567" are one passport.
func normValue(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch {
		case r == ' ' || r == '-' || r == '.' || r == '/' || r == '\t':
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// validThaiCID checks the Thai identification number's check digit
// (13 digits; the last is (11 - Σ dᵢ·(13-i) mod 11) mod 10).
func validThaiCID(v string) bool {
	if len(v) != 13 {
		return false
	}
	sum := 0
	for i := 0; i < 12; i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
		sum += int(v[i]-'0') * (13 - i)
	}
	return v[12] >= '0' && v[12] <= '9' && int(v[12]-'0') == (11-sum%11)%10
}

// ident is an identifier prepared for comparison.
type ident struct {
	rule     int    // index into cfg.Identifiers, -1 when no rule matches
	system   string // normalised
	value    string // normalised
	doubtful bool
}

func (m *Matcher) idents(ids []Identifier) []ident {
	out := make([]ident, 0, len(ids))
	for _, id := range ids {
		sys, val := normSystem(id.System), normValue(id.Value)
		if val == "" {
			continue
		}
		doubt := id.Doubtful || sys == systemThaiCID && !validThaiCID(val)
		out = append(out, ident{rule: m.ruleOf(sys), system: sys, value: val, doubtful: doubt})
	}
	return out
}

func (m *Matcher) ruleOf(system string) int {
	for i, r := range m.cfg.Identifiers {
		for _, s := range r.Systems {
			if p, ok := strings.CutSuffix(s, "*"); ok && strings.HasPrefix(system, normSystem(p)) || s == system {
				return i
			}
		}
	}
	return -1
}

// idOutcome is what one identifier rule says about a pair.
type idOutcome struct {
	rule     int
	outcome  string // agree, disagree, conflict, partial (doubtful agreement)
	weight   float64
	strong   bool // a non-doubtful agreement on a strong rule
	doubtful bool // the weight must not count toward certain
	detail   string
	system   string
}

// compareIdentifiers compares the identifiers rule by rule. Passport numbers
// agree across passport systems (a Thai export that did not know the issuing
// country); they disagree only within one system (one issuing country).
func (m *Matcher) compareIdentifiers(a, b []ident) []idOutcome {
	var out []idOutcome
	for ri, rule := range m.cfg.Identifiers {
		as, bs := byRule(a, ri), byRule(b, ri)
		if len(as) == 0 || len(bs) == 0 {
			continue
		}
		var agree, doubtAgree *ident
		for i, x := range as {
			for _, y := range bs {
				if x.value != y.value || x.system != y.system && rule.Kind != "passport" {
					continue
				}
				if !x.doubtful && !y.doubtful {
					agree = &as[i]
				} else if doubtAgree == nil {
					doubtAgree = &as[i]
				}
			}
		}
		switch {
		case agree != nil:
			out = append(out, idOutcome{rule: ri, outcome: "agree", weight: rule.Agree.Weight(), strong: rule.Strong, system: agree.system,
				detail: fmt.Sprintf("%s %s on both", rule.Name, agree.value)})
		case doubtAgree != nil:
			out = append(out, idOutcome{rule: ri, outcome: "partial", weight: rule.DoubtfulAgree.Weight(), doubtful: true, system: doubtAgree.system,
				detail: fmt.Sprintf("%s %s on both, doubtful: never evidence for certain", rule.Name, doubtAgree.value)})
		default:
			if d, ok := disagreement(rule, as, bs); ok {
				d.rule = ri
				out = append(out, d)
			}
		}
	}
	return out
}

func byRule(ids []ident, rule int) []ident {
	var out []ident
	for _, x := range ids {
		if x.rule == rule {
			out = append(out, x)
		}
	}
	return out
}

// disagreement finds the same system on both sides with different,
// non-doubtful values.
func disagreement(rule IdentifierRule, as, bs []ident) (idOutcome, bool) {
	for _, x := range as {
		for _, y := range bs {
			if x.system != y.system || x.doubtful || y.doubtful {
				continue
			}
			outcome := "disagree"
			if rule.Kind == "national" {
				outcome = "conflict"
			}
			return idOutcome{outcome: outcome, weight: rule.Disagree.Weight(), system: x.system,
				detail: fmt.Sprintf("%s %s vs %s", rule.Name, x.value, y.value)}, true
		}
	}
	return idOutcome{}, false
}
