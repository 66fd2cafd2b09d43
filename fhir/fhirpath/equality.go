package fhirpath

import (
	"encoding/json"
	"math/big"
	"strings"
	"time"
)

// nodesEqual is FHIRPath equality of two items (N1 §6.1.1 "="). known is
// false when the answer is empty, as for dates of different precision.
func nodesEqual(a, b Node) (eq, known bool) {
	if isTemporal(a.Type) && isTemporal(b.Type) {
		as, aok := a.Value.(string)
		bs, bok := b.Value.(string)
		if aok && bok {
			return temporalEqual(as, bs)
		}
	}
	return valuesEqual(a.Value, b.Value), true
}

func isTemporal(typ string) bool {
	switch typ {
	case "date", "dateTime", "instant", "time":
		return true
	}
	return false
}

// valuesEqual compares decoded JSON: numbers by value (1.0 = 1), complex
// values member by member (N1 §6.1.1: "all child properties are equal").
func valuesEqual(a, b any) bool {
	switch a := a.(type) {
	case string:
		b, ok := b.(string)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !valuesEqual(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !valuesEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	case nil:
		return b == nil
	}
	x, ok := toRat(a)
	if !ok {
		return false
	}
	y, ok := toRat(b)
	return ok && x.Cmp(y) == 0
}

// toRat reads a JSON number exactly, whether decoded with UseNumber or not.
func toRat(v any) (*big.Rat, bool) {
	switch v := v.(type) {
	case json.Number:
		return new(big.Rat).SetString(string(v))
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(v) == nil {
			return nil, false
		}
		return r, true
	case int:
		return new(big.Rat).SetInt64(int64(v)), true
	case int64:
		return new(big.Rat).SetInt64(v), true
	}
	return nil, false
}

// temporalEqual compares two date, dateTime, instant or time strings as
// N1 §6.1.1 does: values of different precision are neither equal nor
// unequal; with a time, they are compared as instants when both carry a
// time zone. Seconds and fractions are one precision.
func temporalEqual(a, b string) (eq, known bool) {
	if a == b {
		return true, true
	}
	pa, pb := precision(a), precision(b)
	if pa != pb {
		return false, false
	}
	if !strings.Contains(a, "T") && !strings.Contains(a, ":") {
		return false, true // same-precision dates that differ
	}
	ta, zoneA := parseTime(a)
	tb, zoneB := parseTime(b)
	if ta.IsZero() || tb.IsZero() || zoneA != zoneB {
		return false, false // unparseable, or one without a time zone
	}
	return ta.Equal(tb), true
}

// precision counts the date/time components present: year, month, day,
// hour, minute, second (with any fraction).
func precision(s string) int {
	date, clock, hasT := strings.Cut(s, "T")
	if !hasT && strings.Contains(s, ":") {
		date, clock = "", s // a time
	}
	n := 0
	if date != "" {
		n = strings.Count(date, "-") + 1
	}
	if clock != "" {
		// Drop the zone so its colon is not counted.
		if i := strings.IndexAny(clock, "Z+-"); i >= 0 {
			clock = clock[:i]
		}
		n += strings.Count(clock, ":") + 1
	}
	return n
}

// parseTime parses a dateTime, instant or time with seconds; zoned says
// whether it carried a time zone.
func parseTime(s string) (t time.Time, zoned bool) {
	if !strings.Contains(s, "T") {
		s = "0001-01-01T" + s
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, layout[len(layout)-1] == '0'
		}
	}
	return time.Time{}, false
}
