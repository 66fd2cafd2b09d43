package audit_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/store"
)

// gate is an audit log whose appends wait until released, and fail for
// batches holding a record of request "bad".
type gate struct {
	store.AuditLog
	entered chan int // the size of each append, as it starts
	release chan struct{}
	mu      sync.Mutex
	stored  []string // request ids committed
}

func (g *gate) AppendAudit(_ context.Context, recs []store.AuditRecord) error {
	g.entered <- len(recs)
	<-g.release
	for _, r := range recs {
		if r.RequestID == "bad" {
			return errors.New("the row is refused")
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range recs {
		g.stored = append(g.stored, r.RequestID)
	}
	return nil
}

func newGate() *gate {
	return &gate{entered: make(chan int, 100), release: make(chan struct{})}
}

func write(w *audit.Writer, id string) chan error {
	done := make(chan error, 1)
	go func() { done <- w.Write(context.Background(), []store.AuditRecord{{RequestID: id}}) }()
	return done
}

// Write returns only once its rows are committed (issue 15: the record is
// durable before the response is sent): while the commit is held, the
// request is still waiting.
func TestWriterWaitsForTheCommit(t *testing.T) {
	g := newGate()
	w := audit.NewWriter(g)
	done := write(w, "r1")
	if n := <-g.entered; n != 1 {
		t.Fatalf("commit of %d rows, want 1", n)
	}
	select {
	case err := <-done:
		t.Fatalf("Write returned (%v) before its commit did", err)
	default:
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(g.stored) != "[r1]" {
		t.Fatalf("stored %v", g.stored)
	}
}

// Group commit: requests that arrive while the commits in flight are held
// share the next commit (at most MaxBatch rows), and each gets its answer
// only after that commit.
func TestWriterGroupsWaitingRequests(t *testing.T) {
	g := newGate()
	w := audit.NewWriter(g)
	w.Commits, w.MaxBatch = 1, 8
	first := write(w, "first")
	<-g.entered // the committer holds "first"
	var waiting []chan error
	for i := 0; i < 12; i++ {
		waiting = append(waiting, write(w, fmt.Sprint("r", i)))
	}
	for w.QueueDepth() < 13 { // every request has queued its row
		select {
		case <-first:
			t.Fatal("the first request returned before its commit")
		default:
		}
		runtime.Gosched()
	}
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for _, d := range waiting {
		if err := <-d; err != nil {
			t.Fatal(err)
		}
	}
	close(g.entered)
	var sizes []int
	for n := range g.entered {
		sizes = append(sizes, n)
	}
	if fmt.Sprint(sizes) != "[8 4]" {
		t.Fatalf("commits of %v rows after the first, want [8 4] (MaxBatch 8)", sizes)
	}
	if len(g.stored) != 13 {
		t.Fatalf("%d rows stored, want 13", len(g.stored))
	}
}

// A request whose rows are refused gets the error (and so a 503), and does
// not fail the requests that shared its commit: those are committed alone.
func TestWriterIsolatesAFailedRequest(t *testing.T) {
	g := newGate()
	w := audit.NewWriter(g)
	w.Commits = 1
	first := write(w, "first")
	<-g.entered
	bad, good := write(w, "bad"), write(w, "good")
	for w.QueueDepth() < 3 {
		runtime.Gosched()
	}
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-bad; err == nil {
		t.Fatal("the refused request got no error")
	}
	if err := <-good; err != nil {
		t.Fatalf("a request sharing the refused one's commit failed: %v", err)
	}
	if fmt.Sprint(g.stored) != "[first good]" {
		t.Fatalf("stored %v", g.stored)
	}
}
