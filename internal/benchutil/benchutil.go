// Package benchutil holds what the benchmark packages (internal/bench*)
// share: a closed-loop load driver and their environment knobs. It is
// imported by tests only.
package benchutil

import (
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// EnvInt is the positive integer in the environment variable name, or def.
func EnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// Clients runs op(0..n-1) from c concurrent clients, each taking the next
// request when its previous one is answered, and stops at the first error
// (which fails tb).
func Clients(tb testing.TB, c, n int, op func(i int) error) {
	tb.Helper()
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := op(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		tb.Fatal(first)
	}
}
