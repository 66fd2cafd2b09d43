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

// Options tune the embedded database.
type Options struct {
	// Synchronous is SQLite's synchronous pragma: FULL (default: an
	// acknowledged write survives a power cut), NORMAL (survives a crash of
	// Mekong, not of the machine) or OFF (tests only).
	Synchronous string
}

// Open opens (creating if needed) the database file at path with the default
// options. It does not migrate.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith opens the database file at path with opts.
func OpenWith(ctx context.Context, path string, opts Options) (*sqlstore.DB, error) {
	sync := strings.ToUpper(opts.Synchronous)
	switch sync {
	case "":
		sync = "FULL"
	case "FULL", "NORMAL", "OFF":
	default:
		return nil, fmt.Errorf("sqlite: synchronous=%q is not FULL, NORMAL or OFF", opts.Synchronous)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite.Open: %w", err)
		}
	}
	// WAL lets readers run beside the writer; synchronous=FULL because a
	// health record acknowledged to a client must survive a power cut.
	pragmas := []string{"journal_mode(WAL)", "synchronous(" + sync + ")", "busy_timeout(10000)", "foreign_keys(1)"}
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
	// Every reader connection stays open: database/sql keeps 2 idle by
	// default, so under concurrent reads the others were closed after each
	// use and opened again (its pragmas parsed, its prepared statements
	// lost): 15% of the CPU of audited reads with 32 clients.
	readers := max(4, runtime.GOMAXPROCS(0)*2)
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
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
		Explain:    "EXPLAIN QUERY PLAN ",
		Instr:      "instr",
		// modernc.org/sqlite parses every statement it is not asked to
		// prepare: a read by id is prepared once per connection instead.
		PrepareReads: true,
	}
}

func code(err error) int {
	var e *sqlitedrv.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// ParseURL reads "sqlite:./data/mekong.db", "sqlite:///abs/path.db" and an
// optional "?synchronous=NORMAL".
func ParseURL(u string) (string, Options, error) {
	p, ok := strings.CutPrefix(u, "sqlite:")
	if !ok || p == "" {
		return "", Options{}, fmt.Errorf("sqlite: %q is not a sqlite:PATH URL", u)
	}
	p = strings.TrimPrefix(p, "//")
	var opts Options
	if path, query, has := strings.Cut(p, "?"); has {
		p = path
		q, err := url.ParseQuery(query)
		if err != nil {
			return "", opts, fmt.Errorf("sqlite: %q: %w", u, err)
		}
		for k := range q {
			if k != "synchronous" {
				return "", opts, fmt.Errorf("sqlite: unknown option %q in %q (known: synchronous)", k, u)
			}
		}
		opts.Synchronous = q.Get("synchronous")
	}
	return p, opts, nil
}
