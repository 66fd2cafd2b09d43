package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"
)

// The read statement cache answers like the pool, prepares each text once,
// and keeps at most stmtCacheMax statements (memory bounded by the code,
// never by the queries run); texts beyond it are run unprepared.
func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(2)
	if _, err := db.ExecContext(ctx, `CREATE TABLE r (id TEXT PRIMARY KEY, v INTEGER); INSERT INTO r VALUES ('a', 1), ('b', 2)`); err != nil {
		t.Fatal(err)
	}
	c := newStmtCache(db)
	for i := 0; i < 10; i++ {
		var v int
		if err := c.QueryRowContext(ctx, `SELECT v FROM r WHERE id = ?`, "b").Scan(&v); err != nil || v != 2 {
			t.Fatalf("%d %v", v, err)
		}
	}
	if len(c.m) != 1 {
		t.Fatalf("%d statements for one text", len(c.m))
	}
	for i := 0; i < 2*stmtCacheMax; i++ {
		rows, err := c.QueryContext(ctx, fmt.Sprintf(`SELECT v + %d FROM r WHERE id = ?`, i), "a")
		if err != nil {
			t.Fatal(err)
		}
		var v int
		if !rows.Next() || rows.Scan(&v) != nil || v != 1+i {
			t.Fatalf("query %d: %d", i, v)
		}
		rows.Close()
	}
	if len(c.m) != stmtCacheMax {
		t.Fatalf("%d statements kept, want the bound %d", len(c.m), stmtCacheMax)
	}
	// A statement that cannot be prepared reports its error as the pool would.
	if err := c.QueryRowContext(ctx, `SELECT nope FROM r`).Scan(new(int)); err == nil {
		t.Fatal("no error for a bad statement")
	}
	if err := c.Close(); err != nil || len(c.m) != 0 {
		t.Fatalf("close: %v, %d left", err, len(c.m))
	}
}
