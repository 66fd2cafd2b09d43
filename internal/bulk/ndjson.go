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
const maxLine = 16 << 20

// maxBatchBytes bounds the raw lines of one batch, so the batches in flight
// (read, parsed, being written) hold a bounded amount of memory whatever
// the lines' sizes.
const maxBatchBytes = 16 << 20

// DefaultMaxUncompressed bounds what one gzip input may expand to (16 GiB,
// about ten million resources): a gzip of newlines expands a thousandfold,
// so without a bound a 1 GiB upload could keep a worker busy for hours.
const DefaultMaxUncompressed = 16 << 30

// InputError is a problem with an input as a whole (it expands past the
// limit, a line is too long, the gzip stream is corrupt): the input's
// remaining lines are not read, and the import reports it in its error file
// and carries on with the next input.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Decompress returns r itself, or a gzip reader when r starts with the gzip
// magic bytes: files are recognised by content, not by name or header. The
// gzip reader stops with an *InputError past max uncompressed bytes
// (DefaultMaxUncompressed when max <= 0).
func Decompress(r io.Reader, max int64) (io.Reader, error) {
	if max <= 0 {
		max = DefaultMaxUncompressed
	}
	br := bufio.NewReaderSize(r, 256<<10)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &InputError{fmt.Errorf("not a readable gzip stream: %w", err)}
		}
		return &inflated{r: zr, left: max, max: max}, nil
	}
	return br, nil
}

// inflated bounds a decompressed stream and marks its format errors as the
// input's.
type inflated struct {
	r         io.Reader
	left, max int64
}

func (z *inflated) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, &InputError{fmt.Errorf("the gzip input expands to more than %d bytes; the rest of it was not read (a decompression bomb, or split the load)", z.max)}
	}
	if int64(len(p)) > z.left {
		p = p[:z.left]
	}
	n, err := z.r.Read(p)
	z.left -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		err = &InputError{fmt.Errorf("the gzip stream is corrupt: %w", err)}
	}
	return n, err
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
			return nil, 0, &InputError{fmt.Errorf("the line is longer than %d bytes; it and the rest of the input were not read", maxLine)}
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
	dr, err := Decompress(r, 0) // bounded like the import that follows
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
