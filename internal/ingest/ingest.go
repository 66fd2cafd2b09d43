// Package ingest connects the source-system mappings (mappings/) to the FHIR
// interactions: it decodes IOM, Thai 43-file and DHIS2 payloads ($convert),
// stores each person as its own transaction through rest.Service ($ingest,
// mekong ingest) and writes stored patients back in a source format
// ($export-source, mekong export-source). HTTP and the command line both call
// it, so the two cannot drift.
package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/mappings/dhis2"
	"github.com/mekong-fhir/mekong/mappings/iom"
	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/th43"
)

// Source formats, as the format parameter and --format name them.
const (
	IOMCSV  = "iom-csv"
	IOMJSON = "iom-json"
	TH43    = "th43"
	DHIS2   = "dhis2"
)

// Formats lists the formats that can be decoded, for messages.
var Formats = []string{IOMCSV, IOMJSON, TH43, DHIS2}

// Options configures the mappings of one deployment.
type Options struct {
	// DHIS2 is the tracker mapping configuration (default dhis2.ExampleConfig()).
	DHIS2 *dhis2.Config
	// MaxUncompressed bounds what the ZIP archives of one payload may
	// expand to, together (default DefaultMaxUncompressed).
	MaxUncompressed int64
}

// DefaultMaxUncompressed is the default bound on a payload's uncompressed
// ZIP entries (256 MiB): they are decoded in memory.
const DefaultMaxUncompressed = th43.DefaultMaxBytes

func (o Options) dhis2() dhis2.Config {
	if o.DHIS2 != nil {
		return *o.DHIS2
	}
	return dhis2.ExampleConfig()
}

// Input is one file of a payload; Name labels its rejects.
type Input struct {
	Name string
	Data []byte
}

// CheckFormat returns a 400 naming the format parameter unless f is a
// format in allowed.
func CheckFormat(f string, allowed ...string) error {
	for _, a := range allowed {
		if f == a {
			return nil
		}
	}
	if f == "" {
		return outcome.Invalid("the format parameter is required: one of %s", strings.Join(allowed, ", ")).At("format")
	}
	return outcome.Invalid("unknown format %q: use one of %s", f, strings.Join(allowed, ", ")).At("format")
}

// Decode maps inputs of one format to FHIR. IOM and DHIS2 inputs are decoded
// one by one and their results concatenated (the server matches persons
// across files on identifiers); the files of a 43-file export are decoded
// together because EPI, LABFU and SPECIALPP rows refer to PERSON rows. A
// .zip input of th43 is opened and its files read. An error is returned only
// for an unknown format or an unusable configuration: bad content is a
// Reject.
func Decode(format string, inputs []Input, opts Options) (*mapping.Result, error) {
	if err := CheckFormat(format, Formats...); err != nil {
		return nil, err
	}
	if format == TH43 {
		files, res, err := th43Files(inputs, opts.MaxUncompressed)
		if err != nil {
			return nil, err
		}
		out, err := th43.Decode(files, th43.Config{})
		if err != nil {
			return nil, err
		}
		res.Persons = out.Persons
		res.Rejects = append(res.Rejects, out.Rejects...)
		res.Unmapped = append(res.Unmapped, out.Unmapped...)
		res.Warnings = append(res.Warnings, out.Warnings...)
		return res, nil
	}
	all := &mapping.Result{}
	for _, in := range inputs {
		var res *mapping.Result
		var err error
		r := bytes.NewReader(in.Data)
		switch format {
		case IOMCSV:
			res, err = iom.DecodeCSV(r, iom.Config{File: in.Name})
		case IOMJSON:
			res, err = iom.DecodeJSON(r, iom.Config{File: in.Name})
		case DHIS2:
			cfg := opts.dhis2()
			cfg.File = in.Name
			res, err = dhis2.Decode(r, cfg)
		}
		if err != nil {
			return nil, fmt.Errorf("ingest.Decode: %w", err)
		}
		all.Persons = append(all.Persons, res.Persons...)
		all.Rejects = append(all.Rejects, res.Rejects...)
		all.Unmapped = append(all.Unmapped, res.Unmapped...)
		all.Warnings = append(all.Warnings, res.Warnings...)
	}
	return all, nil
}

// th43Files opens ZIP inputs. When there are several archives their files
// are named archive/file, so two exports' PERSON.txt stay apart in rejects;
// an archive that cannot be opened is a Reject of the whole file. Entries
// that are not mapped 43 files are listed in one warning per archive
// without being decompressed; the mapped ones may expand to max bytes in
// all (a 413 past it, before anything is decoded). A payload with none of
// the mapped files is a 400.
func th43Files(inputs []Input, max int64) ([]th43.File, *mapping.Result, error) {
	if max <= 0 {
		max = DefaultMaxUncompressed
	}
	res := &mapping.Result{}
	var files []th43.File
	zips := 0
	for _, in := range inputs {
		if isZip(in.Data) {
			zips++
		}
	}
	left := max
	var skipped []string
	for _, in := range inputs {
		if !isZip(in.Data) {
			if th43.Known(in.Name) {
				files = append(files, th43.File{Name: in.Name, Data: in.Data})
			} else {
				skipped = append(skipped, in.Name)
			}
			continue
		}
		got, skip, err := th43.Archive(in.Name, bytes.NewReader(in.Data), int64(len(in.Data)), left)
		var tl *th43.TooLargeError
		if errors.As(err, &tl) {
			return nil, nil, outcome.New(http.StatusRequestEntityTooLarge, outcome.CodeTooLong,
				"the 43-file export expands to more than %d bytes uncompressed (the limit, --max-uncompressed); nothing was read", max)
		}
		if err != nil {
			res.Reject(in.Name, 0, "", "not a readable ZIP archive: %v", err)
			continue
		}
		for _, f := range got {
			left -= int64(len(f.Data))
			if zips > 1 {
				f.Name = path.Join(in.Name, f.Name)
			}
			files = append(files, f)
		}
		for _, s := range skip {
			if zips > 1 {
				s = path.Join(in.Name, s)
			}
			skipped = append(skipped, s)
		}
	}
	if len(skipped) > 0 {
		const shown = 10
		list := strings.Join(skipped[:min(len(skipped), shown)], ", ")
		if len(skipped) > shown {
			list += fmt.Sprintf(" and %d more", len(skipped)-shown)
		}
		res.Warn(list, 0, "", "not read: Mekong maps PERSON, EPI, LABFU and SPECIALPP")
	}
	if len(files) == 0 && len(res.Rejects) == 0 {
		return nil, nil, outcome.Invalid("the 43-file export holds none of PERSON, EPI, LABFU and SPECIALPP (found: %s)", orNone(skipped)).At("format")
	}
	return files, res, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	if len(names) > 10 {
		return strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	return strings.Join(names, ", ")
}

func isZip(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06"))
}

func compactJSON(b []byte) ([]byte, error) {
	var out bytes.Buffer
	err := json.Compact(&out, b)
	return out.Bytes(), err
}
