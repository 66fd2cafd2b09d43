package match

// date is a FHIR date split into its parts; month and day are 0 when the
// date has a lower precision.
type date struct{ year, month, day int }

func parseDate(s string) (date, bool) {
	var d date
	if len(s) != 4 && len(s) != 7 && len(s) != 10 {
		return d, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	var ok bool
	if d.year, ok = num(s[:4]); !ok || d.year == 0 {
		return d, false
	}
	if len(s) >= 7 {
		if s[4] != '-' {
			return d, false
		}
		if d.month, ok = num(s[5:7]); !ok || d.month < 1 || d.month > 12 {
			return d, false
		}
	}
	if len(s) == 10 {
		if s[7] != '-' {
			return d, false
		}
		if d.day, ok = num(s[8:10]); !ok || d.day < 1 || d.day > daysIn(d.year, d.month) {
			return d, false
		}
	}
	return d, true
}

func validDate(s string) bool { _, ok := parseDate(s); return ok }

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// Birth-date comparison levels (config "birthDate").
const (
	dateExact      = "exact"      // same day
	dateYearMonth  = "yearMonth"  // one side has no day; year and month agree
	dateYear       = "year"       // one side has only a year; it agrees
	dateTransposed = "transposed" // day and month swapped (04-01 vs 01-04)
	dateYearOff    = "yearOff"    // same month and day (or month), year one off
	dateDisagree   = "disagree"
)

// compareDates returns the level of two birth dates, "" when either is unknown.
func compareDates(a, b string) string {
	da, oka := parseDate(a)
	db, okb := parseDate(b)
	if !oka || !okb {
		return ""
	}
	switch {
	case da == db && da.day != 0:
		return dateExact
	case da.year == db.year && da.month != 0 && db.month != 0 && da.month == db.month && (da.day == 0 || db.day == 0):
		return dateYearMonth
	case da.year == db.year && (da.month == 0 || db.month == 0):
		return dateYear
	case da.year == db.year && da.day != 0 && db.day != 0 && da.month == db.day && da.day == db.month:
		return dateTransposed
	case abs(da.year-db.year) == 1 && da.month == db.month && da.day == db.day && da.month != 0:
		return dateYearOff
	}
	return dateDisagree
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// reduce lowers a placeholder date to the precision it really has.
func (p Placeholders) reduce(s string) string {
	if len(s) != 10 {
		return s
	}
	if contains(p.UnknownMonthDay, s[5:]) {
		return s[:4]
	}
	if contains(p.UnknownDay, s[8:]) {
		return s[:7]
	}
	return s
}

// dateLevel compares two birth dates, reading placeholder dates at their
// real precision: the better of the literal and the reduced comparison,
// except that an exact agreement of placeholders is only as good as the
// precision they carry.
func (m *Matcher) dateLevel(a, b string) string {
	raw := compareDates(a, b)
	ra, rb := m.cfg.BirthDatePlaceholders.reduce(a), m.cfg.BirthDatePlaceholders.reduce(b)
	if raw == "" || ra == a && rb == b {
		return raw
	}
	red := compareDates(ra, rb)
	if raw == dateExact || m.cfg.BirthDate[red].Weight() > m.cfg.BirthDate[raw].Weight() {
		return red
	}
	return raw
}
