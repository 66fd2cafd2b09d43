package dhis2

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// Decode maps a tracker payload. A tracked entity is the unit of rejection
// for problems with the person (an unknown attribute UID, a bad birth date,
// no identifier): nothing of it is kept. An enrollment in an unknown program
// and an event of an unknown stage or with an unknown data element are
// rejected alone. Reject.Row is the 1-based position of the tracked entity
// in the payload and Reject.Field the JSON path of the offending member.
// Decode returns an error only when r fails.
func Decode(r io.Reader, cfg Config) (*mapping.Result, error) {
	if err := cfg.init(); err != nil {
		return nil, fmt.Errorf("dhis2.Decode: %w", err)
	}
	res := &mapping.Result{}
	d := &decoder{cfg: &cfg, b: mapping.NewBuilder(), res: res}
	// Tracked entities are decoded one at a time, so a payload cut short
	// still yields every complete tracked entity before the cut.
	dec := json.NewDecoder(r)
	if err := openEntities(dec); err != nil {
		if isIO(err) {
			return nil, fmt.Errorf("dhis2.Decode: %w", err)
		}
		res.Reject(cfg.File, 0, "trackedEntities", "not a tracker payload: %v", err)
		return res, nil
	}
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if isIO(err) {
				return nil, fmt.Errorf("dhis2.Decode: %w", err)
			}
			res.Reject(cfg.File, i+1, fmt.Sprintf("trackedEntities[%d]", i), "unreadable (%v); the rest of the payload cannot be read", err)
			break
		}
		d.trackedEntity(i, raw)
	}
	res.Persons = d.b.Result()
	return res, nil
}

var errShape = errors.New("no trackedEntities array (Mekong reads the nested payload)")

// openEntities consumes the payload up to the first tracked entity: the
// "trackedEntities" array, or "instances" as GET /api/tracker/trackedEntities
// named it before v41.
func openEntities(dec *json.Decoder) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return errShape
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		if k == "trackedEntities" || k == "instances" {
			t, err := dec.Token()
			if err != nil {
				return err
			}
			if t != json.Delim('[') {
				return errShape
			}
			return nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return errShape
}

// isIO tells a failing reader from malformed content.
func isIO(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return !errors.As(err, &se) && !errors.As(err, &te) && !errors.Is(err, errShape) &&
		!errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF)
}

type decoder struct {
	cfg *Config
	b   *mapping.Builder
	res *mapping.Result
}

// unit collects the problems of one tracked entity, enrollment or event.
// unit is a tracked entity, an enrollment or an event being mapped. Its
// rejects cost it whole; its warnings are problems with one value that it
// survives (issue 11: a doubtful field never costs the person), and dropped
// are single values left out while the rest was kept.
type unit struct {
	d        *decoder
	row      int
	rejects  []mapping.Reject
	warnings []mapping.Reject
	unmapped []mapping.Unmapped
	// events holds the rejects of an enrollment's events, rejected alone.
	events []mapping.Reject
	// dropped are values left out of a kept unit (a result that is not a number).
	dropped []mapping.Reject
}

func (u *unit) bad(path, format string, args ...any) {
	u.rejects = append(u.rejects, mapping.Reject{File: u.d.cfg.File, Row: u.row, Field: path, Reason: fmt.Sprintf(format, args...)})
}

func (u *unit) warn(path, format string, args ...any) {
	u.warnings = append(u.warnings, mapping.Reject{File: u.d.cfg.File, Row: u.row, Field: path, Reason: fmt.Sprintf(format, args...)})
}

func (u *unit) drop(path, format string, args ...any) {
	u.dropped = append(u.dropped, mapping.Reject{File: u.d.cfg.File, Row: u.row, Field: path, Reason: fmt.Sprintf(format, args...)})
}

func (u *unit) ok() bool { return len(u.rejects) == 0 }

// absorb takes a child unit's report: its rejects when it was left out,
// otherwise its warnings, dropped values and unmapped codes.
func (u *unit) absorb(c *unit) {
	u.events = append(u.events, c.events...)
	if !c.ok() {
		u.events = append(u.events, c.warnings...)
		u.events = append(u.events, c.rejects...)
		return
	}
	u.warnings = append(u.warnings, c.warnings...)
	u.dropped = append(u.dropped, c.dropped...)
	u.unmapped = append(u.unmapped, c.unmapped...)
}

// flush files the unit's rejects or, when it was kept, its warnings and
// unmapped codes. Rejected, its warnings are rejects too: all of it was lost.
func (u *unit) flush(kept bool) {
	if kept && u.ok() {
		u.d.res.Warnings = append(u.d.res.Warnings, u.warnings...)
		u.d.res.Unmapped = append(u.d.res.Unmapped, u.unmapped...)
		u.d.res.Rejects = append(u.d.res.Rejects, u.dropped...)
	} else {
		u.d.res.Rejects = append(u.d.res.Rejects, u.warnings...)
	}
	u.d.res.Rejects = append(u.d.res.Rejects, u.rejects...)
	u.d.res.Rejects = append(u.d.res.Rejects, u.events...)
}

func (u *unit) time(path, s string, required bool) string {
	if s == "" {
		if required {
			u.bad(path, "required")
		}
		return ""
	}
	t, err := fhirTime(s, u.d.cfg.zone)
	if err != nil {
		u.bad(path, "%v", err)
	}
	return t
}

func (u *unit) uid(path, s string, required bool) {
	if s == "" && required {
		u.bad(path, "required")
	} else if s != "" && !uidPattern.MatchString(s) {
		u.bad(path, "%q is not a DHIS2 UID", s)
	}
}

func (d *decoder) trackedEntity(i int, raw json.RawMessage) {
	u := &unit{d: d, row: i + 1}
	at := fmt.Sprintf("trackedEntities[%d]", i)
	var te TrackedEntity
	if err := json.Unmarshal(raw, &te); err != nil {
		var ute *json.UnmarshalTypeError
		field := at
		if errors.As(err, &ute) && ute.Field != "" {
			field = at + "." + ute.Field
		}
		u.bad(field, "unreadable: %v", err)
		u.flush(false)
		return
	}
	cfg := d.cfg
	if te.OrgUnit == "" {
		u.warn(at+".orgUnit", "required: the person is kept without a managing organisation")
	} else if !uidPattern.MatchString(te.OrgUnit) {
		u.warn(at+".orgUnit", "%q is not a DHIS2 UID: the managing organisation is left out", te.OrgUnit)
		te.OrgUnit = ""
	}
	if te.TrackedEntityType != cfg.TrackedEntityType {
		u.bad(at+".trackedEntityType", "%q is not the configured tracked entity type %s", te.TrackedEntityType, cfg.TrackedEntityType)
	}
	p := u.patient(at, te)
	if !u.ok() {
		u.flush(false)
		return
	}
	var resources []any
	var children []*unit
	for j, en := range te.Enrollments {
		cu := &unit{d: d, row: u.row}
		rs := cu.enrollment(fmt.Sprintf("%s.enrollments[%d]", at, j), p, en)
		children = append(children, cu)
		resources = append(resources, rs...)
	}
	if _, err := d.b.Add(p, fmt.Sprintf("%s tracked entity %d", cfg.File, u.row), resources...); err != nil {
		u.bad(at, "%v", err)
		u.flush(false)
		return
	}
	u.flush(true)
	for _, cu := range children {
		cu.flush(true)
	}
}
