package search

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// zoneICT is Mekong's default zone, UTC+07:00 (Indochina Time: Cambodia, Thailand).
var zoneICT = time.FixedZone("UTC+07:00", 7*60*60)

// microsOf reads an RFC 3339 instant for test tables (and the one instant past
// year 9999 that RFC 3339 cannot write).
func microsOf(s string) int64 {
	if s == "10000-01-01T00:00:00Z" {
		return time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMicro()
}

func showRange(r Range) string {
	f := func(us int64) string {
		switch us {
		case math.MinInt64:
			return "-inf"
		case math.MaxInt64:
			return "+inf"
		}
		return time.UnixMicro(us).UTC().Format(time.RFC3339Nano)
	}
	return "[" + f(r.Lo) + ", " + f(r.Hi) + ")"
}

// https://hl7.org/fhir/R4/search.html#date: "Any degree of precision can be
// provided", the range is the value's precision (#prefix, "range of the
// value"), and values without a zone take the server's zone.
func TestParseDate(t *testing.T) {
	tests := []struct {
		in     string
		loc    *time.Location
		prefix Prefix
		lo, hi string
	}{
		// Partial dates cover the year, month or day in the server's zone.
		{"2026", zoneICT, PrefixEq, "2025-12-31T17:00:00Z", "2026-12-31T17:00:00Z"},
		{"2026", time.UTC, PrefixEq, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"2026", nil, PrefixEq, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"ge2026-03", zoneICT, PrefixGe, "2026-02-28T17:00:00Z", "2026-03-31T17:00:00Z"},
		{"2026-12", time.UTC, PrefixEq, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"2026-02", time.UTC, PrefixEq, "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"},
		{"2026-03-14", zoneICT, PrefixEq, "2026-03-13T17:00:00Z", "2026-03-14T17:00:00Z"},
		{"2026-03-14", time.UTC, PrefixEq, "2026-03-14T00:00:00Z", "2026-03-15T00:00:00Z"},
		{"2026-12-31", time.UTC, PrefixEq, "2026-12-31T00:00:00Z", "2027-01-01T00:00:00Z"},
		// Leap days.
		{"2024-02-29", time.UTC, PrefixEq, "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"2000-02-29", time.UTC, PrefixEq, "2000-02-29T00:00:00Z", "2000-03-01T00:00:00Z"},
		{"2024-02", time.UTC, PrefixEq, "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"2026-02-28", time.UTC, PrefixEq, "2026-02-28T00:00:00Z", "2026-03-01T00:00:00Z"},
		// Minutes (no seconds is allowed in search), with and without a zone.
		{"lt2026-03-14T09:30", zoneICT, PrefixLt, "2026-03-14T02:30:00Z", "2026-03-14T02:31:00Z"},
		{"2026-03-14T09:30Z", zoneICT, PrefixEq, "2026-03-14T09:30:00Z", "2026-03-14T09:31:00Z"},
		{"2026-03-14T09:30+07:00", time.UTC, PrefixEq, "2026-03-14T02:30:00Z", "2026-03-14T02:31:00Z"},
		// Seconds cover one second; the zone given wins over loc.
		{"2026-03-14T09:30:00+07:00", time.UTC, PrefixEq, "2026-03-14T02:30:00Z", "2026-03-14T02:30:01Z"},
		{"2026-03-14T09:30:00Z", zoneICT, PrefixEq, "2026-03-14T09:30:00Z", "2026-03-14T09:30:01Z"},
		{"2026-03-14T09:30:00-05:00", zoneICT, PrefixEq, "2026-03-14T14:30:00Z", "2026-03-14T14:30:01Z"},
		{"2026-03-14T09:30:00+05:45", zoneICT, PrefixEq, "2026-03-14T03:45:00Z", "2026-03-14T03:45:01Z"},
		{"2026-03-14T09:30:00+14:00", zoneICT, PrefixEq, "2026-03-13T19:30:00Z", "2026-03-13T19:30:01Z"},
		{"2026-03-14T09:30:00-14:00", zoneICT, PrefixEq, "2026-03-14T23:30:00Z", "2026-03-14T23:30:01Z"},
		{"2026-03-14T09:30:00", zoneICT, PrefixEq, "2026-03-14T02:30:00Z", "2026-03-14T02:30:01Z"},
		// A "+" that form decoding turned into a space.
		{"2026-03-14T09:30:00 07:00", time.UTC, PrefixEq, "2026-03-14T02:30:00Z", "2026-03-14T02:30:01Z"},
		// Fractional seconds cover their last digit; beyond microseconds the
		// range is rounded outwards.
		{"2026-03-14T09:30:00.5Z", zoneICT, PrefixEq, "2026-03-14T09:30:00.5Z", "2026-03-14T09:30:00.6Z"},
		{"2026-03-14T09:30:00.123Z", zoneICT, PrefixEq, "2026-03-14T09:30:00.123Z", "2026-03-14T09:30:00.124Z"},
		{"2026-03-14T09:30:00.123456Z", zoneICT, PrefixEq, "2026-03-14T09:30:00.123456Z", "2026-03-14T09:30:00.123457Z"},
		{"2026-03-14T09:30:00.1234567Z", zoneICT, PrefixEq, "2026-03-14T09:30:00.123456Z", "2026-03-14T09:30:00.123457Z"},
		{"2026-03-14T09:30:00.000000001Z", zoneICT, PrefixEq, "2026-03-14T09:30:00Z", "2026-03-14T09:30:00.000001Z"},
		{"2026-03-14T09:30:00.999999999999Z", zoneICT, PrefixEq, "2026-03-14T09:30:00.999999Z", "2026-03-14T09:30:01Z"},
		{"2026-03-14T09:30:00.120+07:00", zoneICT, PrefixEq, "2026-03-14T02:30:00.12Z", "2026-03-14T02:30:00.121Z"},
		// The FHIR dateTime regex allows second 60 (leap second).
		{"2026-12-31T23:59:60Z", zoneICT, PrefixEq, "2027-01-01T00:00:00Z", "2027-01-01T00:00:01Z"},
		// The ends of the year range.
		{"0001", time.UTC, PrefixEq, "0001-01-01T00:00:00Z", "0002-01-01T00:00:00Z"},
		{"9999-12-31", time.UTC, PrefixEq, "9999-12-31T00:00:00Z", "10000-01-01T00:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDate(tc.in, tc.loc)
			if err != nil {
				t.Fatalf("ParseDate(%q) error: %v", tc.in, err)
			}
			want := DateValue{Prefix: tc.prefix, Range: Range{microsOf(tc.lo), microsOf(tc.hi)}, Raw: tc.in}
			if got != want {
				t.Errorf("ParseDate(%q) = %s %s, want %s %s", tc.in, got.Prefix, showRange(got.Range), want.Prefix, showRange(want.Range))
			}
		})
	}
}

// https://hl7.org/fhir/R4/search.html#prefix: every comparator, and "If no
// prefix is present, the prefix eq is assumed."
func TestParseDatePrefixes(t *testing.T) {
	day := Range{microsOf("2026-03-13T17:00:00Z"), microsOf("2026-03-14T17:00:00Z")}
	for _, p := range []Prefix{PrefixEq, PrefixNe, PrefixGt, PrefixLt, PrefixGe, PrefixLe, PrefixSa, PrefixEb, PrefixAp} {
		got, err := ParseDate(string(p)+"2026-03-14", zoneICT)
		if err != nil || got.Prefix != p || got.Range != day {
			t.Errorf("ParseDate(%q) = %+v, %v", string(p)+"2026-03-14", got, err)
		}
	}
}

// A zone with daylight saving: the day it starts is 23 hours long.
func TestParseDateDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time-zone database:", err)
	}
	got, err := ParseDate("2026-03-08", ny)
	want := Range{microsOf("2026-03-08T05:00:00Z"), microsOf("2026-03-09T04:00:00Z")}
	if err != nil || got.Range != want {
		t.Errorf("ParseDate(2026-03-08, New York) = %s, %v; want %s", showRange(got.Range), err, showRange(want))
	}
}

// Malformed values get a message that quotes the value and says what was
// expected (https://hl7.org/fhir/R4/search.html#date: "it SHALL be populated
// from the left ... the minutes SHALL be present if an hour is present").
func TestParseDateErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty date value"},
		{"ge", `prefix "ge" has no value after it, e.g. ge2026-03-14`},
		{"xx2026", `unknown prefix "xx"; expected one of eq, ne, gt, lt, ge, le, sa, eb, ap`},
		{"GE2026", `unknown prefix "GE"`},
		{"26", "expected a 4-digit year"},
		{"0000", "year 0000 is out of range (0001-9999)"},
		{"20260314", `expected '-' before the month, found "0314"`},
		{"2026-3", `expected a 2-digit month at "3"`},
		{"2026-13", "month 13 is out of range (01-12)"},
		{"2026-00", "month 00 is out of range (01-12)"},
		{"gt2026-02-30", "day 30 does not exist in 2026-02"},
		{"2026-02-29", "day 29 does not exist in 2026-02"},
		{"1900-02-29", "day 29 does not exist in 1900-02"},
		{"2026-04-31", "day 31 does not exist in 2026-04"},
		{"2026-03-32", "day 32 is out of range (01-31)"},
		{"2026-03-14Z", `expected 'T' before the time, found "Z"`},
		{"2026-03-14 09:30", `expected 'T' before the time`},
		{"2026-03-14T09", "minutes are required when an hour is given (hh:mm)"},
		{"2026-03-14T9:30", "expected a 2-digit hour"},
		{"2026-03-14T24:00", "hour 24 is out of range (00-23)"},
		{"2026-03-14T09:60", "minute 60 is out of range (00-59)"},
		{"2026-03-14T09:30:61", "second 61 is out of range (00-60)"},
		{"2026-03-14T09:30:00.", "expected digits after the decimal point"},
		{"2026-03-14T09:30:00+25:00", "time-zone offset +25:00 is out of range (-14:00 to +14:00)"},
		{"2026-03-14T09:30:00+14:30", "time-zone offset +14:30 is out of range"},
		{"2026-03-14T09:30:00+07:60", "time-zone offset +07:60 is out of range"},
		{"2026-03-14T09:30:00+0700", "expected a time-zone offset Z, +hh:mm or -hh:mm"},
		{"2026-03-14T09:30:00+07", "expected a time-zone offset"},
		{"2026-03-14T09:30:00+07:00x", "expected a time-zone offset"},
		{"2026-03-14T09:30:00z", "expected a time-zone offset"},
	}
	for _, tc := range tests {
		_, err := ParseDate(tc.in, zoneICT)
		if err == nil {
			t.Errorf("ParseDate(%q) succeeded, want error containing %q", tc.in, tc.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) {
			t.Errorf("ParseDate(%q) error %q, want it to contain %q", tc.in, msg, tc.want)
		}
		if tc.in != "" && !strings.Contains(msg, strconv.Quote(tc.in)) {
			t.Errorf("ParseDate(%q) error %q does not quote the value", tc.in, msg)
		}
	}
}

// indexed is IndexDate in zoneICT for test tables; it panics on a value the table
// means to be indexable.
func indexed(typ string, v any) Range {
	r, ok := IndexDate(typ, v, zoneICT)
	if !ok {
		panic("IndexDate(" + typ + ") not ok")
	}
	return r
}

func instantAt(s string) Range  { return indexed("instant", s) }
func dateTimeOf(s string) Range { return indexed("dateTime", s) }

// periodOf builds a Period; "" leaves the end out.
func periodOf(start, end string) Range {
	m := map[string]any{}
	if start != "" {
		m["start"] = start
	}
	if end != "" {
		m["end"] = end
	}
	return indexed("Period", m)
}

// https://hl7.org/fhir/R4/search.html#date and #prefix: the examples of the
// spec's date table, then every prefix at the edges of a day in UTC+07:00.
func TestMatchDate(t *testing.T) {
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, zoneICT)
	// The search day 2026-03-14 in zoneICT is [13T17:00Z, 14T17:00Z).
	const (
		sLo       = "2026-03-13T17:00:00Z"
		sLoMinus1 = "2026-03-13T16:59:59.999999Z"
		sHi       = "2026-03-14T17:00:00Z"
		sHiMinus1 = "2026-03-14T16:59:59.999999Z"
	)
	tests := []struct {
		search string
		loc    *time.Location // nil: zoneICT
		target Range
		want   bool
	}{
		// The spec's own examples.
		{"eq2013-01-14", nil, dateTimeOf("2013-01-14T00:00"), true},
		{"eq2013-01-14", nil, dateTimeOf("2013-01-14T10:00"), true},
		{"eq2013-01-14", nil, dateTimeOf("2013-01-15T00:00"), false},
		{"ne2013-01-14", nil, dateTimeOf("2013-01-15T00:00"), true},
		{"ne2013-01-14", nil, dateTimeOf("2013-01-14T00:00"), false},
		{"ne2013-01-14", nil, dateTimeOf("2013-01-14T10:00"), false},
		{"lt2013-01-14T10:00", nil, dateTimeOf("2013-01-14"), true},
		{"gt2013-01-14T10:00", nil, dateTimeOf("2013-01-14"), true},
		{"ge2013-03-14", nil, periodOf("2013-01-21", ""), true},
		{"le2013-03-14", nil, periodOf("2013-01-21", ""), true},
		{"sa2013-03-14", nil, periodOf("2013-03-15", ""), true},
		{"sa2013-03-14", nil, periodOf("2013-01-21", ""), false},
		{"sa2013-03-14", nil, periodOf("", "2013-01-21"), false},
		{"eb2013-03-14", nil, periodOf("2013-03-15", ""), false},
		{"eb2013-03-14", nil, periodOf("2013-01-21", ""), false},
		{"eb2013-03-14", nil, periodOf("", "2013-01-21"), true},
		{"ap2013-03-14", nil, dateTimeOf("2013-03-14"), true},

		// eq: the search range fully contains the target.
		{"eq2026-03-14", nil, instantAt(sLo), true},
		{"eq2026-03-14", nil, instantAt(sHiMinus1), true},
		{"eq2026-03-14", nil, instantAt(sHi), false},
		{"eq2026-03-14", nil, instantAt(sLoMinus1), false},
		{"2026-03-14", nil, dateTimeOf("2026-03-14"), true},
		{"2026-03-14", nil, dateTimeOf("2026-03-14T23:59:59+07:00"), true},
		{"2026-03-14", nil, periodOf("2026-03-14T08:00+07:00", "2026-03-14T17:00+07:00"), true},
		{"2026-03-14", nil, periodOf("2026-03-14T22:00+07:00", "2026-03-15T02:00+07:00"), false},
		{"2026-03-14", nil, periodOf("2026-03-14T08:00+07:00", ""), false},
		{"2026-03-14", nil, dateTimeOf("2026-03"), false},
		{"eq2026-03-14T09:30:00+07:00", nil, instantAt("2026-03-14T02:30:00.5Z"), true},
		{"eq2026-03-14T09:30:00+07:00", nil, dateTimeOf("2026-03-14T02:30:00Z"), true},
		{"eq2026-03-14T09:30:00+07:00", nil, dateTimeOf("2026-03-14T09:30+07:00"), false},
		// Time-zone edges: the 14th in UTC+07:00 starts at 13T17:00Z.
		{"eq2026-03-14", nil, instantAt("2026-03-13T17:30:00Z"), true},
		{"eq2026-03-14", time.UTC, instantAt("2026-03-13T17:30:00Z"), false},
		{"eq2026-03-14", nil, dateTimeOf("2026-03-14T09:30:00-05:00"), true},
		{"eq2026-03-14", time.UTC, dateTimeOf("2026-03-14T09:30:00-05:00"), true},
		{"eq2026-03-14", nil, dateTimeOf("2026-03-14T20:00:00-05:00"), false},
		{"eq2026-03-14T00:00", nil, instantAt("2026-03-13T17:00:30Z"), true},
		// Leap day.
		{"eq2024-02-29", nil, instantAt("2024-02-29T16:59:59Z"), true},
		{"eq2024-02-29", nil, instantAt("2024-02-29T17:00:00Z"), false},
		{"gt2024-02", nil, dateTimeOf("2024-03-01"), true},
		{"gt2024-02", nil, dateTimeOf("2024-02-29"), false},
		{"lt2024-03", nil, dateTimeOf("2024-02-29"), true},
		{"sa2024-02-28", nil, dateTimeOf("2024-02-29"), true},

		{"ne2026-03-14", nil, instantAt(sHi), true},
		{"ne2026-03-14", nil, dateTimeOf("2026-03-14"), false},
		{"ne2026-03-14", nil, periodOf("2026-03-14", ""), true},

		// gt: the target extends past the end of the search range.
		{"gt2026-03-14", nil, instantAt(sHi), true},
		{"gt2026-03-14", nil, instantAt(sHiMinus1), false},
		{"gt2026-03-14", nil, dateTimeOf("2026-03-15"), true},
		{"gt2026-03-14", nil, dateTimeOf("2026-03-14"), false},
		{"gt2026-03-14", nil, dateTimeOf("2026-03"), true},
		{"gt2026-03-14", nil, periodOf("2026-03-10", ""), true},
		{"gt2026-03-14", nil, periodOf("", "2026-03-14"), false},

		// lt: the target starts before the search range.
		{"lt2026-03-14", nil, instantAt(sLoMinus1), true},
		{"lt2026-03-14", nil, instantAt(sLo), false},
		{"lt2026-03-14", nil, dateTimeOf("2026-03-13"), true},
		{"lt2026-03-14", nil, dateTimeOf("2026-03-14"), false},
		{"lt2026-03-14", nil, dateTimeOf("2026-03"), true},
		{"lt2026-03-14", nil, periodOf("", "2099"), true},
		{"lt2026-03-14", nil, periodOf("2026-03-14", ""), false},

		// ge: gt, or contained.
		{"ge2026-03-14", nil, dateTimeOf("2026-03-14"), true},
		{"ge2026-03-14", nil, instantAt(sLo), true},
		{"ge2026-03-14", nil, instantAt(sLoMinus1), false},
		{"ge2026-03-14", nil, dateTimeOf("2026-03-15"), true},
		{"ge2026-03-14", nil, dateTimeOf("2026-03"), true},
		{"ge2026-03-14", nil, periodOf("2026-03-13T20:00+07:00", "2026-03-14T05:00+07:00"), false},

		// le: lt, or contained.
		{"le2026-03-14", nil, dateTimeOf("2026-03-14"), true},
		{"le2026-03-14", nil, instantAt(sHiMinus1), true},
		{"le2026-03-14", nil, instantAt(sHi), false},
		{"le2026-03-14", nil, dateTimeOf("2026-03"), true},
		{"le2026-03-14", nil, dateTimeOf("2026-03-15"), false},
		{"le2026-03-14", nil, periodOf("2026-03-14T20:00+07:00", "2026-03-15T05:00+07:00"), false},

		// sa: the target starts at or after the end of the search range.
		{"sa2026-03-14", nil, instantAt(sHi), true},
		{"sa2026-03-14", nil, instantAt(sHiMinus1), false},
		{"sa2026-03-14", nil, dateTimeOf("2026-03-15"), true},
		{"sa2026-03-14", nil, periodOf("2026-03-15", ""), true},
		{"sa2026-03-14", nil, periodOf("2026-03-14T23:00+07:00", ""), false},

		// eb: the target ends at or before the start of the search range.
		{"eb2026-03-14", nil, instantAt(sLoMinus1), true},
		{"eb2026-03-14", nil, instantAt(sLo), false},
		{"eb2026-03-14", nil, dateTimeOf("2026-03-13"), true},
		{"eb2026-03-14", nil, periodOf("", "2026-03-13"), true},
		{"eb2026-03-14", nil, periodOf("", "2026-03-14"), false},

		// Timing spans its outer limits.
		{"ge2026-03-14", nil, indexed("Timing", map[string]any{"event": []any{"2026-03-01", "2026-03-20"}}), true},
		{"eq2026-03", nil, indexed("Timing", map[string]any{"event": []any{"2026-03-01", "2026-03-20"}}), true},
		{"eq2026-03", nil, indexed("Timing", map[string]any{"event": []any{"2026-03-01", "2026-04-01"}}), false},

		// ap: now (2026-03-14T12:00+07:00) lies inside the day, so there is
		// no widening.
		{"ap2026-03-14", nil, dateTimeOf("2026-03-14"), true},
		{"ap2026-03-14", nil, instantAt(sHiMinus1), true},
		{"ap2026-03-14", nil, dateTimeOf("2026-03-15"), false},
		{"ap2026-03-14", nil, dateTimeOf("2026-03"), true},
		// 2016 ends about 9.2 years before now: widened by about 336 days.
		{"ap2016", nil, dateTimeOf("2017-06-01"), true},
		{"ap2016", nil, dateTimeOf("2018-06-01"), false},
		{"ap2016", nil, dateTimeOf("2015-03-01"), true},
		{"ap2016", nil, dateTimeOf("2014-12-01"), false},
	}
	for _, tc := range tests {
		loc := tc.loc
		if loc == nil {
			loc = zoneICT
		}
		v, err := ParseDate(tc.search, loc)
		if err != nil {
			t.Fatalf("ParseDate(%q): %v", tc.search, err)
		}
		if got := MatchDate(v, tc.target, now); got != tc.want {
			t.Errorf("MatchDate(%s %s in %s, target %s) = %v, want %v",
				tc.search, showRange(v.Range), loc, showRange(tc.target), got, tc.want)
		}
	}
}

// https://hl7.org/fhir/R4/search.html#prefix, ap: "10% of the gap between
// now and the date", measured to the nearest edge of the search range.
func TestApproxRange(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct{ in, lo, hi string }{
		// 2016 ends 3287 days before now: widen by 328.7 days each side.
		{"ap2016", "2015-02-06T07:12:00Z", "2017-11-25T16:48:00Z"},
		// 2036 starts 3652 days after now: 365.2 days.
		{"ap2036", "2034-12-31T19:12:00Z", "2038-01-01T04:48:00Z"},
		// now is the first instant of 2026: no gap, no widening.
		{"ap2026", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		// now is exactly the end of 2025, which is not inside it.
		{"ap2025-12-31T23:59", "2025-12-31T23:59:00Z", "2026-01-01T00:00:00Z"},
	}
	for _, tc := range tests {
		v, err := ParseDate(tc.in, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		want := Range{microsOf(tc.lo), microsOf(tc.hi)}
		if got := v.ApproxRange(now); got != want {
			t.Errorf("%s.ApproxRange = %s, want %s", tc.in, showRange(got), showRange(want))
		}
	}
	// Open-ended ranges do not overflow.
	open := DateValue{Prefix: PrefixAp, Range: Range{math.MinInt64, microsOf("2000-01-01T00:00:00Z")}}
	if got := open.ApproxRange(now); got.Lo != math.MinInt64 || got.Hi <= open.Range.Hi {
		t.Errorf("open ApproxRange = %s", showRange(got))
	}
}

// https://hl7.org/fhir/R4/search.html#date, the table of types: date and
// dateTime by precision, instant as a point, Period explicit and open where a
// bound is missing, Timing by its outer limits.
func TestIndexDate(t *testing.T) {
	day14 := Range{microsOf("2026-03-13T17:00:00Z"), microsOf("2026-03-14T17:00:00Z")}
	tests := []struct {
		name string
		typ  string
		v    any
		want Range
		ok   bool
	}{
		{"date in server zone", "date", "2026-03-14", day14, true},
		{"dateTime seconds", "dateTime", "2026-03-14T09:30:00+07:00", Range{microsOf("2026-03-14T02:30:00Z"), microsOf("2026-03-14T02:30:01Z")}, true},
		{"dateTime month", "dateTime", "2026-03", Range{microsOf("2026-02-28T17:00:00Z"), microsOf("2026-03-31T17:00:00Z")}, true},
		{"dateTime millis", "dateTime", "2026-03-14T09:30:00.123Z", Range{microsOf("2026-03-14T09:30:00.123Z"), microsOf("2026-03-14T09:30:00.124Z")}, true},
		{"instant is a point", "instant", "2026-03-14T02:30:00.123Z", Range{microsOf("2026-03-14T02:30:00.123Z"), microsOf("2026-03-14T02:30:00.123001Z")}, true},
		{"Period", "Period", map[string]any{"start": "2026-03-01", "end": "2026-03-14"},
			Range{microsOf("2026-02-28T17:00:00Z"), microsOf("2026-03-14T17:00:00Z")}, true},
		{"Period without end", "Period", map[string]any{"start": "2026-03-14T09:30:00+07:00"},
			Range{microsOf("2026-03-14T02:30:00Z"), math.MaxInt64}, true},
		{"Period without start", "Period", map[string]any{"end": "2026-03-14"},
			Range{math.MinInt64, microsOf("2026-03-14T17:00:00Z")}, true},
		{"Period of one second", "Period", map[string]any{"start": "2026-03-14T09:30:00Z", "end": "2026-03-14T09:30:00Z"},
			Range{microsOf("2026-03-14T09:30:00Z"), microsOf("2026-03-14T09:30:01Z")}, true},
		{"Period empty", "Period", map[string]any{}, Range{}, false},
		{"Period ends before it starts", "Period", map[string]any{"start": "2026-03-14", "end": "2026-03-01"}, Range{}, false},
		{"Period with a bad start", "Period", map[string]any{"start": "2026-02-30", "end": "2026-03-01"}, Range{}, false},
		{"Timing events", "Timing", map[string]any{"event": []any{"2026-03-14", "2026-03-01", "2026-03-07T10:00:00+07:00"}},
			Range{microsOf("2026-02-28T17:00:00Z"), microsOf("2026-03-14T17:00:00Z")}, true},
		{"Timing events as []string", "Timing", map[string]any{"event": []string{"2026-03-14"}}, day14, true},
		{"Timing boundsPeriod", "Timing", map[string]any{"repeat": map[string]any{"boundsPeriod": map[string]any{"start": "2026-03-01", "end": "2026-03-14"}, "frequency": 2.0}},
			Range{microsOf("2026-02-28T17:00:00Z"), microsOf("2026-03-14T17:00:00Z")}, true},
		{"Timing boundsPeriod open", "Timing", map[string]any{"repeat": map[string]any{"boundsPeriod": map[string]any{"start": "2026-03-14"}}},
			Range{day14.Lo, math.MaxInt64}, true},
		{"Timing events and bounds", "Timing", map[string]any{"event": []any{"2026-02-01"}, "repeat": map[string]any{"boundsPeriod": map[string]any{"start": "2026-03-01", "end": "2026-03-14"}}},
			Range{microsOf("2026-01-31T17:00:00Z"), microsOf("2026-03-14T17:00:00Z")}, true},
		{"Timing with only a duration", "Timing", map[string]any{"repeat": map[string]any{"boundsDuration": map[string]any{"value": 5.0, "unit": "d"}}}, Range{}, false},
		{"Timing empty", "Timing", map[string]any{}, Range{}, false},
		{"Timing with a bad event", "Timing", map[string]any{"event": []any{"2026-03-14", "soon"}}, Range{}, false},
		{"date not a string", "date", 2026.0, Range{}, false},
		{"date malformed", "date", "2026-02-30", Range{}, false},
		{"Period not an object", "Period", "2026-03-14", Range{}, false},
		{"not a date type", "string", "2026-03-14", Range{}, false},
		{"nil", "dateTime", nil, Range{}, false},
	}
	for _, tc := range tests {
		got, ok := IndexDate(tc.typ, tc.v, zoneICT)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%s: IndexDate(%s, %v) = %s, %v; want %s, %v", tc.name, tc.typ, tc.v, showRange(got), ok, showRange(tc.want), tc.ok)
		}
	}
}

// Fuzz: never panic; a parsed value is a non-empty range with a known prefix,
// and without a prefix it is the range IndexDate gives the same dateTime.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026", "ge2026-03", "2026-03-14T09:30:00+07:00", "lt2026-03-14T09:30",
		"2026-03-14T09:30:00.123456789Z", "2026-02-30", "ap9999-12-31T23:59:60-14:00", "ge", "2026-03-14T09:30:00 07:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseDate(s, zoneICT)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if v.Range.Lo >= v.Range.Hi {
			t.Fatalf("ParseDate(%q) range %s is empty", s, showRange(v.Range))
		}
		if !v.Prefix.valid() || v.Raw != s {
			t.Fatalf("ParseDate(%q) = %+v", s, v)
		}
		if len(s) > 0 && !isASCIILetter(s[0]) {
			if r, ok := IndexDate("dateTime", s, zoneICT); !ok || r != v.Range {
				t.Fatalf("IndexDate(dateTime, %q) = %s, %v; ParseDate gave %s", s, showRange(r), ok, showRange(v.Range))
			}
		}
	})
}
