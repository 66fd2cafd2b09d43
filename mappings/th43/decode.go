package th43

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// File is one file of an export.
type File struct {
	Name string
	Data []byte
}

// DecodeZip reads a 43-file export as the ZIP archive the MoPH tools
// produce, within DefaultMaxBytes uncompressed (see Archive).
func DecodeZip(r io.ReaderAt, size int64, cfg Config) (*mapping.Result, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("th43.DecodeZip: %w", err)
	}
	return DecodeFS(zr, cfg)
}

// DecodeFS reads the export's files from a directory (os.DirFS) or an
// opened archive; files in subdirectories are read too, files Mekong does
// not map are listed as warnings without being read, and the mapped ones
// are read within DefaultMaxBytes together.
func DecodeFS(fsys fs.FS, cfg Config) (*mapping.Result, error) {
	files, skipped, err := readFS("the export", fsys, 0)
	if err != nil {
		return nil, fmt.Errorf("th43.DecodeFS: %w", err)
	}
	res, err := Decode(files, cfg)
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		res.Warn(s, 0, "", "%s", notRead)
	}
	return res, nil
}

// notRead is the warning for a file that is not one of the mapped 43 files.
const notRead = "not read: Mekong maps PERSON, EPI, LABFU and SPECIALPP"

// Decode maps the PERSON, EPI, LABFU and SPECIALPP files among files. It
// returns an error only for an unusable Config: every problem with the
// content is a Reject and a bad row never stops a file.
func Decode(files []File, cfg Config) (*mapping.Result, error) {
	cfg = cfg.withDefaults()
	switch strings.ToLower(cfg.Encoding) {
	case Auto, UTF8, TIS620:
	default:
		return nil, fmt.Errorf("th43.Decode: unknown encoding %q (use %q or %q)", cfg.Encoding, UTF8, TIS620)
	}
	d := &decoder{cfg: cfg, b: mapping.NewBuilder(), res: &mapping.Result{}, persons: map[string]personRef{}}
	var tables []*table
	sort.SliceStable(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	for _, f := range files {
		s, ok := kindOf(f.Name)
		if !ok {
			d.res.Warn(f.Name, 0, "", "%s", notRead)
			continue
		}
		if t := d.readTable(f, s); t != nil {
			tables = append(tables, t)
		}
	}
	// PERSON first: the other files refer to its rows.
	for _, t := range tables {
		if t.spec.name == personSpec.name {
			for _, r := range t.rows {
				d.person(t.file, r)
			}
		}
	}
	for _, t := range tables {
		for _, r := range t.rows {
			switch t.spec.name {
			case epiSpec.name:
				if r.broken {
					continue
				}
				d.epi(t.file, r)
			case labfuSpec.name:
				if !r.broken {
					d.labfu(t.file, r)
				}
			case specialppSpec.name:
				if !r.broken {
					d.specialpp(t.file, r)
				}
			}
		}
	}
	d.res.Persons = d.b.Result()
	return d.res, nil
}

type decoder struct {
	cfg Config
	b   *mapping.Builder
	res *mapping.Result
	// persons maps HOSPCODE|PID to the person of its PERSON row.
	persons map[string]personRef
}

type personRef struct {
	h        *mapping.Handle // nil when the PERSON row was rejected
	where    string
	hospcode string
}

type table struct {
	file string
	spec spec
	rows []row
}

// row is one data line by column name. A broken row (undecodable text,
// wrong field count) was rejected already; it is kept so that the rows of
// other files that refer to it are told their PERSON row was rejected.
type row struct {
	n      int
	f      map[string]string
	broken bool
	// unreadable maps the columns whose text could not be decoded to why.
	unreadable map[string]string
}

func (r row) get(col string) string { return strings.TrimSpace(r.f[col]) }

// readTable checks the header and splits the lines; a file whose header is
// unusable is rejected as a whole (row 1), since no row can be read.
func (d *decoder) readTable(f File, s spec) *table {
	data := []byte(strings.TrimPrefix(string(f.Data), bom))
	lines := splitLines(data)
	if len(lines) == 0 {
		d.res.Reject(f.Name, 0, "", "empty file: no header row")
		return nil
	}
	enc := strings.ToLower(d.cfg.Encoding)
	if enc == Auto {
		enc = detect(lines)
	}
	head, err := text(lines[0], enc)
	if err != nil {
		d.res.Reject(f.Name, 1, "", "unreadable header: %v", err)
		return nil
	}
	header := strings.Split(head, "|")
	for i := range header {
		header[i] = strings.ToUpper(strings.TrimSpace(header[i]))
	}
	if len(header) == 1 {
		for _, sep := range []string{",", "\t", ";"} {
			if strings.Contains(head, sep) {
				d.res.Reject(f.Name, 1, "", "wrong delimiter: the header is separated by %q; 43 files use '|'. No row was read", sep)
				return nil
			}
		}
	}
	if !contains(header, "HOSPCODE") {
		if hospPattern.MatchString(header[0]) {
			d.res.Reject(f.Name, 1, "", "missing header: the first line is data (it starts with a HOSPCODE value). No row was read")
		} else {
			d.res.Reject(f.Name, 1, "HOSPCODE", "the header has no HOSPCODE column. No row was read")
		}
		return nil
	}
	seen := map[string]bool{}
	for _, h := range header {
		if seen[h] {
			d.res.Reject(f.Name, 1, h, "column appears twice in the header. No row was read")
			return nil
		}
		seen[h] = true
	}
	var missing []string
	for _, c := range s.required {
		if !contains(header, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		d.res.Reject(f.Name, 1, strings.Join(missing, ","), "required %s columns missing from the header. No row was read", s.name)
		return nil
	}
	for _, h := range header {
		if !contains(s.columns, h) {
			d.res.Warn(f.Name, 1, h, "column not part of the %s file Mekong knows: not read", s.name)
		}
	}
	t := &table{file: f.Name, spec: s}
	for _, l := range lines[1:] {
		if len(l.text) == 0 {
			continue
		}
		s, err := text(l, enc)
		if err != nil {
			// A PERSON row whose text is undecodable in one field keeps the
			// person: the other fields (identifiers are ASCII) are read, and
			// the field is reported. '|' is one byte in UTF-8 and TIS-620,
			// so the raw line splits where the text would.
			if r, ok := fieldwise(l, enc, header); ok && t.spec.name == personSpec.name {
				t.rows = append(t.rows, r)
				continue
			}
			d.res.Reject(f.Name, l.n, "", "%v", err)
			t.rows = append(t.rows, brokenRow(l.n, header, string(l.text)))
			continue
		}
		fields := strings.Split(s, "|")
		if len(fields) != len(header) {
			d.res.Reject(f.Name, l.n, "", "%s", countReason(len(fields), len(header), s, l.last))
			t.rows = append(t.rows, brokenRow(l.n, header, s))
			continue
		}
		r := row{n: l.n, f: make(map[string]string, len(header))}
		for i, h := range header {
			r.f[h] = fields[i]
		}
		t.rows = append(t.rows, r)
	}
	return t
}

// fieldwise decodes a line field by field; ok is false when the line does
// not have the header's fields or was cut off (the file's last line), where
// the columns cannot be trusted.
func fieldwise(l line, enc string, header []string) (row, bool) {
	raw := strings.Split(string(l.text), "|")
	if l.last || len(raw) != len(header) {
		return row{}, false
	}
	r := row{n: l.n, f: make(map[string]string, len(header))}
	for i, h := range header {
		v, err := text(line{n: l.n, text: []byte(raw[i])}, enc)
		if err != nil {
			if r.unreadable == nil {
				r.unreadable = map[string]string{}
			}
			r.unreadable[h] = err.Error()
			continue
		}
		r.f[h] = v
	}
	return r, true
}

// brokenRow keeps what can be read of a rejected line: the key columns are
// ASCII in every encoding and come first, so they usually survive.
func brokenRow(n int, header []string, s string) row {
	r := row{n: n, f: map[string]string{}, broken: true}
	for i, v := range strings.Split(s, "|") {
		if i < len(header) {
			r.f[header[i]] = v
		}
	}
	return r
}

func countReason(got, want int, s string, last bool) string {
	if got == 1 {
		for _, sep := range []string{",", "\t", ";"} {
			if strings.Contains(s, sep) {
				return fmt.Sprintf("the row is one field containing %q: wrong delimiter (43 files use '|')", sep)
			}
		}
	}
	if got < want {
		reason := fmt.Sprintf("the row has %d of the header's %d fields", got, want)
		if last {
			reason += " and the file ends without a newline: truncated file"
		}
		return reason
	}
	return fmt.Sprintf("the row has %d fields, the header %d", got, want)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// rowState collects the problems of one row. Rejects cost the row (nothing
// of it is kept unless it has none); warnings are problems with one field
// that the row survives, kept as warnings when the row is kept.
type rowState struct {
	d        *decoder
	file     string
	r        row
	rejects  []mapping.Reject
	warnings []mapping.Reject
	unmapped []mapping.Unmapped
}

func (d *decoder) newRow(file string, r row) *rowState { return &rowState{d: d, file: file, r: r} }

func (s *rowState) bad(col, format string, args ...any) {
	s.rejects = append(s.rejects, mapping.Reject{File: s.file, Row: s.r.n, Field: col, Reason: fmt.Sprintf(format, args...)})
}

// warn records a problem with one field that does not cost the row.
func (s *rowState) warn(col, format string, args ...any) {
	s.warnings = append(s.warnings, mapping.Reject{File: s.file, Row: s.r.n, Field: col, Reason: fmt.Sprintf(format, args...)})
}

func (s *rowState) where() string { return fmt.Sprintf("%s row %d", s.file, s.r.n) }

// finish files the row's rejects, or its warnings and unmapped codes when it
// was kept. A row that was not kept reports its warnings as rejects too: all
// of it was lost, and each reason is part of why.
func (s *rowState) finish(kept bool) {
	if !kept || len(s.rejects) > 0 {
		s.d.res.Rejects = append(s.d.res.Rejects, s.warnings...)
		s.d.res.Rejects = append(s.d.res.Rejects, s.rejects...)
		return
	}
	s.d.res.Warnings = append(s.d.res.Warnings, s.warnings...)
	s.d.res.Unmapped = append(s.d.res.Unmapped, s.unmapped...)
}

func (s *rowState) unmappedCode(col, system, code string) {
	s.unmapped = append(s.unmapped, mapping.Unmapped{File: s.file, Row: s.r.n, Field: col, System: system, Code: code})
}

// date reads a YYYYMMDD column as a FHIR date.
func (s *rowState) date(col string, required bool) string {
	v := s.r.get(col)
	if v == "" {
		if required {
			s.bad(col, "required")
		}
		return ""
	}
	out, err := parseDate(v)
	if err != nil {
		s.bad(col, "%v", err)
	}
	return out
}

// updated reads D_UPDATE (YYYYMMDDHHMMSS, Thai time) as a FHIR instant.
func (s *rowState) updated() string {
	v := s.r.get("D_UPDATE")
	if v == "" {
		s.bad("D_UPDATE", "required")
		return ""
	}
	out, err := parseTimestamp(v)
	if err != nil {
		s.bad("D_UPDATE", "%v", err)
	}
	return out
}
