package iom

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// DecodeCSV reads an IOM CSV export: a header row naming the columns
// (mappings/README.md), then one assessment per row, in UTF-8. It returns an
// error only when r fails; every problem with the content is a Reject, and a
// bad row never stops the file.
func DecodeCSV(r io.Reader, cfg Config) (*mapping.Result, error) {
	cfg = cfg.withDefaults("iom.csv")
	d := newDecoder(cfg)
	// The whole export is read first: a malformed row is then explained from
	// its raw line, which encoding/csv does not keep.
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("iom.DecodeCSV: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")) // spreadsheet exports start with a BOM
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = cfg.Comma
	cr.FieldsPerRecord = -1 // counted per row below, for a precise message
	header, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			d.res.Reject(cfg.File, 0, "", "empty file: no header row")
			return d.result(), nil
		case errors.As(err, &pe):
			d.res.Reject(cfg.File, 1, "", "unreadable header: %v", pe.Err)
			return d.result(), nil
		default:
			return nil, fmt.Errorf("iom.DecodeCSV: %w", err)
		}
	}
	cols, ok := d.header(header)
	if !ok {
		return d.result(), nil
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			reason := fmt.Sprintf("malformed CSV: %v", pe.Err)
			if sep := otherDelimiter(line(data, pe.StartLine), cfg.Comma); sep != "" {
				reason = fmt.Sprintf("wrong delimiter: the row is separated by %q, not %q (%v)", sep, cfg.Comma, pe.Err)
			}
			d.res.Reject(cfg.File, pe.StartLine, "", "%s", reason)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("iom.DecodeCSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			d.res.Reject(cfg.File, line, "", "%s", fieldCountReason(len(rec), len(header), rec, cfg.Comma))
			continue
		}
		f := make(map[string]string, len(cols))
		var unreadable map[string]string
		for i, v := range rec {
			col := cols[i]
			if col == "" {
				continue
			}
			if !utf8.ValidString(v) {
				if unreadable == nil {
					unreadable = map[string]string{}
				}
				unreadable[col] = "not valid UTF-8 (IOM exports are UTF-8)"
				continue
			}
			f[col] = v
		}
		d.row(line, f, unreadable)
	}
	return d.result(), nil
}

// header maps file columns to Mekong column names ("" for unknown ones) and
// rejects a file whose first line is not a usable header.
func (d *decoder) header(header []string) ([]string, bool) {
	cfg := d.cfg
	known := map[string]string{} // file name → Mekong name
	for _, c := range columns(0) {
		known[cfg.name(c)] = c
	}
	if len(header) == 1 {
		for _, sep := range []string{";", "\t", "|", ","} {
			if strings.Contains(header[0], sep) && sep != string(cfg.Comma) {
				d.res.Reject(cfg.File, 1, "", "wrong delimiter: the header is a single column containing %q; this file must be separated by %q. No row was read", sep, cfg.Comma)
				return nil, false
			}
		}
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	matched := 0
	var unknown []int
	for i, h := range header {
		h = strings.TrimSpace(h)
		if seen[h] {
			if _, isCol := known[h]; isCol {
				d.res.Reject(cfg.File, 1, h, "column appears twice in the header. No row was read")
				return nil, false
			}
		}
		seen[h] = true
		if c, ok := known[h]; ok {
			cols[i] = c
			matched++
			continue
		}
		if c, ok := vaccineColumn(h, cfg); ok {
			cols[i] = c
			matched++
			continue
		}
		unknown = append(unknown, i)
	}
	if !seen[cfg.name(colCase)] {
		if matched == 0 {
			d.res.Reject(cfg.File, 1, "", "missing header: the first line names none of the IOM columns (expected %s, %s, ...). No row was read", cfg.name(colCase), cfg.name(colPassport))
		} else {
			d.res.Reject(cfg.File, 1, cfg.name(colCase), "the header has no case number column. No row was read")
		}
		return nil, false
	}
	for _, i := range unknown {
		d.res.Warn(cfg.File, 1, header[i], "unknown column: its values are not read (map it with Config.Columns if it holds an IOM field)")
	}
	return cols, true
}

// vaccineColumn recognises vaccination columns beyond the default count.
func vaccineColumn(h string, cfg Config) (string, bool) {
	for i := 1; i <= 99; i++ {
		a, b, c, d := vaccineCols(i)
		for _, col := range []string{a, b, c, d} {
			if cfg.name(col) == h {
				return col, true
			}
		}
	}
	return "", false
}

// line returns line n (1-based) of data.
func line(data []byte, n int) string {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return ""
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return string(data)
}

// otherDelimiter returns the delimiter a line seems to use instead of comma, or "".
func otherDelimiter(s string, comma rune) string {
	best, n := "", strings.Count(s, string(comma))
	for _, sep := range []string{";", "\t", "|", ","} {
		if c := strings.Count(s, sep); sep != string(comma) && c > n {
			best, n = sep, c
		}
	}
	return best
}

func fieldCountReason(got, want int, rec []string, comma rune) string {
	if got == 1 {
		if sep := otherDelimiter(rec[0], comma); sep != "" {
			return fmt.Sprintf("the row is a single field containing %q: wrong delimiter (expected %q)", sep, comma)
		}
	}
	if got < want {
		return fmt.Sprintf("the row has %d of the header's %d fields (truncated?)", got, want)
	}
	return fmt.Sprintf("the row has %d fields, the header %d", got, want)
}
