package th43

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

var (
	compactDate = regexp.MustCompile(`^[0-9]{8}$`)
	compactTS   = regexp.MustCompile(`^[0-9]{14}$`)
)

// parseDate turns YYYYMMDD into a FHIR date. 43 files use Gregorian years;
// a year past 2400 is a Buddhist Era year typed by mistake and is refused
// rather than shifted by 543.
func parseDate(s string) (string, error) {
	if !compactDate.MatchString(s) {
		return "", fmt.Errorf("%q is not a date (YYYYMMDD)", s)
	}
	if y, _ := strconv.Atoi(s[:4]); y > 2400 {
		return "", fmt.Errorf("%q has a Buddhist Era year (%d); 43 files use Gregorian years", s, y)
	}
	t, err := time.Parse("20060102", s)
	if err != nil || t.Year() < 1900 {
		return "", fmt.Errorf("%q is not a calendar date", s)
	}
	return t.Format("2006-01-02"), nil
}

// parseTimestamp turns D_UPDATE (YYYYMMDDHHMMSS, Thai time) into a FHIR instant.
func parseTimestamp(s string) (string, error) {
	if !compactTS.MatchString(s) {
		return "", fmt.Errorf("%q is not a timestamp (YYYYMMDDHHMMSS)", s)
	}
	if y, _ := strconv.Atoi(s[:4]); y > 2400 {
		return "", fmt.Errorf("%q has a Buddhist Era year (%d); 43 files use Gregorian years", s, y)
	}
	t, err := time.ParseInLocation("20060102150405", s, thaiTime)
	if err != nil || t.Year() < 1900 {
		return "", fmt.Errorf("%q is not a valid date and time", s)
	}
	return t.Format(time.RFC3339), nil
}

// formatDate turns a FHIR date or dateTime into YYYYMMDD ("" if it has no full day).
func formatDate(s string) string {
	if len(s) < 10 {
		return ""
	}
	t, err := time.Parse("2006-01-02", s[:10])
	if err != nil {
		return ""
	}
	return t.Format("20060102")
}

// formatTimestamp turns a FHIR instant into D_UPDATE in Thai time, or uses now.
func formatTimestamp(s string, now func() time.Time) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t = now()
	}
	return t.In(thaiTime).Format("20060102150405")
}

// buddhistEra reports whether a YYYYMMDD value has a Buddhist Era year.
func buddhistEra(s string) bool {
	y, _ := strconv.Atoi(s[:4])
	return y > 2400
}
