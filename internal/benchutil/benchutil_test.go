package benchutil

import (
	"errors"
	"sync/atomic"
	"testing"
)

// Every request runs once, whatever the number of clients.
func TestClientsRunsEachOnce(t *testing.T) {
	var seen [1000]atomic.Int32
	Clients(t, 7, len(seen), func(i int) error { seen[i].Add(1); return nil })
	for i := range seen {
		if n := seen[i].Load(); n != 1 {
			t.Fatalf("request %d ran %d times", i, n)
		}
	}
}

// The first error stops the load and fails the test.
func TestClientsStopsAtTheFirstError(t *testing.T) {
	var ran atomic.Int32
	inner := &testing.T{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Clients(inner, 2, 1000, func(i int) error {
			ran.Add(1)
			if i == 10 {
				return errors.New("boom")
			}
			return nil
		})
	}()
	<-done
	if !inner.Failed() || ran.Load() >= 1000 {
		t.Errorf("failed %v after %d requests", inner.Failed(), ran.Load())
	}
}

func TestEnvInt(t *testing.T) {
	t.Setenv("X_BENCH", "12")
	t.Setenv("X_BAD", "-3")
	if EnvInt("X_BENCH", 5) != 12 || EnvInt("X_BAD", 5) != 5 || EnvInt("X_NONE", 5) != 5 {
		t.Error("EnvInt")
	}
}
