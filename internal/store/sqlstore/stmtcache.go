package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCacheMax bounds the statements a stmtCache keeps: reads by id have a
// handful of shapes (one per access shape of the tokens in use); any beyond
// are run unprepared.
const stmtCacheMax = 64

// stmtCache runs the fixed read-by-id queries as statements prepared once
// per connection of the read pool. database/sql has a driver without a
// statement cache (modernc.org/sqlite) parse every query it runs: parsing
// the read of one resource was ~16% of an audited read's CPU on SQLite
// (docs/audit-bench.md). pgx caches statements itself and does not use it.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

// stmt returns query's prepared statement, or nil when the cache is full or
// it cannot be prepared (the query is then run as it is, and reports the
// error itself).
func (c *stmtCache) stmt(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	s, ok := c.m[query]
	c.mu.RUnlock()
	if ok {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[query]; ok {
		return s
	}
	if len(c.m) >= stmtCacheMax {
		return nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.m[query] = s
	return s
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := c.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := c.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

// Close closes every statement kept.
func (c *stmtCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for q, s := range c.m {
		err = errors.Join(err, s.Close())
		delete(c.m, q)
	}
	return err
}
