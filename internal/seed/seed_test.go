package seed

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/fhir/resource"
)

type emitted struct {
	typ, id string
	body    []byte
}

func generate(t testing.TB, cfg Config) []emitted {
	t.Helper()
	var out []emitted
	err := Generate(cfg, func(typ, id string, b []byte) error {
		out = append(out, emitted{typ, id, bytes.Clone(b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func digest(rs []emitted) [32]byte {
	h := sha256.New()
	for _, r := range rs {
		fmt.Fprintf(h, "%s %s %s\n", r.typ, r.id, r.body)
	}
	return [32]byte(h.Sum(nil))
}

// The benchmark and demo data must be reproducible: same Config, same bytes;
// patient n does not depend on how many are generated.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	a := generate(t, Config{Patients: 200, Seed: 42})
	b := generate(t, Config{Patients: 200, Seed: 42})
	if digest(a) != digest(b) {
		t.Fatal("two runs of the same Config differ")
	}
	if c := generate(t, Config{Patients: 200, Seed: 43}); digest(a) == digest(c) {
		t.Fatal("seeds 42 and 43 give the same output")
	}
	small := generate(t, Config{Patients: 50, Seed: 42})
	if digest(small) != digest(a[:len(small)]) {
		t.Fatal("50 patients are not a prefix of 200 with the same seed")
	}
	if a[len(small)].typ != "Patient" {
		t.Fatalf("after the 50th patient's group comes %s, want the next Patient", a[len(small)].typ)
	}
}

// The key correctness proof: every resource is valid R4 for the gateway's
// own validator (google/fhir/go plus the fhirjson rules).
func TestEveryResourceIsValidR4(t *testing.T) {
	t.Parallel()
	p, err := resource.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	rs := generate(t, Config{Patients: 300, Seed: 7})
	for _, r := range rs {
		res, err := p.Parse(r.body)
		if err != nil {
			t.Fatalf("%s/%s: %v\n%s", r.typ, r.id, err, r.body)
		}
		if res.Type != r.typ || res.ID != r.id {
			t.Fatalf("emitted as %s/%s but the body is %s/%s", r.typ, r.id, res.Type, res.ID)
		}
	}
	t.Logf("%d resources parsed", len(rs))
}

// Ids are valid FHIR ids, unique, in the documented pattern; every reference
// points at a Patient emitted before it; business identifiers are unique.
func TestIDsReferencesAndIdentifiers(t *testing.T) {
	t.Parallel()
	rs := generate(t, Config{Patients: 2000, Seed: -3})
	seen := map[string]bool{}
	patients := map[string]bool{}
	idents := map[string]string{}
	current := ""
	for _, r := range rs {
		key := r.typ + "/" + r.id
		if !resource.ValidID(r.id) || seen[key] {
			t.Fatalf("%s: invalid or duplicate id", key)
		}
		seen[key] = true
		var res struct {
			Identifier []struct{ System, Value string }
			Subject    struct{ Reference string }
			Patient    struct{ Reference string }
		}
		if err := json.Unmarshal(r.body, &res); err != nil {
			t.Fatal(err)
		}
		switch r.typ {
		case "Patient":
			if !strings.HasPrefix(r.id, "mig--3-") {
				t.Fatalf("patient id %q", r.id)
			}
			patients[key], current = true, r.id
			if len(res.Identifier) == 0 {
				t.Fatalf("%s has no identifier to link it by", key)
			}
			for _, id := range res.Identifier {
				k := id.System + "|" + id.Value
				if other, dup := idents[k]; dup {
					t.Fatalf("identifier %s held by %s and %s", k, other, r.id)
				}
				idents[k] = r.id
			}
		case "Observation", "Immunization":
			ref := res.Subject.Reference + res.Patient.Reference
			if !patients[ref] {
				t.Fatalf("%s references %q, not an emitted Patient", key, ref)
			}
			if want := current + map[string]string{"Observation": "-obs-", "Immunization": "-imm-"}[r.typ]; !strings.HasPrefix(r.id, want) || ref != "Patient/"+current {
				t.Fatalf("%s (-> %s) is not in the group of Patient/%s", key, ref, current)
			}
		default:
			t.Fatalf("unexpected type %s", r.typ)
		}
	}
}

// Thai 13-digit ids (domain.md §4.3) carry a valid check digit: the
// weighted sum of the first 12 digits with weights 13..2, (11 - sum%11) % 10.
func TestThaiIDCheckDigits(t *testing.T) {
	t.Parallel()
	n := 0
	for _, r := range generate(t, Config{Patients: 2000, Seed: 1}) {
		if r.typ != "Patient" {
			continue
		}
		var res struct {
			Identifier []struct{ System, Value string }
		}
		json.Unmarshal(r.body, &res)
		for _, id := range res.Identifier {
			if id.System != sysThaiCID {
				continue
			}
			n++
			v := id.Value
			if len(v) != 13 || strings.Trim(v, "0123456789") != "" {
				t.Fatalf("%s: th-cid %q is not 13 digits", r.id, v)
			}
			sum := 0
			for i := range 12 {
				sum += int(v[i]-'0') * (13 - i)
			}
			if want := byte('0' + (11-sum%11)%10); v[12] != want {
				t.Fatalf("%s: th-cid %s has check digit %c, want %c", r.id, v, v[12], want)
			}
		}
	}
	if n < 300 {
		t.Fatalf("only %d Thai ids in 2000 patients", n)
	}
}

func TestGenerateStopsOnEmitError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	calls := 0
	err := Generate(Config{Patients: 10}, func(string, string, []byte) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("err %v after %d calls, want stop after 1", err, calls)
	}
	if err := Generate(Config{Patients: MaxPatients + 1}, nil); err == nil {
		t.Fatal("no error for too many patients")
	}
}

// The IOM identifier system is configurable (no public NamingSystem, §6).
func TestIOMSystem(t *testing.T) {
	t.Parallel()
	rs := generate(t, Config{Patients: 200, IOMSystem: "urn:oid:1.2.3"})
	var found bool
	for _, r := range rs {
		if bytes.Contains(r.body, []byte(DefaultIOMSystem)) {
			t.Fatalf("%s still uses the default IOM system", r.id)
		}
		found = found || bytes.Contains(r.body, []byte(`"system":"urn:oid:1.2.3"`))
	}
	if !found {
		t.Fatal("no IOM case number in 200 patients")
	}
}

// Generation speed: the search benchmark loads 1.4 million resources.
func BenchmarkGenerate(b *testing.B) {
	total := 0
	for b.Loop() {
		Generate(Config{Patients: 1000, Seed: 1}, func(string, string, []byte) error { total++; return nil })
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "resources/s")
}
