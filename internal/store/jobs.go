package store

import (
	"context"
	"errors"
	"time"
)

// Job is an asynchronous bulk request
// (https://hl7.org/fhir/R4/async.html). Its state lives in the database so
// that any gateway instance can report on it, and one whose lease has run
// out is taken over by another.
type Job struct {
	ID   string
	Kind string // "import" or "export"
	// Status is JobQueued, JobRunning, JobDone or JobFailed.
	Status string
	// Request is the kick-off URL, for the manifest.
	Request string
	// Params are the kick-off parameters (JSON, owned by the bulk package).
	Params []byte
	// State is the progress committed so far (JSON, owned by the bulk package).
	State           []byte
	Error           string
	Created         time.Time
	TransactionTime time.Time
	// Expires is when a finished job and its files are purged (zero while running).
	Expires time.Time
	// Owner holds the lease until LeaseUntil.
	Owner      string
	LeaseUntil time.Time
}

// Job statuses.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// File is a stored bulk file: an uploaded input part, an output file or an
// error file of a job.
type File struct {
	Job  string
	Kind string // FileInput, FileOutput, FileError or FileErrorPart
	N    int
	// Type is the resource type of the file's lines.
	Type  string
	Count int64
	// Content is nil when listing.
	Content []byte
}

// File kinds.
const (
	FileInput     = "input"
	FileOutput    = "output"
	FileError     = "error"
	FileErrorPart = "errpart"
)

// Jobs stores bulk jobs and their files.
type Jobs interface {
	// CreateJob stores a queued job with its input files, in one transaction.
	CreateJob(ctx context.Context, j Job, inputs []File) error
	// Job returns a job (outcome 404 when absent).
	Job(ctx context.Context, id string) (*Job, error)
	// ClaimJob leases the oldest queued or running job whose lease has
	// expired to owner until now+lease; nil when there is none.
	ClaimJob(ctx context.Context, owner string, now time.Time, lease time.Duration) (*Job, error)
	// SaveProgress stores state and files and renews the lease, in one
	// transaction. ErrLeaseLost when owner no longer holds the job (it was
	// cancelled or taken over).
	SaveProgress(ctx context.Context, id, owner string, state []byte, leaseUntil time.Time, files []File) error
	// FinishJob sets a final status, state and expiry, replacing files of
	// the kinds in drop with files, in one transaction. ErrLeaseLost as above.
	FinishJob(ctx context.Context, j Job, drop []string, files []File) error
	// DeleteJob removes a job and its files; false when there was none.
	DeleteJob(ctx context.Context, id string) (bool, error)
	// Files lists a job's files of one kind in order, without content.
	Files(ctx context.Context, job, kind string) ([]File, error)
	// File returns one file with its content (outcome 404 when absent).
	File(ctx context.Context, job, kind string, n int) (*File, error)
	// PurgeExpired deletes finished jobs that expired before now, with their files.
	PurgeExpired(ctx context.Context, now time.Time) (int, error)
}

// ErrLeaseLost means a job is no longer the caller's to work on.
var ErrLeaseLost = errors.New("store: job lease lost (cancelled or taken over)")
