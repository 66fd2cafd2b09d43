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
		"2i:pp:N0123456", "2i:0e7bbaeaadece64f:010203045",
		"2n:kio|vanak", "2n:kio|vonak",
		"2p:152|2:1994",
		"2y:vanak:1994", "2y:vonak:1994", "2d:2:1994-03-12", "2d:152:1994-03-12",
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
	if !strings.HasPrefix(pk[0], "2i:") || !slices.ContainsFunc(pk, func(k string) bool { return strings.HasSuffix(k, ":1989") }) {
		t.Errorf("probe keys %v", pk)
	}
	// Common names get no single-part key; doubtful identifiers none at all.
	for _, k := range m.Keys(person("Sok", "Dara", "1990-04-17", "male", Identifier{System: passportKHM, Value: "N2", Doubtful: true})) {
		if strings.HasPrefix(k, "2y:sok:") || strings.HasPrefix(k, "2y:dara:") || strings.HasPrefix(k, "2i:") {
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
	c.KeyVersion = 3
	m2, _ := New(c)
	for _, k := range m2.Keys(latin) {
		if !strings.HasPrefix(k, "3") {
			t.Errorf("key %s under keyVersion 3", k)
		}
	}
}

// TestKeysFindCrossScriptPair: the README's woman (issue 11, "Blocking"): her
// Khmer-script record (ញឹម ស្រីលក្ខណ៍, romanized neum srilokan) and a probe
// "Nhem / Srey Leak" (nim sriliak) share no name key, yet the matcher grades
// them probable. The date keys (a phonetic code with the exact birth date)
// put them in one block; without them $match never compares the pair.
func TestKeysFindCrossScriptPair(t *testing.T) {
	m := matcher(t)
	khmer := Record{Names: []Name{{Text: "ញឹម ស្រីលក្ខណ៍"}}, BirthDate: "1994-02-11", Gender: "female"}
	probe := person("Nhem", "Srey Leak", "1994-02-11", "female")
	if g := m.Compare(probe, khmer).Grade; g != Probable && g != Certain {
		t.Fatalf("pair graded %q; the test wants a pair the matcher accepts", g)
	}
	keys := m.Keys(khmer)
	if !slices.ContainsFunc(m.ProbeKeys(probe), func(k string) bool { return slices.Contains(keys, k) }) {
		t.Errorf("no shared blocking key:\n keys %v\n probe %v", keys, m.ProbeKeys(probe))
	}
	// A year-only date gives no date key (it would block everyone born that year).
	for _, k := range m.Keys(person("Nhem", "Srey Leak", "1994", "female")) {
		if strings.HasPrefix(k, "2d:") {
			t.Errorf("key %s for a year-only birth date", k)
		}
	}
}
