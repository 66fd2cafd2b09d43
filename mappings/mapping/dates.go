package mapping

import (
	"fmt"
	"regexp"
	"time"
)

var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// CheckDate validates a YYYY-MM-DD calendar date between 1900 and 2100: a
// real day, so "2023-02-30" is an error rather than a silent 2 March.
func CheckDate(s string) error {
	if !isoDate.MatchString(s) {
		return fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return fmt.Errorf("%q is not a calendar date", s)
	}
	if t.Year() < 1900 || t.Year() > 2100 {
		return fmt.Errorf("%q is outside 1900-2100", s)
	}
	return nil
}

// Date returns the YYYY-MM-DD part of a FHIR date or dateTime.
func Date(s string) string {
	if len(s) >= 10 {
		return s[:10]
	}
	return s
}
