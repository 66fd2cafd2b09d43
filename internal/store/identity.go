package store

import (
	"context"
	"time"
)

// Identity storage: what links the records of one person across sources
// (issue 11). Three things live here:
//
//   - Blocking keys. They are search index rows of the internal token
//     parameter MatchKeyParam on each Patient, written with the rest of its
//     index in the write's own transaction, so they are replaced and cleared
//     with it and hidden from whoever may not see the Patient. No client
//     search parameter has that name, so they are not searchable over the API.
//   - Pair decisions (identity_pairs): for two Patients, linked, queued for
//     review, or decided distinct, automatically or by a steward.
//   - The linker's queue (identity_queue): every version of a Patient the
//     store writes, by any path (single writes, batches, bulk loads), adds a
//     row in the same transaction, so no write escapes the linker and any
//     gateway instance may work the queue.

// LinkedType is the resource type the identity linker follows.
const LinkedType = "Patient"

// MatchKeyParam is the internal token parameter holding a Patient's
// blocking keys (code = the key, system empty).
const MatchKeyParam = "_matchkey"

// Pair states.
const (
	PairLinked   = "linked"   // one person: the Patients are in one linked set
	PairReview   = "review"   // the engine found a probable match: a steward decides
	PairDistinct = "distinct" // a steward decided they are different people
)

// Pair is the decision about two Patients. A < B always.
type Pair struct {
	A, B  string
	State string
	// Manual marks a steward's decision; the engine never changes it.
	Manual bool
	// Score and Grade are the matcher's, when it compared the two.
	Score float64
	Grade string
	// Evidence is the matcher's evidence as JSON (it names names and
	// identifiers: returned to authorised callers only, never logged).
	Evidence []byte
	// Note says why the engine queued a pair it would have linked (a
	// steward's decision stands in the way, the set would grow too large).
	Note string
	// Reason and Actor are a steward's: why, and who.
	Reason, Actor string
	// VersionA and VersionB are the versions compared (0 when not compared).
	VersionA, VersionB int64
	Updated            time.Time
}

// PairKey orders two ids as a Pair holds them.
func PairKey(x, y string) (a, b string) {
	if x < y {
		return x, y
	}
	return y, x
}

// Other returns the member of p that is not id.
func (p *Pair) Other(id string) string {
	if p.A == id {
		return p.B
	}
	return p.A
}

// CandidateQuery bounds a blocking lookup.
type CandidateQuery struct {
	// Keys are looked up in order (most selective first).
	Keys []string
	// PerKey caps the Patients taken from one key: a key shared by more
	// (a common name in a common year) is a mega-block and is skipped.
	PerKey int
	// Limit caps the candidates returned.
	Limit int
	// Exclude leaves these ids out (the probe itself).
	Exclude []string
	// VersionsOnly returns the candidates' ids and version numbers without
	// their content, for callers that keep what they compare cached.
	VersionsOnly bool
}

// Candidates are the live Patients sharing a key with a probe.
type Candidates struct {
	Versions []Version
	// Skipped counts keys left out because they matched more than PerKey
	// Patients; Truncated is set when Limit cut the candidates.
	Skipped   int
	Truncated bool
}

// ReviewQuery selects a page of pairs waiting for review, best score first.
type ReviewQuery struct {
	// Patient, when set, keeps the pairs of that Patient.
	Patient string
	Count   int
	// Cursor continues after a previous page (its Next).
	Cursor string
	// Total asks for the number of pairs on all pages.
	Total bool
}

// ReviewPage is one page of the review queue.
type ReviewPage struct {
	Pairs []Pair
	// Total is -1 when not asked for.
	Total int
	Next  string
}

// QueueItem is a Patient written since the linker last looked at it.
type QueueItem struct {
	Seq int64
	ID  string
}

// Identity is implemented by stores that keep identity links (both do).
// Reads take the caller's store.Access from the context like every read.
type Identity interface {
	// MatchCandidates returns the live Patients visible to the caller that
	// carry any of q.Keys, with their content.
	MatchCandidates(ctx context.Context, q CandidateQuery) (*Candidates, error)
	// MatchCandidatesBatch is MatchCandidates for several probes at once
	// (the linker's batch), in a fixed number of statements.
	MatchCandidatesBatch(ctx context.Context, qs []CandidateQuery) ([]*Candidates, error)
	// Patients returns the current versions of the live Patients of ids
	// visible to the caller, in the order of ids.
	Patients(ctx context.Context, ids []string) ([]Version, error)
	// LinkedComponent returns the live Patients linked to id, directly or
	// through others (id first, then in id order), at most limit; it does
	// not apply the caller's Access (the caller filters).
	LinkedComponent(ctx context.Context, id string, limit int) ([]string, error)
	// PairsOf returns every pair that has one of ids as a member.
	PairsOf(ctx context.Context, ids []string) ([]Pair, error)
	// ReviewQueue pages through pairs in state review whose two Patients
	// are live and visible to the caller.
	ReviewQueue(ctx context.Context, q ReviewQuery) (*ReviewPage, error)
	// Queued returns up to limit of the oldest queue items.
	Queued(ctx context.Context, limit int) ([]QueueItem, error)
	// Backlog counts the queue items.
	Backlog(ctx context.Context) (int, error)
	// KeyVersion records the version of the matcher's blocking keys. When
	// another version was recorded before, every live Patient is queued
	// once (in the same transaction), so the linker makes their keys again;
	// it returns how many were queued.
	KeyVersion(ctx context.Context, version string) (int, error)
}

// IdentityTx is the identity storage inside a store transaction (a Tx of
// the stores implements it), so a linking decision and the Patient
// versions that show it commit together.
type IdentityTx interface {
	// LockIdentity serialises identity decisions: one transaction at a
	// time, across gateway instances, until this one ends.
	LockIdentity(ctx context.Context) error
	// TakeQueued deletes the queue items of seqs and returns those that
	// were still there (another worker may have taken the rest).
	TakeQueued(ctx context.Context, seqs []int64) ([]int64, error)
	// PairsOf sees the transaction's own changes.
	PairsOf(ctx context.Context, ids []string) ([]Pair, error)
	// SavePairs inserts or replaces pairs.
	SavePairs(ctx context.Context, ps []Pair) error
	// DeletePairs removes pairs (each given as A < B).
	DeletePairs(ctx context.Context, keys [][2]string) error
	// Current returns the current versions of the live Patients of ids
	// (with their content when content is set), whoever asks: the
	// identity transaction works for the server.
	Current(ctx context.Context, ids []string, content bool) ([]Version, error)
	// SetMatchKeys replaces the blocking keys of a live Patient (keys of an
	// older engine version, or data stored before keys existed).
	SetMatchKeys(ctx context.Context, id string, keys []string) error
	// MatchKeys returns the stored blocking keys of ids.
	MatchKeys(ctx context.Context, ids []string) (map[string][]string, error)
}
