package store

import (
	"context"
	"errors"
	"time"

	"github.com/mekong-fhir/mekong/fhir/search"
)

// NewResource is a resource created by a bulk load: version 1, with its
// content already rendered and its index already extracted.
type NewResource struct {
	Type, ID    string
	Tenant      string
	LastUpdated time.Time
	Content     []byte
	Index       *search.Index
	// Unqueued leaves a Patient out of the identity queue (as Write.Unqueued).
	Unqueued bool
}

// Bulk is the batch contract of bulk import and export
// (https://hl7.org/fhir/uv/bulkdata/export.html). Both stores implement it;
// storetest holds them to it.
type Bulk interface {
	// Existing returns the current versions (live or deleted) of those of
	// ids that exist, keyed by id: one query for the whole batch.
	Existing(ctx context.Context, typ string, ids []string) (map[string]*Version, error)
	// LoadNew writes resources known to be absent in one transaction: all
	// or nothing. An id that exists after all (or a deadlock with a
	// concurrent writer of the same ids) fails the whole call with an
	// error for which IsDuplicate is true.
	LoadNew(ctx context.Context, batch []NewResource) error
	// ExportPage returns up to limit live resources of q.Type in id order
	// after q.After, with their stored bytes.
	ExportPage(ctx context.Context, q ExportQuery, limit int) ([]Version, error)
}

// ExportQuery selects the resources of one type an export writes.
type ExportQuery struct {
	Type string
	// Since keeps resources whose current version was written at or after it.
	Since time.Time
	// After continues in id order.
	After string
	// CompartmentParams, when set, keeps only resources with a reference
	// search parameter of these names pointing at a Patient (the patient
	// compartment, https://hl7.org/fhir/R4/compartmentdefinition-patient.html).
	CompartmentParams []string
}

// ErrDuplicate marks a bulk load that met an id that already exists.
var ErrDuplicate = errors.New("store: bulk load met an existing id")

// IsDuplicate reports a LoadNew that failed on an existing id.
func IsDuplicate(err error) bool { return errors.Is(err, ErrDuplicate) }
