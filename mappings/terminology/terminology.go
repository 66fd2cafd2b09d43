// Package terminology holds Mekong's crosswalks as FHIR ConceptMap resources
// and translates codes with them. The ConceptMaps are the single source of
// truth: the mappers translate through them, the server serves them at
// /fhir/ConceptMap and answers ConceptMap/$translate from them, so what a
// client reads is exactly what the mappers do.
package terminology

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
)

//go:embed conceptmaps/*.json
var embedded embed.FS

// Coding is a code in a system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Property is a ConceptMap dependsOn or product: an element the translation
// depends on or produces (e.g. the dose number of a THCC COVID-19 code).
type Property struct {
	Property string `json:"property"`
	Value    string `json:"value"`
}

// Dose is the property under which vaccine crosswalks carry the dose number.
const Dose = "http://hl7.org/fhir/StructureDefinition/Immunization#Immunization.protocolApplied.doseNumber"

// Match is one translation.
type Match struct {
	// Equivalence is the R4 ConceptMap equivalence of source to target, as
	// seen from the source (a reverse translation reports the inverse).
	Equivalence string
	// Concept is empty when Equivalence is "unmatched": the map says there is
	// no target, which is knowledge, not a gap.
	Concept Coding
	Product []Property
	// Source is the URL of the ConceptMap the match came from.
	Source  string
	Comment string
}

// Mapped reports whether the match names a target concept.
func (m Match) Mapped() bool { return m.Concept.Code != "" }

// Terminology is a set of ConceptMaps. It is safe for concurrent use.
type Terminology struct {
	maps []*conceptMap
	raw  map[string][]byte // id → JSON as loaded
}

type conceptMap struct {
	ResourceType string  `json:"resourceType"`
	ID           string  `json:"id"`
	URL          string  `json:"url"`
	Group        []group `json:"group"`
}

type group struct {
	Source  string    `json:"source"`
	Target  string    `json:"target"`
	Element []element `json:"element"`
}

type element struct {
	Code    string   `json:"code"`
	Display string   `json:"display"`
	Target  []target `json:"target"`
}

type target struct {
	Code        string     `json:"code"`
	Display     string     `json:"display"`
	Equivalence string     `json:"equivalence"`
	Comment     string     `json:"comment"`
	DependsOn   []Property `json:"dependsOn"`
	Product     []Property `json:"product"`
}

var defaultOnce = sync.OnceValues(func() (*Terminology, error) { return New() })

// Default returns the embedded crosswalks. It panics if they do not load,
// which a test catches before any release.
func Default() *Terminology {
	t, err := defaultOnce()
	if err != nil {
		panic(err)
	}
	return t
}

// New loads the embedded ConceptMaps plus extra ones (e.g. a DHIS2
// deployment's own option-set map). An extra map with the id of an embedded
// one replaces it.
func New(extra ...[]byte) (*Terminology, error) {
	t := &Terminology{raw: map[string][]byte{}}
	entries, err := embedded.ReadDir("conceptmaps")
	if err != nil {
		return nil, fmt.Errorf("terminology.New: %w", err)
	}
	var all [][]byte
	for _, e := range entries {
		b, err := embedded.ReadFile(path.Join("conceptmaps", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("terminology.New: %w", err)
		}
		all = append(all, b)
	}
	all = append(all, extra...)
	byID := map[string]*conceptMap{}
	var order []string
	for i, b := range all {
		var cm conceptMap
		if err := json.Unmarshal(b, &cm); err != nil {
			return nil, fmt.Errorf("terminology.New: ConceptMap %d: %w", i+1, err)
		}
		if cm.ResourceType != "ConceptMap" || cm.ID == "" || cm.URL == "" {
			return nil, fmt.Errorf("terminology.New: ConceptMap %d: resourceType ConceptMap, id and url are required", i+1)
		}
		if _, ok := byID[cm.ID]; !ok {
			order = append(order, cm.ID)
		}
		byID[cm.ID] = &cm
		t.raw[cm.ID] = b
	}
	for _, id := range order {
		t.maps = append(t.maps, byID[id])
	}
	return t, nil
}

// ConceptMaps returns the JSON of every ConceptMap, ordered by id, for
// serving at /fhir/ConceptMap.
func (t *Terminology) ConceptMaps() [][]byte {
	ids := make([]string, 0, len(t.raw))
	for id := range t.raw {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = t.raw[id]
	}
	return out
}

// ConceptMap returns the JSON of the ConceptMap with the given id or canonical URL.
func (t *Terminology) ConceptMap(idOrURL string) ([]byte, bool) {
	for _, cm := range t.maps {
		if cm.ID == idOrURL || cm.URL == idOrURL {
			return t.raw[cm.ID], true
		}
	}
	return nil, false
}

// Translate returns what code translates to. source is a ConceptMap's
// canonical URL (every group of that map is consulted) or a code system
// (every group of every map whose source it is). Translate never guesses: an
// empty result means no crosswalk knows the code.
func (t *Terminology) Translate(source, code string) []Match {
	var out []Match
	for _, cm := range t.maps {
		for _, g := range cm.Group {
			if cm.URL != source && g.Source != source {
				continue
			}
			out = append(out, forward(cm, g, code, nil)...)
		}
	}
	return out
}

// Map translates a code of system into targetSystem, as the mappers need it.
// It uses the maps that go from system to targetSystem; when none of them
// knows the code it reads the maps that go the other way backwards, but only
// through equivalences that stay true reversed (equal, equivalent, narrower,
// specializes), so a reverse translation never invents precision. deps keep
// only the matches whose products (or dependsOn) carry those values, e.g. the
// dose when CVX 511 must become THCC CS2.
func (t *Terminology) Map(system, code, targetSystem string, deps ...Property) []Match {
	var out []Match
	known := false
	for _, cm := range t.maps {
		for _, g := range cm.Group {
			if g.Source == system && g.Target == targetSystem {
				ms := forward(cm, g, code, deps)
				if len(ms) > 0 || knows(g, code) {
					known = true
				}
				out = append(out, ms...)
			}
		}
	}
	if known {
		return out
	}
	for _, cm := range t.maps {
		for _, g := range cm.Group {
			if g.Source == targetSystem && g.Target == system {
				out = append(out, reverse(cm, g, code, deps)...)
			}
		}
	}
	return out
}

func knows(g group, code string) bool {
	return slices.ContainsFunc(g.Element, func(e element) bool { return e.Code == code })
}

func forward(cm *conceptMap, g group, code string, deps []Property) []Match {
	var out []Match
	for _, e := range g.Element {
		if e.Code != code {
			continue
		}
		for _, tg := range e.Target {
			if !satisfies(tg, deps) {
				continue
			}
			m := Match{Equivalence: tg.Equivalence, Product: tg.Product, Source: cm.URL, Comment: tg.Comment}
			if tg.Code != "" {
				m.Concept = Coding{System: g.Target, Code: tg.Code, Display: tg.Display}
			}
			out = append(out, m)
		}
	}
	return out
}

// inverse maps an equivalence to the one that holds the other way round, for
// the equivalences a reverse translation may follow.
var inverse = map[string]string{
	"equal":       "equal",
	"equivalent":  "equivalent",
	"narrower":    "wider",
	"specializes": "subsumes",
}

func reverse(cm *conceptMap, g group, code string, deps []Property) []Match {
	var out []Match
	for _, e := range g.Element {
		for _, tg := range e.Target {
			inv, ok := inverse[tg.Equivalence]
			if tg.Code != code || !ok || !satisfies(tg, deps) {
				continue
			}
			out = append(out, Match{
				Equivalence: inv,
				Concept:     Coding{System: g.Source, Code: e.Code, Display: e.Display},
				Product:     tg.Product,
				Source:      cm.URL,
			})
		}
	}
	return out
}

func satisfies(tg target, deps []Property) bool {
	for _, d := range deps {
		if !slices.Contains(tg.Product, d) && !slices.Contains(tg.DependsOn, d) {
			return false
		}
	}
	return true
}

// First returns the concept of the only mapped match, and false when there
// is none or more than one: a mapper never picks between candidates.
func First(ms []Match) (Coding, bool) {
	var got []Coding
	for _, m := range ms {
		if m.Mapped() && !slices.Contains(got, m.Concept) {
			got = append(got, m.Concept)
		}
	}
	if len(got) != 1 {
		return Coding{}, false
	}
	return got[0], true
}

// Unmatched reports whether a map states explicitly that the code has no target.
func Unmatched(ms []Match) bool {
	return len(ms) > 0 && !slices.ContainsFunc(ms, Match.Mapped)
}

// ProductValue returns the value of the first product with the given property.
func ProductValue(ms []Match, property string) string {
	for _, m := range ms {
		for _, p := range m.Product {
			if p.Property == property {
				return p.Value
			}
		}
	}
	return ""
}

// String renders a match for logs and tests.
func (m Match) String() string {
	var b strings.Builder
	b.WriteString(m.Equivalence)
	if m.Mapped() {
		b.WriteString(" " + m.Concept.System + "|" + m.Concept.Code)
	}
	return b.String()
}

// CaseVariant returns the code of system that the crosswalks spell as code
// apart from letter case ("Positive" → "POSITIVE"), when exactly one does.
// Sources type option codes by hand; a case slip is not a new code.
func (t *Terminology) CaseVariant(system, code string) (string, bool) {
	found := ""
	for _, cm := range t.maps {
		for _, g := range cm.Group {
			if g.Source != system {
				continue
			}
			for _, e := range g.Element {
				if e.Code != code && strings.EqualFold(e.Code, code) {
					if found != "" && found != e.Code {
						return "", false
					}
					found = e.Code
				}
			}
		}
	}
	return found, found != ""
}
