// Package bulk is Mekong's bulk data engine: NDJSON import in validated,
// idempotent batches and NDJSON export of stored bytes, run as asynchronous
// jobs whose state and files live in the database
// (https://hl7.org/fhir/uv/bulkdata/export.html,
// https://hl7.org/fhir/R4/async.html), so any gateway instance can report
// on a job or take it over.
package bulk

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// maxLine bounds one NDJSON line: a resource larger than this is far past
// anything a health record holds and would only exhaust memory.
const maxLine = 64 << 20

// Decompress returns r itself, or a gzip reader when r starts with the gzip
// magic bytes: files are recognised by content, not by name or header.
func Decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	}
	return br, nil
}

// lineReader yields NDJSON lines with their 1-based numbers.
type lineReader struct {
	r *bufio.Reader
	n int64
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 1<<20)}
}

// next returns the next line (a fresh copy, without the newline) and its
// number; io.EOF at the end.
func (l *lineReader) next() ([]byte, int64, error) {
	var line []byte
	for {
		chunk, err := l.r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, 0, fmt.Errorf("line %d is longer than %d bytes", l.n+1, maxLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return nil, 0, io.EOF
		}
		l.n++
		return bytes.TrimRight(line, "\r\n"), l.n, nil
	}
}

// CountLines counts the NDJSON lines an import of r would read (gzip or
// not; blank lines do not count), so progress can be shown in resources.
// It reads r to the end without keeping it.
func CountLines(r io.Reader) (int64, error) {
	dr, err := Decompress(r)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	var n int64
	content := false // the current line has a non-space byte
	for {
		k, err := dr.Read(buf)
		for _, c := range buf[:k] {
			switch c {
			case '\n':
				if content {
					n++
				}
				content = false
			case ' ', '\t', '\r', '\v', '\f':
			default:
				content = true
			}
		}
		if errors.Is(err, io.EOF) {
			if content {
				n++
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
