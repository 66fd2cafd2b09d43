package bulk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mekong-fhir/mekong/internal/auth"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store"
)

// JobStore is what the job service needs of a store.
type JobStore interface {
	BulkStore
	store.Jobs
}

// Config tunes bulk jobs.
type Config struct {
	// Retention is how long a finished job and its files are kept (default 1h).
	Retention time.Duration
	// ImportURLPrefixes are the URL prefixes $import may fetch inputs from;
	// none means URL inputs are refused.
	ImportURLPrefixes []string
	// PerFile is the most resources in one export file (default 10,000).
	PerFile int
	// BatchSize is the import batch (default 1000).
	BatchSize int
	// Lease is how long a claimed job stays with its worker without
	// progress before another may take it over (default 2m).
	Lease time.Duration
	// Poll is how often an idle worker looks for jobs (default 1s).
	Poll time.Duration
	// Client fetches URL inputs (default: 5 minute timeout).
	Client *http.Client
	// MaxUncompressed bounds what one gzip input may expand to (default
	// DefaultMaxUncompressed).
	MaxUncompressed int64
	// Observer hears of jobs and their resources, for metrics; nil hears
	// nothing (*metrics.Metrics implements it).
	Observer Observer
}

// Observer hears what bulk jobs do: kind is "import" or "export"; a job is
// "accepted", then "completed", "failed" or "cancelled"; a completed job's
// resources are "imported", "rejected" or "exported".
type Observer interface {
	BulkJob(kind, outcome string)
	BulkResources(kind, outcome string, n int64)
}

type noObserver struct{}

func (noObserver) BulkJob(string, string)              {}
func (noObserver) BulkResources(string, string, int64) {}

// Service runs the asynchronous bulk interactions
// (https://hl7.org/fhir/R4/async.html): kick-off, status, files, cancel.
// It is independent of HTTP like package rest; the server maps Response.
type Service struct {
	cfg   Config
	st    JobStore
	svc   *rest.Service
	log   *slog.Logger
	owner string
	now   func() time.Time
}

// New returns the bulk service over st, validating with svc.
func New(cfg Config, st JobStore, svc *rest.Service, log *slog.Logger) *Service {
	if cfg.Retention <= 0 {
		cfg.Retention = time.Hour
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Minute}
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	return &Service{cfg: cfg, st: st, svc: svc, log: log, owner: uuid.NewString(), now: time.Now}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Request is a bulk request as the transport sees it.
type Request struct {
	// Base is the service base URL, for status and file URLs.
	Base string
	// URL is the full kick-off URL, echoed in the manifest.
	URL string
	// Async is Prefer: respond-async.
	Async       bool
	Query       map[string][]string
	ContentType string
	Body        io.Reader
}

// Response is a bulk answer: a status, headers and a body.
type Response struct {
	Status      int
	Header      http.Header
	ContentType string
	Body        []byte
}

func requireAsync(r Request) error {
	if !r.Async {
		return outcome.Invalid("bulk operations are asynchronous only: send the header Prefer: respond-async (https://hl7.org/fhir/uv/bulkdata/export.html#headers)")
	}
	return nil
}

func (s *Service) accepted(base, id string) *Response {
	h := http.Header{}
	h.Set("Content-Location", base+"/$bulk-status/"+id)
	return &Response{Status: http.StatusAccepted, Header: h, ContentType: "application/fhir+json",
		Body: outcome.JSON(outcome.Info("bulk job %s accepted; poll its Content-Location for status", id))}
}

// Export kicks off $export (system level) or, with patient, Patient/$export.
func (s *Service) Export(ctx context.Context, r Request, patient bool) (*Response, error) {
	if err := requireAsync(r); err != nil {
		return nil, err
	}
	spec, err := exportParams(r.Query, s.svc.DataTypes(), patient)
	if err != nil {
		return nil, err
	}
	spec.Client = clientOf(ctx)
	if err := checkAuditExport(ctx, spec.Types); err != nil {
		return nil, err
	}
	params, _ := fhirjson.Marshal(spec)
	now := s.now()
	j := store.Job{ID: uuid.NewString(), Kind: "export", Request: r.URL, Params: params, Created: now, TransactionTime: now}
	if err := s.st.CreateJob(ctx, j, nil); err != nil {
		return nil, err
	}
	s.cfg.Observer.BulkJob(j.Kind, "accepted")
	return s.accepted(r.Base, j.ID), nil
}

// uploadPart is the size of the parts an uploaded input is stored in, so
// no single row grows with the upload.
const uploadPart = 4 << 20

// Import kicks off $import: the NDJSON in the body (stored in the database
// so any instance can run the job) or a Parameters resource naming input URLs.
func (s *Service) Import(ctx context.Context, r Request) (*Response, error) {
	if err := requireAsync(r); err != nil {
		return nil, err
	}
	ndjson, err := importKind(r.ContentType)
	if err != nil {
		return nil, err
	}
	var inputs []importInput
	var files []store.File
	if ndjson {
		inputs = []importInput{{Upload: true}}
		for n := 0; ; n++ {
			buf := make([]byte, uploadPart)
			k, err := io.ReadFull(r.Body, buf)
			if k > 0 {
				files = append(files, store.File{Kind: store.FileInput, N: n, Content: buf[:k]})
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil {
				return nil, err
			}
		}
		if len(files) == 0 {
			return nil, outcome.Invalid("the $import body is empty; send NDJSON, one resource per line")
		}
	} else {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		if inputs, err = parametersInputs(body, s.svc.DataTypes(), s.cfg.ImportURLPrefixes); err != nil {
			return nil, err
		}
	}
	ip := importParams{Inputs: inputs}
	if p := auth.FromContext(ctx); p != nil && !p.Unauthenticated {
		ip.Agent = &auth.Principal{Issuer: p.Issuer, Subject: p.Subject, ClientID: p.ClientID,
			Organization: p.Organization, PurposeOfUse: p.PurposeOfUse}
	}
	ip.Client = clientOf(ctx)
	params, _ := fhirjson.Marshal(ip)
	now := s.now()
	j := store.Job{ID: uuid.NewString(), Kind: "import", Request: r.URL, Params: params, Created: now, TransactionTime: now}
	if err := s.st.CreateJob(ctx, j, files); err != nil {
		return nil, err
	}
	s.cfg.Observer.BulkJob(j.Kind, "accepted")
	return s.accepted(r.Base, j.ID), nil
}

type importParams struct {
	Inputs []importInput `json:"inputs"`
	// Agent is the caller who started the job, for the Provenance of what
	// it writes (its identity only, not its scopes).
	Agent *auth.Principal `json:"agent,omitempty"`
	// Client is who kicked the import off (owner.go).
	Client string `json:"client,omitempty"`
}

type importState struct {
	Input    int               `json:"input"`
	Line     int64             `json:"line"`
	Counts   map[string]Counts `json:"counts"`
	Rejected int64             `json:"rejected"`
	ErrParts int               `json:"errParts"`
}

// manifest is the complete-status body
// (https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status).
type manifest struct {
	TransactionTime     string         `json:"transactionTime"`
	Request             string         `json:"request"`
	RequiresAccessToken bool           `json:"requiresAccessToken"`
	Output              []manifestFile `json:"output"`
	Error               []manifestFile `json:"error"`
}

type manifestFile struct {
	Type  string `json:"type"`
	URL   string `json:"url,omitempty"`
	Count int64  `json:"count"`
}

// Status answers a status poll: 202 with X-Progress while the job runs,
// 200 with the manifest when it is done, a 500 OperationOutcome when it failed.
func (s *Service) Status(ctx context.Context, base, id string) (*Response, error) {
	j, err := s.owned(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := checkAuditJob(ctx, j); err != nil {
		return nil, err
	}
	h := http.Header{}
	switch j.Status {
	case store.JobQueued, store.JobRunning:
		h.Set("X-Progress", progress(j))
		h.Set("Retry-After", "2")
		return &Response{Status: http.StatusAccepted, Header: h}, nil
	case store.JobFailed:
		return nil, outcome.New(http.StatusInternalServerError, outcome.CodeException, "the %s job failed: %s", j.Kind, j.Error)
	}
	// Files are served only with a bearer token, like every other route
	// under the FHIR base: they hold patient data.
	m := manifest{TransactionTime: resource.FormatInstant(j.TransactionTime), Request: j.Request, RequiresAccessToken: true,
		Output: []manifestFile{}, Error: []manifestFile{}}
	fileURL := func(kind string, n int) string {
		return base + "/$bulk-file/" + j.ID + "/" + kind + "-" + strconv.Itoa(n) + ".ndjson"
	}
	if j.Kind == "export" {
		files, err := s.st.Files(ctx, j.ID, store.FileOutput)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			m.Output = append(m.Output, manifestFile{Type: f.Type, URL: fileURL(f.Kind, f.N), Count: f.Count})
		}
	} else {
		var st importState
		_ = json.Unmarshal(j.State, &st)
		for _, t := range s.svc.DataTypes() {
			if c, ok := st.Counts[t]; ok {
				m.Output = append(m.Output, manifestFile{Type: t, Count: c.Total()})
			}
		}
	}
	errs, err := s.st.Files(ctx, j.ID, store.FileError)
	if err != nil {
		return nil, err
	}
	for _, f := range errs {
		m.Error = append(m.Error, manifestFile{Type: "OperationOutcome", URL: fileURL(f.Kind, f.N), Count: f.Count})
	}
	body, _ := fhirjson.Marshal(m)
	h.Set("Expires", j.Expires.UTC().Format(http.TimeFormat))
	return &Response{Status: http.StatusOK, Header: h, ContentType: "application/json", Body: body}, nil
}

func progress(j *store.Job) string {
	if j.Status == store.JobQueued || len(j.State) == 0 {
		return "queued"
	}
	if j.Kind == "export" {
		var st ExportState
		_ = json.Unmarshal(j.State, &st)
		return fmt.Sprintf("exported %s in %s", count(st.Written, "resource"), count(int64(st.NextFile), "file"))
	}
	var st importState
	_ = json.Unmarshal(j.State, &st)
	var n int64
	for _, c := range st.Counts {
		n += c.Total()
	}
	return fmt.Sprintf("input %d: %s read, %s stored, %d rejected", st.Input+1, count(st.Line, "line"), count(n, "resource"), st.Rejected)
}

// count is "1 resource", "2 resources".
func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}

// Cancel deletes a job and its files, stopping it at its next batch
// (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-delete-request).
func (s *Service) Cancel(ctx context.Context, id string) (*Response, error) {
	j, err := s.owned(ctx, id)
	if err != nil {
		return nil, err
	}
	kind := j.Kind
	found, err := s.st.DeleteJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, outcome.NotFound("bulk job %q is not known", id)
	}
	s.cfg.Observer.BulkJob(kind, "cancelled")
	return &Response{Status: http.StatusAccepted, ContentType: "application/fhir+json",
		Body: outcome.JSON(outcome.Info("bulk job %s cancelled and its files deleted", id))}, nil
}

// File serves an output or error file of a job, named KIND-N.ndjson.
func (s *Service) File(ctx context.Context, id, name string) (*Response, error) {
	kind, num, ok := strings.Cut(strings.TrimSuffix(name, ".ndjson"), "-")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || (kind != store.FileOutput && kind != store.FileError) || !strings.HasSuffix(name, ".ndjson") {
		return nil, outcome.NotFound("no bulk file %q: files are named output-N.ndjson or error-N.ndjson", name)
	}
	j, err := s.owned(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := checkAuditJob(ctx, j); err != nil {
		return nil, err
	}
	f, err := s.st.File(ctx, id, kind, n)
	if err != nil {
		return nil, err
	}
	return &Response{Status: http.StatusOK, ContentType: "application/fhir+ndjson", Body: f.Content}, nil
}

// checkAuditExport lets only auditors (a scope such as user/AuditEvent.rs)
// export AuditEvents: the log says who looked at whose data.
func checkAuditExport(ctx context.Context, types []string) error {
	if !slices.Contains(types, "AuditEvent") {
		return nil
	}
	if p := auth.FromContext(ctx); p == nil || p.Unauthenticated || (p.Allows("AuditEvent", auth.Read) && p.Allows("AuditEvent", auth.Search)) {
		return nil
	}
	return outcome.New(http.StatusForbidden, outcome.CodeForbidden,
		"exporting AuditEvents needs an auditor scope such as user/AuditEvent.rs")
}

// checkAuditJob applies checkAuditExport to a job's status and files.
func checkAuditJob(ctx context.Context, j *store.Job) error {
	if j.Kind != "export" {
		return nil
	}
	var spec ExportSpec
	if err := json.Unmarshal(j.Params, &spec); err != nil {
		return nil
	}
	return checkAuditExport(ctx, spec.Types)
}
