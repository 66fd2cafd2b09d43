package iom

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// DecodeJSON reads an IOM JSON export: an array of assessment objects (or an
// object whose "assessments" member is that array), each member named like
// a CSV column and holding a string (numbers are accepted for dose numbers).
// Records are decoded one at a time, so a truncated file still yields every
// record before the cut, and the cut record is rejected.
func DecodeJSON(r io.Reader, cfg Config) (*mapping.Result, error) {
	cfg = cfg.withDefaults("iom.json")
	d := newDecoder(cfg)
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.UseNumber()
	if err := openArray(dec); err != nil {
		if isIO(err) {
			return nil, fmt.Errorf("iom.DecodeJSON: %w", err)
		}
		d.res.Reject(cfg.File, 0, "", "%v", err)
		return d.result(), nil
	}
	known := map[string]string{}
	for _, c := range columns(0) {
		known[cfg.name(c)] = c
	}
	warned := map[string]bool{}
	for n := 1; dec.More(); n++ {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) { // the value was read whole: the next record is intact
				d.res.Reject(cfg.File, n, "", "a record must be an object, got %s", te.Value)
				continue
			}
			if isIO(err) {
				return nil, fmt.Errorf("iom.DecodeJSON: %w", err)
			}
			d.res.Reject(cfg.File, n, "", "unreadable record (%v); the rest of the file cannot be read", err)
			return d.result(), nil
		}
		f, unreadable := d.fields(n, obj, known, warned)
		d.row(n, f, unreadable)
	}
	if _, err := dec.Token(); err != nil && !isIO(err) {
		d.res.Reject(cfg.File, 0, "", "the array is not closed (truncated file?): %v", err)
	}
	return d.result(), nil
}

// openArray consumes "[" or `{"assessments": [`.
func openArray(dec *json.Decoder) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == json.Delim('[') {
		return nil
	}
	if t != json.Delim('{') {
		return fmt.Errorf("%w: expected an array of assessments", errFormat)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		if k == "assessments" {
			t, err := dec.Token()
			if err != nil {
				return err
			}
			if t != json.Delim('[') {
				return fmt.Errorf(`%w: "assessments" must be an array`, errFormat)
			}
			return nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return fmt.Errorf(`%w: no "assessments" array`, errFormat)
}

var errFormat = errors.New("not an IOM JSON export")

// fields converts one record to column values; a member that is not a
// string or number is unreadable (the row decides what that costs), an
// unknown member is a warning (once per name), as an unknown CSV column is.
func (d *decoder) fields(n int, obj map[string]any, known map[string]string, warned map[string]bool) (map[string]string, map[string]string) {
	f := map[string]string{}
	var unreadable map[string]string
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		col, isKnown := known[k]
		if !isKnown {
			if c, vok := vaccineColumn(k, d.cfg); vok {
				col, isKnown = c, true
			}
		}
		if !isKnown {
			if !warned[k] {
				warned[k] = true
				d.res.Warn(d.cfg.File, n, k, "unknown member: its values are not read (map it with Config.Columns if it holds an IOM field)")
			}
			continue
		}
		switch v := obj[k].(type) {
		case nil:
		case string:
			f[col] = v
		case json.Number:
			f[col] = v.String()
		default:
			if unreadable == nil {
				unreadable = map[string]string{}
			}
			unreadable[col] = "must be a string"
		}
	}
	return f, unreadable
}

// isIO tells a failing reader from malformed content.
func isIO(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return !errors.As(err, &se) && !errors.As(err, &te) && !errors.Is(err, errFormat) &&
		!errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF)
}
