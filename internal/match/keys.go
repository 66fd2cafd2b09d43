package match

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Blocking keys. Every key starts with the config's KeyVersion and a kind:
//
//	<v>i:<system hash>:<value>       a non-doubtful identifier (passports of every country share "pp")
//	<v>n:<key>|<key>                 family and given name keys, sorted (order swaps give one key)
//	<v>p:<code>|<code>:<year>        the two phonetic codes, sorted, with the birth year (cross-script)
//	<v>y:<key>:<year>                one name part that is not common, with the birth year
//	<v>d:<code>:<yyyy-mm-dd>         one name part's phonetic code, with a full birth date
//
// The d keys find a pair whose given names romanize apart but whose family
// name sounds alike and whose birth date is exact: ញឹម ស្រីលក្ខណ៍ (neum
// srilokan) and NHEM SREYLEAK (nim sriliak) share no n, p or y key.
//
// Keys are at most 128 bytes: values and name keys are cut.
//
// KeyRules is the version of these rules. It is recorded with the stored
// keys beside the configuration's keyVersion, so that a deployment whose own
// configuration keeps its keyVersion still re-keys its Patients when a new
// engine makes keys differently (rules 2 added the d keys).
const KeyRules = 2

const (
	maxKeyLen      = 128
	maxKeyValueLen = 64
	maxNameKeyLen  = 40
)

// Keys returns the blocking keys to store with a Patient, most selective
// first, at most blocking.maxKeys.
func (m *Matcher) Keys(r Record) []string {
	return m.keys(r, false).list(m.cfg.Blocking.MaxKeys)
}

// ProbeKeys returns the keys to look up for a probe: Keys plus the year keys
// of the adjacent birth years (a year off, a year-only date), most
// selective first, at most blocking.maxProbeKeys. Day/month transposition
// keeps the year, so it needs no key of its own.
func (m *Matcher) ProbeKeys(r Record) []string {
	return m.keys(r, true).list(m.cfg.Blocking.MaxProbeKeys)
}

func (m *Matcher) keys(r Record, probe bool) *keySet {
	p := m.prepare(r)
	year, hasYear := birthYear(r.BirthDate)
	ks := &keySet{}
	m.idKeys(ks, p)
	m.nameKeys(ks, p, year, hasYear)
	m.dateKeys(ks, p, r.BirthDate)
	if probe && hasYear {
		m.nameKeys(ks, p, year-1, true)
		m.nameKeys(ks, p, year+1, true)
	}
	return ks
}

func (m *Matcher) prefix(kind string) string { return strconv.Itoa(m.cfg.KeyVersion) + kind + ":" }

func (m *Matcher) idKeys(ks *keySet, p prepared) {
	for _, id := range p.ids {
		if id.doubtful {
			continue
		}
		alias := systemAlias(id.system)
		if id.rule >= 0 && m.cfg.Identifiers[id.rule].Kind == "passport" {
			alias = "pp"
		}
		ks.add(0, m.prefix("i")+alias+":"+cut(id.value, maxKeyValueLen))
	}
}

func (m *Matcher) nameKeys(ks *keySet, p prepared, year int, hasYear bool) {
	y := strconv.Itoa(year)
	for _, f := range p.names {
		fk, gk := cut(f.family.key, maxNameKeyLen), cut(f.given.key, maxNameKeyLen)
		if fk != "" && gk != "" {
			pair := []string{fk, gk}
			sort.Strings(pair)
			ks.add(1, m.prefix("n")+pair[0]+"|"+pair[1])
			if hasYear && f.family.code != "" && f.given.code != "" {
				codes := []string{f.family.code, f.given.code}
				sort.Strings(codes)
				ks.add(2, m.prefix("p")+codes[0]+"|"+codes[1]+":"+y)
			}
		}
		if hasYear {
			for _, k := range []string{gk, fk} {
				if k != "" && m.frequency(k) < m.cfg.Blocking.CommonFrequency {
					ks.add(3, m.prefix("y")+k+":"+y)
				}
			}
		}
	}
}

func (m *Matcher) dateKeys(ks *keySet, p prepared, birthDate string) {
	d, ok := parseDate(birthDate)
	if !ok || d.day == 0 {
		return
	}
	date := fmt.Sprintf("%04d-%02d-%02d", d.year, d.month, d.day)
	for _, f := range p.names {
		for _, c := range []string{f.family.code, f.given.code} {
			if c != "" {
				ks.add(3, m.prefix("d")+cut(c, maxNameKeyLen)+":"+date)
			}
		}
	}
}

// systemAlias is a short stable name for an identifier system: the first 8
// bytes of its SHA-256, hex.
func systemAlias(system string) string {
	h := sha256.Sum256([]byte(system))
	return hex.EncodeToString(h[:8])
}

func birthYear(s string) (int, bool) {
	d, ok := parseDate(s)
	return d.year, ok
}

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// keySet collects keys by selectivity rank, without duplicates.
type keySet struct {
	ranks [4][]string
	seen  map[string]bool
}

func (ks *keySet) add(rank int, k string) {
	if ks.seen == nil {
		ks.seen = map[string]bool{}
	}
	if len(k) > maxKeyLen || ks.seen[k] || strings.ContainsAny(k, "\x00") {
		return
	}
	ks.seen[k] = true
	ks.ranks[rank] = append(ks.ranks[rank], k)
}

func (ks *keySet) list(limit int) []string {
	var out []string
	for _, r := range ks.ranks {
		for _, k := range r {
			if len(out) == limit {
				return out
			}
			out = append(out, k)
		}
	}
	return out
}
