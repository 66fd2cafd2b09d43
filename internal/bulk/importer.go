package bulk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store"
)

// BulkStore is what import and export need of a store.
type BulkStore interface {
	store.Store
	store.Bulk
}

// Importer loads NDJSON into a store: lines are validated and indexed in
// parallel exactly as a create or update would be (rest.Service.Prepare),
// then written a batch per transaction. Resources whose ids are absent go
// through the store's bulk path (COPY on PostgreSQL); existing ones get a
// new version only when their content differs, so importing a file twice
// changes nothing the second time.
type Importer struct {
	Svc   *rest.Service
	Store BulkStore
	// BatchSize is the number of lines per transaction (default 1000).
	BatchSize int
	// Workers parse in parallel (default GOMAXPROCS).
	Workers int
	// Writers is how many batches are written at once (default 2): while
	// one batch's transaction waits on the database, the next one's rows
	// are already on their way, so the database works on every core.
	// Batches are still reported to done in file order.
	Writers int
	// Tenant owns the written resources.
	Tenant string
	// Now is the clock (tests).
	Now func() time.Time
	// Agent is who asked for the import (the $import caller), recorded in
	// the Provenance of what it writes; nil for the command line.
	Agent *auth.Principal
	// MaxUncompressed bounds what a gzip input may expand to (default
	// DefaultMaxUncompressed).
	MaxUncompressed int64
}

// Counts are what an import did to one resource type.
type Counts struct {
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
}

// Total is every valid line of the type.
func (c Counts) Total() int64 { return c.Created + c.Updated + c.Unchanged }

// Batch is the result of one committed batch.
type Batch struct {
	// Line is the number of the last line the batch covered: a re-run that
	// skips this many lines continues after it.
	Line int64
	// Counts by resource type.
	Counts map[string]Counts
	// Errors are OperationOutcome JSON lines, one per rejected line.
	Errors [][]byte
}

// idSpace is the UUIDv5 namespace of ids derived from content, so a line
// without an id gets the same id on every import.
var idSpace = uuid.MustParse("6f1c3a52-5e0b-4c49-9a55-2d0c1f4e7b18")

type rawLine struct {
	n int64
	b []byte
}

type parsed struct {
	n   int64
	typ string
	id  string
	res *resource.Resource
	ix  *search.Index
	err error
}

// Import reads NDJSON (gzip or plain) from r, named name in error reports,
// skipping the first skip lines (already committed by an earlier run).
// After each batch is committed, done is called with its result; an error
// from done stops the import. A bad line never stops it: it becomes an
// OperationOutcome in the batch's Errors.
func (im *Importer) Import(ctx context.Context, name string, r io.Reader, skip int64, done func(Batch) error) error {
	size, workers := im.BatchSize, im.Workers
	if size <= 0 {
		size = 1000
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	dr, err := Decompress(r, im.MaxUncompressed)
	var ie *InputError
	if errors.As(err, &ie) {
		return done(Batch{Errors: [][]byte{errorLine(name, 0, outcome.Invalid("%v", err))}})
	}
	if err != nil {
		return fmt.Errorf("bulk.Import: %s: %w", name, err)
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Three stages, so parsing batch k+1 overlaps writing batch k: read
	// lines, parse them on every core, write in order.
	raw := make(chan []rawLine, 1)
	ready := make(chan []parsed, 1)
	var readErr error
	var wg sync.WaitGroup
	wg.Add(2)
	lr := newLineReader(dr)
	go func() {
		defer wg.Done()
		defer close(raw)
		readErr = readBatches(ctx, lr, skip, size, raw)
	}()
	go func() {
		defer wg.Done()
		defer close(ready)
		for batch := range raw {
			out := im.parseAll(batch, workers)
			select {
			case ready <- out:
			case <-ctx.Done():
				return
			}
		}
	}()
	werr := im.writeAll(ctx, name, ready, done)
	cancel()
	for range ready { // let the stages see the cancel and finish
	}
	wg.Wait()
	if werr != nil {
		return werr
	}
	if err := parent.Err(); err != nil {
		return err
	}
	if errors.As(readErr, &ie) {
		// Every line before the problem is stored; the problem is the
		// input's last error line.
		return done(Batch{Line: lr.n, Errors: [][]byte{errorLine(name, lr.n+1, outcome.New(http.StatusRequestEntityTooLarge, outcome.CodeTooLong, "%v", ie))}})
	}
	if readErr != nil {
		return fmt.Errorf("bulk.Import: %s: %w", name, readErr)
	}
	return nil
}

// writeAll writes the parsed batches, up to Writers at a time, and reports
// each committed batch to done in file order, so a re-run that skips the
// lines of the last reported batch misses nothing. A batch committed after
// a failed earlier one is reported to no one; the re-run finds its
// resources unchanged.
func (im *Importer) writeAll(ctx context.Context, name string, ready <-chan []parsed, done func(Batch) error) error {
	writers := im.Writers
	if writers <= 0 {
		writers = 2
	}
	type written struct {
		res Batch
		err error
	}
	type inflight struct {
		keys map[string]bool // type/id of its resources
		ch   chan written
	}
	var queue []inflight // batches being written, in file order
	var werr error
	next := func() { // waits for the oldest batch and reports it
		w := <-queue[0].ch
		queue = queue[1:]
		if werr != nil {
			return
		}
		if werr = w.err; werr == nil {
			werr = done(w.res)
		}
	}
	for batch := range ready {
		keys := make(map[string]bool, len(batch))
		for i := range batch {
			if batch[i].err == nil {
				keys[batch[i].typ+"/"+batch[i].id] = true
			}
		}
		// A resource that is also in a batch still being written waits for
		// it: the later line must be the later version.
		shared := func() bool {
			for _, f := range queue {
				for k := range keys {
					if f.keys[k] {
						return true
					}
				}
			}
			return false
		}
		for len(queue) == writers || (len(queue) > 0 && shared()) {
			next()
		}
		if werr == nil {
			werr = ctx.Err()
		}
		if werr != nil {
			break
		}
		ch := make(chan written, 1)
		queue = append(queue, inflight{keys: keys, ch: ch})
		go func() {
			res, err := im.write(ctx, name, batch)
			ch <- written{res, err}
		}()
	}
	for len(queue) > 0 {
		next()
	}
	return werr
}

func readBatches(ctx context.Context, lr *lineReader, skip int64, size int, out chan<- []rawLine) error {
	batch := make([]rawLine, 0, size)
	held := 0
	var inputErr error
	for {
		b, n, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		var ie *InputError
		if errors.As(err, &ie) {
			inputErr = err // the lines before it are still imported
			break
		}
		if err != nil {
			return err
		}
		if n <= skip || len(bytes.TrimSpace(b)) == 0 {
			continue // committed by an earlier run, or a blank line
		}
		batch = append(batch, rawLine{n: n, b: b})
		if held += len(b); len(batch) == size || held >= maxBatchBytes {
			held = 0
			select {
			case out <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = make([]rawLine, 0, size)
		}
	}
	if len(batch) > 0 {
		select {
		case out <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return inputErr
}

func (im *Importer) parseAll(batch []rawLine, workers int) []parsed {
	out := make([]parsed, len(batch))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(batch); i += workers {
				out[i] = im.parse(batch[i])
			}
		}()
	}
	wg.Wait()
	return out
}

func (im *Importer) parse(l rawLine) parsed {
	p := parsed{n: l.n}
	res, ix, err := im.Svc.Prepare(l.b, "")
	if err != nil {
		p.err = err
		return p
	}
	p.typ, p.res, p.ix, p.id = res.Type, res, ix, res.ID
	if p.id == "" {
		// Derived from type and content, so the same line imported again
		// names the same resource instead of creating a duplicate.
		p.id = uuid.NewSHA1(idSpace, append([]byte(res.Type+"\n"), res.Encode("", 0, time.Time{})...)).String()
	}
	return p
}
