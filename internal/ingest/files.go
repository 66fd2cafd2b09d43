package ingest

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mekong-fhir/mekong/internal/rest"
)

// ReadPaths reads the files named on a command line. For th43 a directory
// is read whole (its subdirectories too) and a .zip is opened by Decode; the
// other formats take one file per path.
func ReadPaths(format string, paths []string) ([]Input, error) {
	if err := CheckFormat(format, Formats...); err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no input: name the files to read")
	}
	var out []Input
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			out = append(out, Input{Name: p, Data: data})
			continue
		}
		if format != TH43 {
			return nil, fmt.Errorf("%s is a directory; only a 43-file export (th43) is read from a directory", p)
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out = append(out, Input{Name: path, Data: data})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Run decodes the files at paths and stores them through svc: what
// `mekong ingest` (and `mekong import --format`) does. See Ingest.
func Run(ctx context.Context, svc *rest.Service, format string, paths []string, opts Options, progress func(done, total int)) (*Report, error) {
	inputs, err := ReadPaths(format, paths)
	if err != nil {
		return nil, err
	}
	res, err := Decode(format, inputs, opts)
	if err != nil {
		return nil, err
	}
	// Resources stored from the command line get no server base URL in
	// their references; the base only shapes fullUrls of responses.
	return Ingest(ctx, svc, "", format, res, progress)
}
