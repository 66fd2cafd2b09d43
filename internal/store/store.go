// Package store defines Mekong's storage contract: versioned FHIR resources
// with their search index rows, written atomically. Two implementations
// (PostgreSQL and the embedded SQLite database) share one engine in sqlstore
// and are held to one contract suite in storetest.
package store

import (
	"context"
	"time"
)

// Method records how a version came to be, for history entries.
type Method string

// Methods of a version (https://hl7.org/fhir/R4/http.html#history: request.method).
const (
	MethodPost   Method = "POST"
	MethodPut    Method = "PUT"
	MethodPatch  Method = "PATCH"
	MethodDelete Method = "DELETE"
)

// Version is one stored version of a resource.
type Version struct {
	Type        string
	ID          string
	VersionID   int64
	LastUpdated time.Time
	Method      Method
	Deleted     bool
	// Content is the resource JSON exactly as served; nil for a delete.
	Content []byte
	// Seq orders all versions of the database; it is the history cursor.
	Seq int64
}

// Token is one token index value, e.g. an Identifier's system and value.
type Token struct {
	Param  string
	System string
	Code   string
}

// TokenMatch is one token search value (https://hl7.org/fhir/R4/search.html#token).
type TokenMatch struct {
	// AnySystem matches Code in any system ("code"); otherwise System must be
	// equal, "" meaning no system ("|code").
	AnySystem bool
	System    string
	// AnyCode matches every code of System ("system|").
	AnyCode bool
	Code    string
}

// Condition is a conjunction of criteria on one resource type, as used by
// conditional create. Values inside one criterion are ORed.
type Condition struct {
	// Canonical is a normalised rendering of the criteria; equal criteria give
	// equal strings, so it keys the lock that makes conditional create atomic.
	Canonical string
	IDs       []string
	Tokens    map[string][]TokenMatch
}

// Write is one create, update or delete.
type Write struct {
	Type   string
	ID     string
	Method Method
	// Tenant is the owning source or organization of the data ("" when none).
	Tenant string
	// IfMatch, when non-zero, is the version the current one must be (412 otherwise).
	IfMatch int64
	// IfNoneMatch makes a PUT create-only (412 when the resource exists).
	IfNoneMatch bool
	// IfNoneExist makes a create conditional: when it matches one resource
	// nothing is written and that resource is returned.
	IfNoneExist *Condition
	// Render produces the content of the new version once the store knows its
	// number and time. It is called inside the transaction and must be cheap.
	Render func(versionID int64, lastUpdated time.Time) []byte
	// Tokens are the search index rows of the new version.
	Tokens []Token
}

// Outcome says what a Write did.
type Outcome int

// Write outcomes.
const (
	Created   Outcome = iota + 1 // a new resource (version 1, or a re-creation after delete)
	Updated                      // a new version of a live resource
	Deleted                      // a delete version was written
	Unchanged                    // nothing written: delete of a missing or deleted resource, or If-None-Exist matched
)

// Result is the outcome of a Write and the version it concerns (nil for a
// delete of something that never existed).
type Result struct {
	Outcome Outcome
	Version *Version
}

// HistoryQuery selects versions newest first.
type HistoryQuery struct {
	Type  string // "" for the whole system
	ID    string // "" for a type or the system
	Since time.Time
	Count int
	// Before continues a page: only versions with Seq < Before.
	Before int64
}

// HistoryPage is one page of history; Next is the cursor of the following page, 0 when none.
type HistoryPage struct {
	Versions []Version
	Next     int64
}

// Store is the storage contract.
type Store interface {
	// Read returns the current version; a deleted resource comes back with
	// Deleted set. A resource that never existed is an outcome 404.
	Read(ctx context.Context, typ, id string) (*Version, error)
	// VRead returns one version (outcome 404 when absent).
	VRead(ctx context.Context, typ, id string, versionID int64) (*Version, error)
	// Write performs one write atomically.
	Write(ctx context.Context, w Write) (*Result, error)
	// History lists versions newest first.
	History(ctx context.Context, q HistoryQuery) (*HistoryPage, error)
	// Ping checks the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
