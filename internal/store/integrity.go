package store

import (
	"context"
	"time"
)

// Dangling is a local reference of a live resource to one that does not
// exist or is deleted.
type Dangling struct {
	// Type and ID name the referring resource.
	Type, ID string
	// Param is the reference search parameter the reference is indexed
	// under (the first in code order when several index it).
	Param string
	// TargetType and TargetID are what it refers to.
	TargetType, TargetID string
}

// Integrity finds dangling references after a bulk load, where the order
// of a file cannot be relied on and references are checked at the end
// (rest checks every other write as it happens).
type Integrity interface {
	// DanglingReferences returns up to limit indexed local references to
	// targetTypes, of live resources of types last updated at or after
	// since, whose target names no live resource; ordered by the referring
	// resource. It reads every resource (no Access restriction): it serves
	// a job, not a client's request.
	DanglingReferences(ctx context.Context, types, targetTypes []string, since time.Time, limit int) ([]Dangling, error)
}
