// Package sqlite is the embedded zero-setup store: the sqlstore engine on
// modernc.org/sqlite, a pure-Go SQLite, so the binary needs no C toolchain
// and no database server.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating if needed) the database file at path. It does not migrate.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite.Open: %w", err)
		}
	}
	// WAL lets readers run beside the writer; synchronous=FULL because a
	// health record acknowledged to a client must survive a power cut.
	pragmas := []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath() + "?"
	writer, err := sql.Open("sqlite", base+q.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite.Open: %w", err)
	}
	// One writer connection: SQLite allows one writer at a time, and queueing
	// in Go is fairer and cheaper than retrying on SQLITE_BUSY.
	writer.SetMaxOpenConns(1)
	reader, err := sql.Open("sqlite", base+q.Encode()+"&mode=ro")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite.Open: %w", err)
	}
	reader.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)*2))
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("sqlite.Open %s: %w", path, err)
	}
	return sqlstore.New(Dialect(), writer, reader), nil
}

// Dialect describes SQLite to the engine.
func Dialect() sqlstore.Dialect {
	sub, _ := fs.Sub(migrations, "migrations")
	return sqlstore.Dialect{
		Name:              "sqlite",
		IsUniqueViolation: func(err error) bool { return code(err)&0xff == sqlite3.SQLITE_CONSTRAINT },
		IsTransient: func(err error) bool {
			c := code(err) & 0xff
			return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
		},
		Migrations: sub,
	}
}

func code(err error) int {
	var e *sqlitedrv.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// PathFromURL turns "sqlite:./data/mekong.db" or "sqlite:///abs/path.db" into a file path.
func PathFromURL(u string) (string, error) {
	p, ok := strings.CutPrefix(u, "sqlite:")
	if !ok || p == "" {
		return "", fmt.Errorf("sqlite: %q is not a sqlite:PATH URL", u)
	}
	p = strings.TrimPrefix(p, "//")
	return p, nil
}
