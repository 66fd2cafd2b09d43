// Package store defines Mekong's storage contract: versioned FHIR resources
// with their search index rows, written atomically. Two implementations
// (PostgreSQL and the embedded SQLite database) share one engine in sqlstore
// and are held to one contract suite in storetest.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mekong-fhir/mekong/fhir/search"
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
	// IfNoneExist makes a create conditional
	// (https://hl7.org/fhir/R4/http.html#ccreate): when it matches one
	// resource nothing is written and that resource is returned; several
	// matches are 412.
	IfNoneExist *search.Query
	// Match makes an update or delete conditional
	// (https://hl7.org/fhir/R4/http.html#cond-update): the store resolves the
	// id inside the transaction. No match: an update creates ID, a delete does
	// nothing; one match: that resource (an update whose ID is set must name
	// it); several: 412.
	Match *search.Query
	// Access, when set, restricts this write instead of the context's
	// Access: the writes of one transaction batch may each come with what
	// their own entry's action grants.
	Access *Access
	// CreateID is the id a conditional update creates when nothing matches
	// and ID (the body's id) is empty.
	CreateID string
	// Render produces the content of the new version once the store knows its
	// id, number and time. It is called inside the transaction and must be cheap.
	Render func(id string, versionID int64, lastUpdated time.Time) []byte
	// Index holds the search index rows of the new version.
	Index *search.Index
	// Record, when set, returns the writes that record this one (its
	// Provenance and AuditEvent). The store makes them in the same
	// transaction, right after this write and only when it wrote a version,
	// so a committed version always has its records and a rolled-back one
	// leaves none. prior is the content of the version a delete replaced
	// (nil otherwise), so the records of a delete can keep its labels.
	Record func(v *Version, prior []byte) ([]Write, error)
	// Unqueued leaves a Patient version out of the identity linker's queue
	// (see Identity): set only on the linker's own writes of the links it
	// maintains, which need no second look.
	Unqueued bool
	// Audit, when set on a write a Record or Records hook returns, makes it
	// an entry of the audit log instead of a resource: the store appends it
	// to the log (AuditLog) in the same transaction, so the record of a
	// write commits with it. Type, ID and the rest are then ignored.
	Audit *AuditRecord
	// Records, when set, records several writes at once: the writes of one
	// batch that share a *Records are given to its Make together, once
	// their versions are known and after each one's own Record, in the
	// same transaction (one Provenance for a transaction's writes, whose
	// target is 1..*, instead of one per write).
	Records *Records
}

// Records is a record hook shared by the writes of a batch (Write.Records).
type Records struct {
	// Make returns the writes that record vs; priors[i] is the content the
	// delete of vs[i] replaced (nil otherwise).
	Make func(vs []*Version, priors [][]byte) ([]Write, error)
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
	// Exclude leaves these types out of a system-level history.
	Exclude []string
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
	// Search finds resources (https://hl7.org/fhir/R4/search.html).
	Search(ctx context.Context, q *search.Query) (*SearchResult, error)
	// Compartment pages through the live resources of one compartment
	// (https://hl7.org/fhir/R4/compartmentdefinition.html), e.g. everything
	// of one patient.
	Compartment(ctx context.Context, q CompartmentQuery) (*CompartmentPage, error)
	// Transaction runs fn's reads and writes in one database transaction:
	// all or nothing. fn may run more than once (on a retryable conflict).
	Transaction(ctx context.Context, fn func(Tx) error) error
	// Ping checks the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// SearchResult is one page of a search.
type SearchResult struct {
	// Matches are the page's resources, in order.
	Matches []Version
	// Included are resources added by _include and _revinclude.
	Included []Version
	// Total is the number of matches, or -1 when not counted.
	Total int
	// Next and Prev are opaque cursors of the adjacent pages ("" when none).
	Next, Prev string
	// Warnings describe limits applied (e.g. includes capped).
	Warnings []string
}

// CompartmentQuery selects the live resources of one compartment: the focal
// resource itself and every resource whose listed reference parameters
// point at it. Pages go through the members in order, each in id order.
type CompartmentQuery struct {
	// Type and ID name the focal resource ("Patient", "p1").
	Type, ID string
	// Also are more focal resources of Type whose compartments are read
	// as one with ID's (the other Patients of a linked set).
	Also []string
	// Members are the types to return, in page order; the focal type's
	// entry also returns the focal resource.
	Members []search.CompartmentMember
	// Since keeps only resources last updated at or after it (zero: all).
	Since time.Time
	// Count is the page size; 0 returns no resources, only the Total.
	Count int
	// Cursor continues after a previous page (its Next); it is bound to the
	// rest of the query.
	Cursor string
	// Total asks for the number of resources on all pages. It is counted
	// on the first page and carried by the cursor, so it is a snapshot:
	// writes made while a client pages do not change it.
	Total bool
}

// CompartmentPage is one page of a compartment.
type CompartmentPage struct {
	Resources []Version
	// Total counts all pages' resources, or is -1 when not asked for.
	Total int
	// Next is the cursor of the following page ("" when this is the last).
	Next string
}

// Tx is the store inside a transaction.
type Tx interface {
	Read(ctx context.Context, typ, id string) (*Version, error)
	Write(ctx context.Context, w Write) (*Result, error)
	// WriteBatch performs ws as one step of the transaction, in a fixed
	// number of statements whatever len(ws), and returns their results in
	// order. Each write has Write's checks and outcomes, except that
	// conditional criteria (IfNoneExist, Match) are all resolved against the
	// state before the batch, as a FHIR transaction resolves them
	// (https://hl7.org/fhir/R4/http.html#trules), and two writes resolving
	// to one resource are refused (400). The first failure is returned as a
	// *BatchError naming the write; the transaction must then be abandoned.
	WriteBatch(ctx context.Context, ws []Write) ([]*Result, error)
	// Match returns up to limit ids of live resources matching q.
	Match(ctx context.Context, q *search.Query, limit int) ([]string, error)
	// LockMatch takes the locks of all of qs's criteria (each a single-type
	// query), in one order for every writer, then returns up to two ids of
	// live resources matching each: a transaction's conditional entries
	// resolved in one step, identical criteria once.
	LockMatch(ctx context.Context, qs []*search.Query) ([][]string, error)
	// Lock takes the lock conditional writes on typ and q's criteria hold,
	// until the transaction ends.
	Lock(ctx context.Context, typ string, q *search.Query) error
}

// BatchError is the failure of one write of a WriteBatch.
type BatchError struct {
	Index int // position of the failed write in the batch
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("write %d of the batch: %v", e.Index, e.Err) }

func (e *BatchError) Unwrap() error { return e.Err }

// ErrRetry, returned from a Transaction's function, makes the store run the
// function again: what it read changed under it (a concurrent create).
var ErrRetry = errors.New("store: concurrent change, retry")
