package search

import (
	"fmt"
	"math"
	"time"
)

// Range is a half-open interval [Lo, Hi) in microseconds since the Unix epoch
// (UTC). Lo = math.MinInt64 stands for a Period without a start and
// Hi = math.MaxInt64 for one without an end: the spec says "a missing lower
// boundary is 'less than' any actual date. A missing upper boundary is
// 'greater than' any actual date" (https://hl7.org/fhir/R4/search.html#date).
type Range struct{ Lo, Hi int64 }

// DateValue is a parsed date search value.
type DateValue struct {
	Prefix Prefix
	Range  Range
	Raw    string
}

// ParseDate parses a date search parameter value such as "ge2026-03",
// "2026-03-14T09:30:00+07:00", "2026" or "lt2026-03-14T09:30".
//
// The range covers the value's precision (https://hl7.org/fhir/R4/search.html#prefix,
// "range of the value"): "2026" is [2026-01-01T00:00, 2027-01-01T00:00),
// minutes cover 1 minute, seconds 1 s, fractional seconds their last digit
// (rounded outwards to whole microseconds beyond six digits).
//
// A value without a time-zone offset (a partial date, or a dateTime without
// one, which search allows) is read in loc, Mekong's configured zone: "Where
// both search parameters and resource element date times do not have time
// zones, the servers local time zone should be assumed" (#date). A nil loc
// means UTC. The spec requires minutes whenever an hour is given.
func ParseDate(s string, loc *time.Location) (DateValue, error) {
	p, rest, err := splitPrefix("date", s)
	if err != nil {
		return DateValue{}, err
	}
	r, err := parseDateRange(rest, loc)
	if err != nil {
		return DateValue{}, fmt.Errorf("date %q: %w", s, err)
	}
	return DateValue{Prefix: p, Range: r, Raw: s}, nil
}

// IndexDate returns the range a FHIR value occupies for indexing. typ is the
// FHIR type ("date", "dateTime", "instant", "Period", "Timing") and v the
// decoded JSON: a string for the primitives, map[string]any for Period
// {start, end} and Timing {event[], repeat.boundsPeriod}.
//
// The ranges follow the table in https://hl7.org/fhir/R4/search.html#date:
// date and dateTime cover their precision; an instant "is considered a fixed
// point in time", stored as one microsecond so the interval stays non-empty;
// a Period is explicit, open-ended where start or end is missing; for Timing
// "only the outer limits matter", so it spans the earliest event or bounds
// start to the latest event or bounds end.
//
// Values without a time-zone offset are read in loc, as in ParseDate.
//
// ok is false when there is nothing to index, and also when a value does not
// parse or a Period ends before it starts: indexing such data as open-ended
// would make it match every search.
func IndexDate(typ string, v any, loc *time.Location) (r Range, ok bool) {
	switch typ {
	case "date", "dateTime":
		s, isStr := v.(string)
		if !isStr {
			return Range{}, false
		}
		r, err := parseDateRange(s, loc)
		return r, err == nil
	case "instant":
		s, isStr := v.(string)
		if !isStr {
			return Range{}, false
		}
		r, err := parseDateRange(s, loc)
		if err != nil {
			return Range{}, false
		}
		return Range{r.Lo, r.Lo + 1}, true
	case "Period":
		m, isMap := v.(map[string]any)
		if !isMap {
			return Range{}, false
		}
		return periodRange(m, loc)
	case "Timing":
		m, isMap := v.(map[string]any)
		if !isMap {
			return Range{}, false
		}
		return timingRange(m, loc)
	}
	return Range{}, false
}

func periodRange(m map[string]any, loc *time.Location) (Range, bool) {
	out := Range{math.MinInt64, math.MaxInt64}
	start, hasStart := m["start"]
	end, hasEnd := m["end"]
	if !hasStart && !hasEnd {
		return Range{}, false
	}
	if hasStart {
		r, ok := IndexDate("dateTime", start, loc)
		if !ok {
			return Range{}, false
		}
		out.Lo = r.Lo
	}
	if hasEnd {
		r, ok := IndexDate("dateTime", end, loc)
		if !ok {
			return Range{}, false
		}
		out.Hi = r.Hi
	}
	return out, out.Lo < out.Hi
}

func timingRange(m map[string]any, loc *time.Location) (Range, bool) {
	out := Range{math.MaxInt64, math.MinInt64}
	found := false
	widen := func(r Range) {
		out.Lo, out.Hi = min(out.Lo, r.Lo), max(out.Hi, r.Hi)
		found = true
	}
	switch events := m["event"].(type) {
	case []any:
		for _, e := range events {
			r, ok := IndexDate("dateTime", e, loc)
			if !ok {
				return Range{}, false
			}
			widen(r)
		}
	case []string:
		for _, e := range events {
			r, ok := IndexDate("dateTime", e, loc)
			if !ok {
				return Range{}, false
			}
			widen(r)
		}
	}
	if repeat, ok := m["repeat"].(map[string]any); ok {
		if bounds, ok := repeat["boundsPeriod"]; ok {
			r, ok := IndexDate("Period", bounds, loc)
			if !ok {
				return Range{}, false
			}
			widen(r)
		}
	}
	return out, found
}

// MatchDate reports whether a target range matches a search value. It is the
// reference semantics the SQL must reproduce, and the oracle tests use. With
// s the search range and t the target, and the spec's wording from
// https://hl7.org/fhir/R4/search.html#prefix:
//
//	eq  s.Lo <= t.Lo && t.Hi <= s.Hi  "the range of the search value fully contains the range of the target value"
//	ne  not eq                        "does not fully contain the range of the target value"
//	gt  t.Hi > s.Hi                   "the range above the search value intersects (i.e. overlaps) with the range of the target value"
//	lt  t.Lo < s.Lo                   "the range below the search value intersects (i.e. overlaps) with the range of the target value"
//	ge  gt || eq                      "the range above ... intersects ..., or the range of the search value fully contains the range of the target value"
//	le  lt || eq                      "the range below ... intersects ... or the range of the search value fully contains ..."
//	sa  t.Lo >= s.Hi                  "does not overlap with the range of the target value, and the range above the search value contains the range of the target value"
//	eb  t.Hi <= s.Lo                  "does not overlap ..., and the range below the search value contains the range of the target value"
//	ap  t overlaps v.ApproxRange(now) "the range of the search value overlaps with the range of the target value"
//
// "Above" the search value starts where its range ends, so gt2026-03-14 means
// "after the 14th", not "after its first instant"; likewise for "below".
func MatchDate(v DateValue, target Range, now time.Time) bool {
	s, t := v.Range, target
	eq := s.Lo <= t.Lo && t.Hi <= s.Hi
	switch v.Prefix {
	case PrefixEq, "":
		return eq
	case PrefixNe:
		return !eq
	case PrefixGt:
		return t.Hi > s.Hi
	case PrefixLt:
		return t.Lo < s.Lo
	case PrefixGe:
		return t.Hi > s.Hi || eq
	case PrefixLe:
		return t.Lo < s.Lo || eq
	case PrefixSa:
		return t.Lo >= s.Hi
	case PrefixEb:
		return t.Hi <= s.Lo
	case PrefixAp:
		a := v.ApproxRange(now)
		return t.Lo < a.Hi && a.Lo < t.Hi
	}
	return false
}

// ApproxRange is the range ap matches against. The spec recommends "10% of
// the gap between now and the date" (#prefix), so the search range is widened
// on each side by a tenth of the distance from now to its nearest edge, and
// not at all when now lies inside it. There is no minimum width beyond the
// value's own precision: ap2026-03 searched in March 2026 means March 2026.
func (v DateValue) ApproxRange(now time.Time) Range {
	s, n := v.Range, now.UnixMicro()
	var gap int64
	switch {
	case n < s.Lo:
		gap = s.Lo - n
	case n > s.Hi:
		gap = n - s.Hi
	}
	if gap < 0 { // only for hand-made ranges beyond any real date
		gap = math.MaxInt64
	}
	d := gap / 10
	lo, hi := s.Lo-d, s.Hi+d
	if lo > s.Lo { // overflow past an open start
		lo = math.MinInt64
	}
	if hi < s.Hi {
		hi = math.MaxInt64
	}
	return Range{lo, hi}
}

// datePrecision is how much of a date value was given.
type datePrecision int

const (
	precYear datePrecision = iota
	precMonth
	precDay
	precMinute
	precSecond
	precFraction
)

// parseDateRange reads YYYY[-MM[-DD[Thh:mm[:ss[.f+]][Z|±hh:mm]]]]. It is
// hand-written rather than a list of time.Parse layouts so each malformed
// part gets its own message, and so partial dates keep their precision.
func parseDateRange(s string, loc *time.Location) (Range, error) {
	if loc == nil {
		loc = time.UTC
	}
	var (
		y, mo, d, h, mi, sec, nsec = 0, 1, 1, 0, 0, 0, 0
		prec                       = precYear
		fracWidth                  = time.Duration(0)
		i                          = 0
		err                        error
	)
	num := func(n int, what string, lo, hi int) int {
		if err != nil {
			return 0
		}
		if i+n > len(s) || !allASCIIDigits(s[i:i+n]) {
			err = syntaxError("expected a %d-digit %s at %q", n, what, s[min(i, len(s)):])
			return 0
		}
		v := digitsToInt(s[i : i+n])
		if v < lo || v > hi {
			err = fmt.Errorf("%s %s is out of range (%0*d-%0*d)", what, s[i:i+n], n, lo, n, hi)
		}
		i += n
		return v
	}
	sep := func(c byte, what string) bool {
		if err != nil || i >= len(s) {
			return false
		}
		if s[i] != c {
			err = syntaxError("expected %q before the %s, found %q", c, what, s[i:])
			return false
		}
		i++
		return true
	}

	if y = num(4, "year", 1, 9999); err != nil {
		return Range{}, err
	}
	if sep('-', "month") {
		mo, prec = num(2, "month", 1, 12), precMonth
	}
	if sep('-', "day") {
		d, prec = num(2, "day", 1, 31), precDay
		if err == nil && d > daysIn(y, mo) {
			err = fmt.Errorf("day %02d does not exist in %04d-%02d", d, y, mo)
		}
	}
	if sep('T', "time") {
		h = num(2, "hour", 0, 23)
		if err == nil && (i >= len(s) || s[i] != ':') {
			err = syntaxError("minutes are required when an hour is given (hh:mm)")
		}
		sep(':', "minutes")
		mi, prec = num(2, "minute", 0, 59), precMinute
		if err == nil && i < len(s) && s[i] == ':' {
			i++
			// 60 is allowed by the FHIR dateTime regex for leap seconds;
			// time.Date carries it into the next minute.
			sec, prec = num(2, "second", 0, 60), precSecond
		}
		if err == nil && i < len(s) && s[i] == '.' {
			i++
			j := i
			for j < len(s) && isASCIIDigit(s[j]) {
				j++
			}
			if j == i {
				err = syntaxError("expected digits after the decimal point in the seconds")
			} else {
				digits := s[i:min(j, i+9)]
				nsec = digitsToInt(digits)
				fracWidth = time.Duration(1)
				for range 9 - len(digits) {
					nsec *= 10
					fracWidth *= 10
				}
				prec, i = precFraction, j
			}
		}
		if err == nil && i < len(s) {
			loc, err = parseZone(s[i:])
			i = len(s)
		}
	}
	if err != nil {
		return Range{}, err
	}

	lo := time.Date(y, time.Month(mo), d, h, mi, sec, nsec, loc)
	var hi time.Time
	switch prec {
	case precYear:
		hi = time.Date(y+1, 1, 1, 0, 0, 0, 0, loc)
	case precMonth:
		hi = time.Date(y, time.Month(mo)+1, 1, 0, 0, 0, 0, loc)
	case precDay:
		hi = time.Date(y, time.Month(mo), d+1, 0, 0, 0, 0, loc)
	case precMinute:
		hi = lo.Add(time.Minute)
	case precSecond:
		hi = lo.Add(time.Second)
	case precFraction:
		hi = lo.Add(fracWidth)
	}
	hiMicro := hi.UnixMicro()
	if hi.Nanosecond()%1000 != 0 { // round the end outwards to a whole microsecond
		hiMicro++
	}
	return Range{lo.UnixMicro(), hiMicro}, nil
}

// parseZone reads "Z" or "±hh:mm" (-14:00 to +14:00, as the FHIR regex
// allows). A space stands for "+": form decoding turns an unescaped "+" in a
// query string into one, and clients send "+07:00" unescaped all the time.
func parseZone(z string) (*time.Location, error) {
	if z == "Z" {
		return time.UTC, nil
	}
	if len(z) != 6 || (z[0] != '+' && z[0] != '-' && z[0] != ' ') || z[3] != ':' ||
		!allASCIIDigits(z[1:3]) || !allASCIIDigits(z[4:6]) {
		return nil, syntaxError("expected a time-zone offset Z, +hh:mm or -hh:mm, found %q", z)
	}
	hh, mm := digitsToInt(z[1:3]), digitsToInt(z[4:6])
	if hh > 14 || mm > 59 || (hh == 14 && mm > 0) {
		return nil, fmt.Errorf("time-zone offset %s is out of range (-14:00 to +14:00)", z)
	}
	off := (hh*60 + mm) * 60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone("", off), nil
}

// syntaxError says what went wrong and which forms a date search value may
// take; a value out of range (month 13) is told without the list.
func syntaxError(format string, args ...any) error {
	return fmt.Errorf(format+"; a date is YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]", args...)
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func isASCIIDigit(c byte) bool { return '0' <= c && c <= '9' }

func allASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isASCIIDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// digitsToInt converts a short run of ASCII digits already checked by allASCIIDigits.
func digitsToInt(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
