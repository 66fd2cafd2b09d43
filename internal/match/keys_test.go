package match

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestKeysStable pins the keys of one record: stored keys must not change
// between versions of the engine unless keyVersion changes (CONTRACTS.md §1).
func TestKeysStable(t *testing.T) {
	m := matcher(t)
	r := Record{Names: []Name{{Family: "KEO", Given: []string{"VANNAK"}}, {Family: "កែវ", Given: []string{"វណ្ណៈ"}}}, BirthDate: "1994-03-12",
		Identifiers: []Identifier{{System: passportKHM, Value: "N0123456"}, {System: natID, Value: "010203045"}, {System: "https://terms.sil-th.org/id/th-cid", Value: "1101700123457", Doubtful: true}}}
	want := []string{
		"1i:pp:N0123456", "1i:0e7bbaeaadece64f:010203045",
		"1n:kio|vanak", "1n:kio|vonak",
		"1p:152|2:1994",
		"1y:vanak:1994", "1y:vonak:1994",
	}
	if d := cmp.Diff(want, m.Keys(r)); d != "" {
		t.Errorf("Keys (-want +got):\n%s", d)
	}
}

func TestKeys(t *testing.T) {
	m := matcher(t)
	latin := person("SOK", "SREY POV", "1990-04-17", "female", Identifier{System: passportKHM, Value: "N1"})
	thai := Record{Names: []Name{{Family: "ศรีเพา", Given: []string{"สุข"}}}, BirthDate: "1991-01-01"} // order swapped, a year off
	keys, probe := m.Keys(latin), m.ProbeKeys(thai)
	shared := false
	for _, k := range probe {
		shared = shared || slices.Contains(keys, k)
	}
	if !shared {
		t.Errorf("a Thai-script record a year off finds no Latin record:\n keys %v\n probe %v", keys, probe)
	}
	// ProbeKeys is a superset of Keys, adds adjacent years, and lists the most
	// selective (identifiers) first.
	pk := m.ProbeKeys(latin)
	for _, k := range keys {
		if !slices.Contains(pk, k) {
			t.Errorf("probe keys lack %s", k)
		}
	}
	if !strings.HasPrefix(pk[0], "1i:") || !slices.ContainsFunc(pk, func(k string) bool { return strings.HasSuffix(k, ":1989") }) {
		t.Errorf("probe keys %v", pk)
	}
	// Common names get no single-part key; doubtful identifiers none at all.
	for _, k := range m.Keys(person("Sok", "Dara", "1990-04-17", "male", Identifier{System: passportKHM, Value: "N2", Doubtful: true})) {
		if strings.HasPrefix(k, "1y:sok:") || strings.HasPrefix(k, "1y:dara:") || strings.HasPrefix(k, "1i:") {
			t.Errorf("key %s", k)
		}
	}
	// Bounded in number and length whatever the record holds.
	var big Record
	for i := 0; i < 40; i++ {
		big.Names = append(big.Names, Name{Family: strings.Repeat("Sopheak", 40) + string(rune('a'+i%26)), Given: []string{"ស្រី" + strings.Repeat("ពៅ", i)}})
		big.Identifiers = append(big.Identifiers, Identifier{System: "urn:x:" + strings.Repeat("s", i), Value: strings.Repeat("9", 300)})
	}
	big.BirthDate = "1990"
	if k := m.Keys(big); len(k) > m.cfg.Blocking.MaxKeys {
		t.Errorf("%d keys", len(k))
	}
	for _, k := range m.ProbeKeys(big) {
		if len(k) > maxKeyLen {
			t.Errorf("key of %d bytes", len(k))
		}
	}
	// A new keyVersion changes every key.
	c := DefaultConfig()
	c.KeyVersion = 2
	m2, _ := New(c)
	for _, k := range m2.Keys(latin) {
		if !strings.HasPrefix(k, "2") {
			t.Errorf("key %s under keyVersion 2", k)
		}
	}
}
