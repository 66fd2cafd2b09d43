package match

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Config is the matcher's tunable configuration: Fellegi–Sunter m and u
// probabilities per comparison level, the grade thresholds, the guards that
// keep hard cases from being certain, identifier systems and blocking bounds.
// README.md in this directory documents every field; default.json is the
// embedded default.
type Config struct {
	Description string `json:"description,omitempty"`
	// KeyVersion is written into every blocking key; change it when a change
	// to names, keys or the tables would change Keys, so stored keys are rebuilt.
	KeyVersion int `json:"keyVersion"`
	// Prior is λ, the probability that two records sharing a blocking key are
	// the same person before any field is compared.
	Prior      float64      `json:"prior"`
	Thresholds Thresholds   `json:"thresholds"`
	Certain    CertainRules `json:"certain"`
	// Identifiers classify identifier systems; the first rule whose systems
	// match an identifier decides. Unlisted systems are compared as "local".
	Identifiers []IdentifierRule `json:"identifiers"`
	Names       Names            `json:"names"`
	BirthDate   Levels           `json:"birthDate"`
	// BirthDatePlaceholders are the dates registers write when only part of a
	// birth date is known (1 January for an unknown date, the 1st for an
	// unknown day): such a date is compared at the lower precision, and two
	// equal placeholders are not an exact agreement.
	BirthDatePlaceholders Placeholders `json:"birthDatePlaceholders"`
	Gender                Levels       `json:"gender"`
	Nationality           Levels       `json:"nationality"`
	Blocking              Blocking     `json:"blocking"`
}

// Thresholds are posterior probabilities (Result.Score) for each grade.
type Thresholds struct {
	Certain  float64 `json:"certain"`
	Probable float64 `json:"probable"`
	Possible float64 `json:"possible"`
}

// CertainRules lists what a pair needs, besides Thresholds.Certain, to be graded
// certain when the two records share no strong identifier (a non-doubtful
// identifier of a rule with Strong set).
type CertainRules struct {
	// BirthDate is the lowest birth-date level allowed ("exact", "yearMonth", ...).
	BirthDate []string `json:"birthDate"`
	// FamilyName and GivenName list the name levels allowed.
	FamilyName []string `json:"familyName"`
	GivenName  []string `json:"givenName"`
	// MaxNameFrequency: when the product of the family and given name
	// frequencies (Names.Frequencies) is above it, the name is too common to be
	// certain on demographics alone (the many people called Sok Dara).
	MaxNameFrequency float64 `json:"maxNameFrequency"`
	// RequireGender: both genders known and equal.
	RequireGender bool `json:"requireGender"`
}

// Level is one comparison outcome: m = P(outcome | same person),
// u = P(outcome | different people). Its weight is log2(m/u).
type Level struct {
	M float64 `json:"m"`
	U float64 `json:"u"`
}

// Weight is the level's log2 Bayes factor.
func (l Level) Weight() float64 { return math.Log2(l.M / l.U) }

// Levels maps level names to their m and u.
type Levels map[string]Level

// IdentifierRule classifies identifier systems.
type IdentifierRule struct {
	Name string `json:"name"`
	// Systems are exact systems, or prefixes ending in "*".
	Systems []string `json:"systems"`
	// Kind: "national" (one per person for life: a different value is strong
	// evidence against), "passport" (renewed: a different number is weak
	// evidence against; numbers are compared across passport systems), or
	// "local" (a source's own number).
	Kind     string `json:"kind"`
	Agree    Level  `json:"agree"`
	Disagree Level  `json:"disagree"`
	// Strong: agreement on a non-doubtful identifier of this rule lets a pair
	// be certain without the demographic guards of Certain.
	Strong bool `json:"strong"`
	// DoubtfulAgree is the level used when the shared value is doubtful on
	// either side: weak evidence that never counts toward certain.
	DoubtfulAgree Level `json:"doubtfulAgree"`
}

// Names configures name comparison.
type Names struct {
	Family Levels `json:"family"`
	Given  Levels `json:"given"`
	// Similar is the Jaro-Winkler similarity of two name keys from which the
	// level is "similar"; PhoneticMin the similarity from which equal phonetic
	// codes make the level "phonetic".
	Similar     float64 `json:"similar"`
	PhoneticMin float64 `json:"phoneticMin"`
	// Frequencies are the relative frequencies of name keys among the
	// registry's people (term-frequency adjustment: an exact match on a name
	// with frequency f has u = max(f, the level's u)).
	Frequencies map[string]float64 `json:"frequencies"`
}

// Placeholders list month-day ("01-01") and day ("01") values that mean
// "unknown".
type Placeholders struct {
	UnknownMonthDay []string `json:"unknownMonthDay"`
	UnknownDay      []string `json:"unknownDay"`
}

// Blocking bounds the blocking keys.
type Blocking struct {
	MaxKeys      int `json:"maxKeys"`
	MaxProbeKeys int `json:"maxProbeKeys"`
	// CommonFrequency: a name part this frequent gets no single-part key
	// (it would select too many candidates); it still takes part in pair keys.
	CommonFrequency float64 `json:"commonFrequency"`
}

// Level names of each comparison.
var (
	nameLevels     = []string{levelExact, levelPhonetic, levelSimilar, levelDisagree}
	dateLevels     = []string{dateExact, dateYearMonth, dateYear, dateTransposed, dateYearOff, dateDisagree}
	agreeLevels    = []string{"agree", "disagree"}
	identifierKind = []string{"national", "passport", "local"}
)

//go:embed default.json
var defaultJSON []byte

// DefaultConfig returns the embedded default configuration (default.json).
func DefaultConfig() Config {
	c, err := LoadConfig(bytes.NewReader(defaultJSON))
	if err != nil {
		panic("match: embedded default.json: " + err.Error())
	}
	return c
}

// LoadConfig reads a JSON configuration. Unknown keys are refused and every
// probability and threshold is checked.
func LoadConfig(r io.Reader) (Config, error) {
	var c Config
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("match.LoadConfig: %w", err)
	}
	if dec.More() {
		return Config{}, errors.New("match.LoadConfig: more than one JSON value")
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("match.LoadConfig: %w", err)
	}
	return c, nil
}

// Validate checks a configuration and names the first bad field.
func (c Config) Validate() error {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	if c.KeyVersion < 1 || c.KeyVersion > 999 {
		bad("keyVersion: must be 1-999, got %d", c.KeyVersion)
	}
	if !(c.Prior > 0 && c.Prior < 1) {
		bad("prior: must be in (0,1), got %v", c.Prior)
	}
	t := c.Thresholds
	if !(t.Possible > 0 && t.Possible < t.Probable && t.Probable < t.Certain && t.Certain < 1) {
		bad("thresholds: need 0 < possible < probable < certain < 1, got %v < %v < %v", t.Possible, t.Probable, t.Certain)
	}
	checkLevels := func(field string, ls Levels, want []string) {
		for _, name := range want {
			l, ok := ls[name]
			if !ok {
				bad("%s.%s: missing", field, name)
				continue
			}
			checkLevel(field+"."+name, l, bad)
		}
		for name := range ls {
			if !contains(want, name) {
				bad("%s.%s: unknown level (want one of %s)", field, name, strings.Join(want, ", "))
			}
		}
	}
	checkLevels("names.family", c.Names.Family, nameLevels)
	checkLevels("names.given", c.Names.Given, nameLevels)
	checkLevels("birthDate", c.BirthDate, dateLevels)
	checkLevels("gender", c.Gender, agreeLevels)
	checkLevels("nationality", c.Nationality, agreeLevels)
	if !(c.Names.Similar > 0 && c.Names.Similar <= 1) || !(c.Names.PhoneticMin >= 0 && c.Names.PhoneticMin <= 1) {
		bad("names: similar must be in (0,1] and phoneticMin in [0,1]")
	}
	for k, f := range c.Names.Frequencies {
		if !(f > 0 && f < 1) || k == "" {
			bad("names.frequencies.%s: must be in (0,1), got %v", k, f)
		}
	}
	for _, name := range [][]string{c.Certain.BirthDate} {
		for _, l := range name {
			if !contains(dateLevels, l) {
				bad("certain.birthDate: unknown level %q", l)
			}
		}
	}
	for f, ls := range map[string][]string{"familyName": c.Certain.FamilyName, "givenName": c.Certain.GivenName} {
		for _, l := range ls {
			if !contains(nameLevels, l) {
				bad("certain.%s: unknown level %q", f, l)
			}
		}
	}
	for _, md := range c.BirthDatePlaceholders.UnknownMonthDay {
		if _, ok := parseDate("2000-" + md); !ok || len(md) != 5 {
			bad("birthDatePlaceholders.unknownMonthDay: %q is not MM-DD", md)
		}
	}
	for _, d := range c.BirthDatePlaceholders.UnknownDay {
		if _, ok := parseDate("2000-01-" + d); !ok || len(d) != 2 {
			bad("birthDatePlaceholders.unknownDay: %q is not DD", d)
		}
	}
	if c.Certain.MaxNameFrequency < 0 || c.Certain.MaxNameFrequency > 1 {
		bad("certain.maxNameFrequency: must be in [0,1]")
	}
	seen := map[string]bool{}
	for i, r := range c.Identifiers {
		f := fmt.Sprintf("identifiers[%d]", i)
		if r.Name == "" || seen[r.Name] {
			bad("%s.name: required and unique", f)
		}
		seen[r.Name] = true
		if len(r.Systems) == 0 {
			bad("%s.systems: required", f)
		}
		if !contains(identifierKind, r.Kind) {
			bad("%s.kind: want one of %s, got %q", f, strings.Join(identifierKind, ", "), r.Kind)
		}
		checkLevel(f+".agree", r.Agree, bad)
		checkLevel(f+".disagree", r.Disagree, bad)
		checkLevel(f+".doubtfulAgree", r.DoubtfulAgree, bad)
	}
	b := c.Blocking
	if b.MaxKeys < 1 || b.MaxKeys > 256 || b.MaxProbeKeys < b.MaxKeys || b.MaxProbeKeys > 512 {
		bad("blocking: need 1 <= maxKeys <= maxProbeKeys, maxKeys <= 256, maxProbeKeys <= 512")
	}
	if !(b.CommonFrequency > 0 && b.CommonFrequency <= 1) {
		bad("blocking.commonFrequency: must be in (0,1]")
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func checkLevel(field string, l Level, bad func(string, ...any)) {
	if !(l.M > 0 && l.M <= 1) || !(l.U > 0 && l.U <= 1) {
		bad("%s: m and u must be in (0,1], got m=%v u=%v", field, l.M, l.U)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
