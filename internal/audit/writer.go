package audit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mekong-fhir/mekong/internal/store"
)

// Writer stores the AuditEvents of reads and searches with group commit:
// requests queue their events, and one goroutine commits everything queued
// in one transaction while the next batch gathers. A lone reader waits for
// one commit of its own; many concurrent readers share one fsync instead of
// serialising on one each. Write returns only once its events are durable,
// so a response is never sent for an access that was not recorded.
type Writer struct {
	st store.Store
	// MaxBatch caps the events in one transaction.
	MaxBatch int
	// Timeout bounds one commit; it does not follow any one request's
	// context, so a client that goes away cannot abort the others' batch.
	Timeout time.Duration

	mu      sync.Mutex
	queue   []*pending
	running bool

	batches, events atomic.Int64
}

type pending struct {
	writes []store.Write
	done   chan error
}

// NewWriter returns a writer into st.
func NewWriter(st store.Store) *Writer {
	return &Writer{st: st, MaxBatch: 512, Timeout: 10 * time.Second}
}

// Write stores writes (in one transaction, possibly with other requests'
// writes) and returns when they are committed, or the error that stopped
// them.
func (w *Writer) Write(ctx context.Context, writes []store.Write) error {
	if len(writes) == 0 {
		return nil
	}
	p := &pending{writes: writes, done: make(chan error, 1)}
	w.mu.Lock()
	w.queue = append(w.queue, p)
	if !w.running {
		w.running = true
		go w.run()
	}
	w.mu.Unlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats reports the transactions committed and the AuditEvents written,
// so benchmarks can show the batching.
func (w *Writer) Stats() (batches, events int64) { return w.batches.Load(), w.events.Load() }

// run commits batches until the queue is empty; a new Write starts it again.
func (w *Writer) run() {
	for {
		w.mu.Lock()
		batch := w.take()
		if len(batch) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		err := w.commit(batch)
		if err != nil && len(batch) > 1 {
			// One bad request must not fail its neighbours: commit each alone.
			for _, p := range batch {
				p.done <- w.commit([]*pending{p})
			}
			continue
		}
		for _, p := range batch {
			p.done <- err
		}
	}
}

// take removes up to MaxBatch events' worth of requests from the queue.
func (w *Writer) take() []*pending {
	n, i := 0, 0
	for ; i < len(w.queue); i++ {
		if n > 0 && n+len(w.queue[i].writes) > w.MaxBatch {
			break
		}
		n += len(w.queue[i].writes)
	}
	batch := w.queue[:i:i]
	w.queue = w.queue[i:]
	return batch
}

func (w *Writer) commit(batch []*pending) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.Timeout)
	defer cancel()
	var all []store.Write
	for _, p := range batch {
		all = append(all, p.writes...)
	}
	// One store batch: the events' rows and index rows go in a few
	// multi-row statements, however many requests share the commit.
	err := w.st.Transaction(ctx, func(tx store.Tx) error {
		_, err := tx.WriteBatch(ctx, all)
		return err
	})
	if err == nil {
		w.batches.Add(1)
		for _, p := range batch {
			w.events.Add(int64(len(p.writes)))
		}
	}
	return err
}
