package th43

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"io/fs"
)

// DefaultMaxBytes bounds the uncompressed size of the files read from one
// export (256 MiB): a ZIP of a few megabytes can hold gigabytes of zeros.
const DefaultMaxBytes = 256 << 20

// Known reports whether a file name is one of the 43 files Mekong maps
// (PERSON, EPI, LABFU, SPECIALPP, in any case, with any extension).
func Known(name string) bool {
	_, ok := kindOf(name)
	return ok
}

// TooLargeError says an export expands past the limit; nothing of it is
// decoded.
type TooLargeError struct {
	Name  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s expands to more than %d bytes uncompressed; nothing of it was read", e.Name, e.Limit)
}

// Archive reads the files Mekong maps from a ZIP archive, together at most
// limit bytes uncompressed (DefaultMaxBytes when limit <= 0). The other
// entries are listed in skipped without being decompressed; an archive
// whose mapped files claim or turn out to expand past the limit is a
// *TooLargeError before any of it is held whole.
func Archive(name string, r io.ReaderAt, size int64, limit int64) (files []File, skipped []string, err error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, nil, err
	}
	return readFS(name, zr, limit)
}

// readFS reads the mapped files of fsys within the limit; see Archive.
func readFS(name string, fsys fs.FS, limit int64) (files []File, skipped []string, err error) {
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	// First the sizes the entries declare, so an archive claiming too much
	// is refused before anything is inflated.
	type entry struct {
		path string
		size int64
	}
	var known []entry
	var declared int64
	err = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !Known(path) {
			skipped = append(skipped, path)
			return nil
		}
		var size int64
		if info, err := d.Info(); err == nil {
			size = max(info.Size(), 0)
		}
		declared += size
		if declared > limit {
			return &TooLargeError{Name: name, Limit: limit}
		}
		known = append(known, entry{path, size})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// Then the content, within what is left of the limit: a declared size
	// may lie (archive/zip stops at it, a directory may change meanwhile).
	left := limit
	for _, e := range known {
		f, err := fsys.Open(e.path)
		if err != nil {
			return nil, nil, err
		}
		var b bytes.Buffer
		b.Grow(int(min(e.size, left)) + bytes.MinRead)
		_, err = b.ReadFrom(io.LimitReader(f, left+1))
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", e.path, err)
		}
		if int64(b.Len()) > left {
			return nil, nil, &TooLargeError{Name: name, Limit: limit}
		}
		left -= int64(b.Len())
		files = append(files, File{Name: e.path, Data: b.Bytes()})
	}
	return files, skipped, nil
}
