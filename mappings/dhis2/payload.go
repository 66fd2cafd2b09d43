package dhis2

import (
	"fmt"
	"regexp"
	"time"
)

// Payload is the nested tracker payload of POST /api/tracker and of
// GET /api/tracker/trackedEntities (domain.md §5.1). Members Mekong does not
// map (createdAt, notes, geometry, relationships ...) are not modelled.
type Payload struct {
	TrackedEntities []TrackedEntity `json:"trackedEntities"`
}

// TrackedEntity is one person.
type TrackedEntity struct {
	TrackedEntity     string       `json:"trackedEntity,omitempty"`
	TrackedEntityType string       `json:"trackedEntityType"`
	OrgUnit           string       `json:"orgUnit"`
	Attributes        []Value      `json:"attributes,omitempty"`
	Enrollments       []Enrollment `json:"enrollments,omitempty"`
}

// Value is an attribute or data value.
type Value struct {
	Attribute   string `json:"attribute,omitempty"`
	DataElement string `json:"dataElement,omitempty"`
	Value       string `json:"value"`
}

// Enrollment is an enrollment in a program.
type Enrollment struct {
	Enrollment string  `json:"enrollment,omitempty"`
	Program    string  `json:"program"`
	OrgUnit    string  `json:"orgUnit"`
	Status     string  `json:"status,omitempty"`
	EnrolledAt string  `json:"enrolledAt"`
	OccurredAt string  `json:"occurredAt,omitempty"`
	Events     []Event `json:"events,omitempty"`
}

// Event is one program-stage event.
type Event struct {
	Event        string  `json:"event,omitempty"`
	ProgramStage string  `json:"programStage"`
	OrgUnit      string  `json:"orgUnit"`
	Status       string  `json:"status,omitempty"`
	OccurredAt   string  `json:"occurredAt"`
	DataValues   []Value `json:"dataValues,omitempty"`
}

var dhisTime = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:\d{2})?)?$`)

// fhirTime converts a DHIS2 date-time to FHIR. DHIS2 writes local time
// without an offset, and midnight for events that only have a date; a
// midnight time becomes a FHIR date, any other time a dateTime in the
// instance's zone.
func fhirTime(s string, zone *time.Location) (string, error) {
	m := dhisTime.FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("%q is not a DHIS2 date-time (YYYY-MM-DDThh:mm:ss.sss)", s)
	}
	day, err := time.ParseInLocation("2006-01-02", m[1], zone)
	if err != nil || day.Year() < 1900 {
		return "", fmt.Errorf("%q is not a calendar date", s)
	}
	clock := m[2]
	if clock == "" {
		return m[1], nil
	}
	if len(clock) == 5 {
		clock += ":00"
	}
	// Go accepts fractional seconds after the seconds field when parsing.
	layout := "2006-01-02T15:04:05"
	loc := zone
	if m[3] != "" {
		t, err := time.Parse("Z07:00", m[3])
		if err != nil {
			return "", fmt.Errorf("%q has a bad offset", s)
		}
		loc = t.Location()
	}
	t, err := time.ParseInLocation(layout, m[1]+"T"+clock, loc)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid time", s)
	}
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 && m[3] == "" {
		return m[1], nil
	}
	return t.In(zone).Format(time.RFC3339), nil
}

// dhisTimeOf converts a FHIR date or dateTime back to DHIS2's form.
func dhisTimeOf(s string, zone *time.Location) string {
	if len(s) == 10 {
		return s + "T00:00:00.000"
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if len(s) >= 10 {
			return s[:10] + "T00:00:00.000"
		}
		return ""
	}
	return t.In(zone).Format("2006-01-02T15:04:05.000")
}
