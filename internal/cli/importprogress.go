package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mekong-fhir/mekong/internal/bulk"
)

// importProgress counts an import in resources (NDJSON lines: stored or
// rejected), per file and for the whole job. Each file's total is counted
// by a background pass over it (fast next to validating and writing), so
// rates and ETAs are in resources, and a file's count starts at zero.
type importProgress struct {
	files  []string
	totals []atomic.Int64 // lines per file; -1 until counted
	began  time.Time

	cur         int          // the file being imported
	curDone     atomic.Int64 // its lines done so far
	curRejected atomic.Int64
	curBegan    time.Time
	doneFiles   int64 // lines of the files finished
	rejected    atomic.Int64
}

func newImportProgress(ctx context.Context, files []string, now time.Time) *importProgress {
	p := &importProgress{files: files, totals: make([]atomic.Int64, len(files)), began: now, curBegan: now}
	for i := range p.totals {
		p.totals[i].Store(-1)
	}
	go func() {
		for i, f := range files {
			if ctx.Err() != nil {
				return
			}
			if n, err := countFileLines(f); err == nil {
				p.totals[i].Store(n)
			}
		}
	}()
	return p
}

func countFileLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return bulk.CountLines(f)
}

// startFile moves on to file i; its count starts at zero.
func (p *importProgress) startFile(i int, now time.Time) {
	p.doneFiles += p.curDone.Load()
	p.cur, p.curBegan = i, now
	p.curDone.Store(0)
	p.curRejected.Store(0)
}

// add records lines done in the current file, rejected included.
func (p *importProgress) add(lines, rejected int64) {
	p.curDone.Add(lines)
	p.curRejected.Add(rejected)
	p.rejected.Add(rejected)
}

// progressSnapshot is what a bar or a log line shows.
type progressSnapshot struct {
	File              string
	Index, Files      int           // 1-based
	Done, Total       int64         // this file's resources; Total -1 while counting
	Rate              float64       // this file's resources per second
	ETA               time.Duration // -1 unknown
	Rejected          int64         // this file's rejected lines
	Elapsed           time.Duration
	JobDone, JobTotal int64
	JobRate           float64
	JobETA            time.Duration
	JobRejected       int64
	JobElapsed        time.Duration
}

func (p *importProgress) snapshot(now time.Time) progressSnapshot {
	s := progressSnapshot{File: p.files[p.cur], Index: p.cur + 1, Files: len(p.files),
		Done: p.curDone.Load(), Total: p.totals[p.cur].Load(), Rejected: p.curRejected.Load(),
		Elapsed: now.Sub(p.curBegan), JobRejected: p.rejected.Load(), JobElapsed: now.Sub(p.began)}
	s.JobDone = p.doneFiles + s.Done
	s.JobTotal = 0
	for i := range p.totals {
		n := p.totals[i].Load()
		if n < 0 {
			s.JobTotal = -1
			break
		}
		s.JobTotal += n
	}
	s.Rate, s.ETA = rateETA(s.Done, s.Total, s.Elapsed)
	s.JobRate, s.JobETA = rateETA(s.JobDone, s.JobTotal, s.JobElapsed)
	return s
}

func rateETA(done, total int64, elapsed time.Duration) (float64, time.Duration) {
	rate := float64(done) / max(elapsed.Seconds(), 1e-3)
	if total < 0 || done == 0 {
		return rate, -1
	}
	return rate, time.Duration(float64(max(total-done, 0)) / rate * float64(time.Second))
}

// String is the one-line progress a bar shows: the file, then the job when
// there are several files.
func (s progressSnapshot) String() string {
	out := fmt.Sprintf("%s %d/%d: %s, %s/s, ETA %s", s.File, s.Index, s.Files, countOf(s.Done, s.Total, "resource"),
		thousands(int64(s.Rate)), eta(s.ETA))
	if s.Files > 1 {
		out += fmt.Sprintf(" | job %s, ETA %s", countOf(s.JobDone, s.JobTotal, ""), eta(s.JobETA))
	}
	if s.Rejected > 0 {
		out += fmt.Sprintf(" | %s rejected", thousands(s.Rejected))
	}
	return out
}

// countOf is "1,200/14,423 resources", or "1,200 resources" while the
// total is being counted; without the noun if it is "".
func countOf(done, total int64, noun string) string {
	n := total
	if total < 0 {
		n = done
	}
	out := thousands(done)
	if total >= 0 {
		out += "/" + thousands(total)
	}
	if noun == "" {
		return out
	}
	if n == 1 {
		return out + " " + noun
	}
	return out + " " + noun + "s"
}

func eta(d time.Duration) string {
	if d < 0 {
		return "?"
	}
	return d.Round(time.Second).String()
}

// plural is "1 resource", "2 resources".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(n) + " " + noun + "s"
}

// thousands writes 14423 as 14,423.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// fileReporter shows one file's progress: a bar on a terminal (redrawn per
// batch and twice a second), a log line every importProgressEvery otherwise,
// since a bar's carriage returns garble log files and CI output.
type fileReporter struct {
	update func()
	stop   func()
}

func (p *importProgress) reporter(w io.Writer, log *slog.Logger, drawBar bool) fileReporter {
	every := importProgressEvery
	var bar *progressbar.ProgressBar
	if drawBar {
		every = 500 * time.Millisecond
		bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(w), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(20), progressbar.OptionSetElapsedTime(false), progressbar.OptionSetPredictTime(false))
	}
	draw := func() {
		s := p.snapshot(time.Now())
		if bar == nil {
			log.Info("import progress", snapshotAttrs(s)...)
			return
		}
		if s.Total >= 0 && bar.GetMax64() != s.Total {
			bar.ChangeMax64(s.Total)
		}
		bar.Describe(s.String())
		_ = bar.Set64(s.Done)
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				draw()
			}
		}
	}()
	update := func() {}
	if bar != nil {
		update = draw
	}
	return fileReporter{update: update, stop: func() {
		close(done)
		<-stopped
		// A file read to its end has as many lines as were done, whether
		// or not the counting pass got to it yet.
		p.totals[p.cur].CompareAndSwap(-1, p.curDone.Load())
		s := p.snapshot(time.Now())
		if bar != nil {
			bar.Describe(s.String())
			_ = bar.Finish()
			fmt.Fprintln(w)
			return
		}
		log.Info("import file done", snapshotAttrs(s)...)
	}}
}

func snapshotAttrs(s progressSnapshot) []any {
	attrs := []any{slog.String("file", s.File), slog.Int("file_index", s.Index), slog.Int("files", s.Files),
		slog.Int64("resources", s.Done), slog.Int64("of_resources", s.Total), slog.Float64("per_second", float64(int64(s.Rate))),
		slog.Duration("elapsed", s.Elapsed.Round(time.Millisecond))}
	if s.ETA >= 0 {
		attrs = append(attrs, slog.Duration("eta", s.ETA.Round(time.Second)))
	}
	attrs = append(attrs, slog.Int64("rejected", s.Rejected), slog.Int64("job_resources", s.JobDone), slog.Int64("job_of_resources", s.JobTotal))
	if s.JobETA >= 0 {
		attrs = append(attrs, slog.Duration("job_eta", s.JobETA.Round(time.Second)))
	}
	return append(attrs, slog.Int64("job_rejected", s.JobRejected))
}
