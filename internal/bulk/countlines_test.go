package bulk

import (
	"bytes"
	"compress/gzip"
	"context"
	"strings"
	"testing"
)

// CountLines agrees with what Import reads: blank lines are skipped, a last
// line without a newline counts, gzip is recognised by content.
func TestCountLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"", 0},
		{"{}\n", 1},
		{"{}", 1},
		{"{}\n\n  \r\n{}\r\n{}", 3},
		{"\n\n", 0},
	} {
		got, err := CountLines(strings.NewReader(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("CountLines(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(tc.in))
		zw.Close()
		if got, err := CountLines(&gz); err != nil || got != tc.want {
			t.Errorf("CountLines(gzip %q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

// The count is the number of lines readBatches hands on.
func TestCountLinesMatchesTheReader(t *testing.T) {
	in := "{\"a\":1}\n\n \n{\"b\":2}\r\n\t\n{\"c\":3}"
	out := make(chan []rawLine, 10)
	if err := readBatches(context.Background(), newLineReader(strings.NewReader(in)), 0, 2, out); err != nil {
		t.Fatal(err)
	}
	close(out)
	var read int64
	for b := range out {
		read += int64(len(b))
	}
	if n, _ := CountLines(strings.NewReader(in)); n != read {
		t.Errorf("CountLines = %d, the importer reads %d lines", n, read)
	}
}
