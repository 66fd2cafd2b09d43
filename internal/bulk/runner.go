package bulk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Run is the worker loop of `mekong serve`: it purges expired jobs and
// runs queued ones until ctx ends. Every instance runs one; the lease on
// each job keeps two from working on it at once, and a job whose instance
// died is taken over when its lease runs out.
func (s *Service) Run(ctx context.Context) {
	for ctx.Err() == nil {
		ran, err := s.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("bulk worker", slog.String("error", err.Error()))
		}
		if ran {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.cfg.Poll):
		}
	}
}

// RunOnce purges expired jobs, then claims and runs one job; false when
// there was none.
func (s *Service) RunOnce(ctx context.Context) (bool, error) {
	if n, err := s.st.PurgeExpired(ctx, s.now()); err != nil {
		return false, err
	} else if n > 0 {
		s.log.Info("bulk jobs expired", slog.Int("purged", n))
	}
	j, err := s.st.ClaimJob(ctx, s.owner, s.now(), s.cfg.Lease)
	if err != nil || j == nil {
		return false, err
	}
	s.log.Info("bulk job started", slog.String("job", j.ID), slog.String("kind", j.Kind))
	switch j.Kind {
	case "import":
		err = s.runImport(ctx, j)
	case "export":
		err = s.runExport(ctx, j)
	default:
		err = fmt.Errorf("unknown job kind %q", j.Kind)
	}
	switch {
	case errors.Is(err, store.ErrLeaseLost):
		s.log.Info("bulk job stopped: cancelled or taken over", slog.String("job", j.ID))
		return true, nil
	case err != nil && ctx.Err() != nil:
		return true, nil // shutting down: the lease runs out and another instance resumes
	case err != nil:
		s.log.Error("bulk job failed", slog.String("job", j.ID), slog.String("error", err.Error()))
		j.Status, j.Error, j.Expires = store.JobFailed, err.Error(), s.now().Add(s.cfg.Retention)
		if ferr := s.st.FinishJob(ctx, *j, nil, nil); ferr != nil && !errors.Is(ferr, store.ErrLeaseLost) {
			return true, ferr
		}
		s.cfg.Observer.BulkJob(j.Kind, "failed")
		return true, nil
	}
	s.log.Info("bulk job done", slog.String("job", j.ID))
	return true, nil
}

func (s *Service) lease() time.Time { return s.now().Add(s.cfg.Lease) }

func (s *Service) runExport(ctx context.Context, j *store.Job) error {
	var spec ExportSpec
	if err := json.Unmarshal(j.Params, &spec); err != nil {
		return fmt.Errorf("export parameters: %w", err)
	}
	var st ExportState
	if len(j.State) > 0 {
		if err := json.Unmarshal(j.State, &st); err != nil {
			return fmt.Errorf("export state: %w", err)
		}
	}
	ex := &Exporter{Store: s.st, PerFile: s.cfg.PerFile}
	ex.Log, _ = s.st.(store.AuditLog)
	err := ex.Export(ctx, spec, st, func(f store.File, next ExportState) error {
		st = next
		state, _ := fhirjson.Marshal(next)
		return s.st.SaveProgress(ctx, j.ID, s.owner, state, s.lease(), []store.File{f})
	})
	if err != nil {
		return err
	}
	j.Status, j.Expires, j.Owner = store.JobDone, s.now().Add(s.cfg.Retention), s.owner
	j.State, _ = fhirjson.Marshal(st)
	if err := s.st.FinishJob(ctx, *j, nil, nil); err != nil {
		return err
	}
	s.cfg.Observer.BulkJob(j.Kind, "completed")
	s.cfg.Observer.BulkResources(j.Kind, "exported", st.Written)
	return nil
}

func (s *Service) runImport(ctx context.Context, j *store.Job) error {
	var params importParams
	if err := json.Unmarshal(j.Params, &params); err != nil {
		return fmt.Errorf("import parameters: %w", err)
	}
	st := importState{Counts: map[string]Counts{}}
	if len(j.State) > 0 {
		if err := json.Unmarshal(j.State, &st); err != nil {
			return fmt.Errorf("import state: %w", err)
		}
	}
	im := &Importer{Svc: s.svc, Store: s.st, BatchSize: s.cfg.BatchSize, Now: s.now, Agent: params.Agent, MaxUncompressed: s.cfg.MaxUncompressed}
	for ; st.Input < len(params.Inputs); st.Input, st.Line = st.Input+1, 0 {
		in := params.Inputs[st.Input]
		name, r, err := s.openInput(ctx, j.ID, in)
		if err != nil {
			return err
		}
		err = im.Import(ctx, name, r, st.Line, func(b Batch) error {
			next := st
			next.Counts = addCounts(st.Counts, b.Counts)
			next.Line = b.Line
			var files []store.File
			if len(b.Errors) > 0 {
				files = append(files, store.File{Kind: store.FileErrorPart, N: st.ErrParts, Type: "OperationOutcome",
					Count: int64(len(b.Errors)), Content: joinLines(b.Errors)})
				next.ErrParts++
				next.Rejected += int64(len(b.Errors))
			}
			state, _ := fhirjson.Marshal(next)
			if err := s.st.SaveProgress(ctx, j.ID, s.owner, state, s.lease(), files); err != nil {
				return err
			}
			st = next
			return nil
		})
		r.Close()
		if err != nil {
			return err
		}
		if st.Input+1 < len(params.Inputs) {
			next := st
			next.Input, next.Line = st.Input+1, 0
			state, _ := fhirjson.Marshal(next)
			if err := s.st.SaveProgress(ctx, j.ID, s.owner, state, s.lease(), nil); err != nil {
				return err
			}
		}
	}
	// One error file for the job: the parts were committed batch by batch.
	var errFiles []store.File
	if st.ErrParts > 0 {
		var all bytes.Buffer
		var count int64
		for n := range st.ErrParts {
			f, err := s.st.File(ctx, j.ID, store.FileErrorPart, n)
			if err != nil {
				return err
			}
			all.Write(f.Content)
			count += f.Count
		}
		errFiles = append(errFiles, store.File{Kind: store.FileError, N: 0, Type: "OperationOutcome", Count: count, Content: all.Bytes()})
	}
	// Referential integrity, once every input is in: the error file lists
	// what still refers to nothing.
	dangling, err := im.Dangling(ctx, j.TransactionTime)
	if err != nil {
		return err
	}
	if len(dangling) > 0 {
		if len(errFiles) == 0 {
			errFiles = append(errFiles, store.File{Kind: store.FileError, N: 0, Type: "OperationOutcome"})
		}
		errFiles[0].Content = append(errFiles[0].Content, joinLines(dangling)...)
		errFiles[0].Count += int64(len(dangling))
	}
	j.Status, j.Expires, j.Owner = store.JobDone, s.now().Add(s.cfg.Retention), s.owner
	j.State, _ = fhirjson.Marshal(st)
	if err := s.st.FinishJob(ctx, *j, []string{store.FileErrorPart, store.FileInput}, errFiles); err != nil {
		return err
	}
	var imported int64
	for _, c := range st.Counts {
		imported += c.Total()
	}
	s.cfg.Observer.BulkJob(j.Kind, "completed")
	s.cfg.Observer.BulkResources(j.Kind, "imported", imported)
	s.cfg.Observer.BulkResources(j.Kind, "rejected", st.Rejected)
	return nil
}

func addCounts(a, b map[string]Counts) map[string]Counts {
	out := make(map[string]Counts, len(a)+len(b))
	for t, c := range a {
		out[t] = c
	}
	for t, c := range b {
		o := out[t]
		o.Created += c.Created
		o.Updated += c.Updated
		o.Unchanged += c.Unchanged
		out[t] = o
	}
	return out
}

func joinLines(lines [][]byte) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// openInput opens one input: the uploaded parts, read from the database
// one at a time, or the URL, fetched again on each (re)start.
func (s *Service) openInput(ctx context.Context, job string, in importInput) (string, io.ReadCloser, error) {
	if in.Upload {
		parts, err := s.st.Files(ctx, job, store.FileInput)
		if err != nil {
			return "", nil, err
		}
		return "upload", &partsReader{ctx: ctx, st: s.st, job: job, parts: parts}, nil
	}
	if !urlAllowed(in.URL, s.cfg.ImportURLPrefixes) {
		return "", nil, fmt.Errorf("input url %q is no longer under an allowed prefix", in.URL)
	}
	client := *s.cfg.Client
	client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if !urlAllowed(req.URL.String(), s.cfg.ImportURLPrefixes) {
			return fmt.Errorf("redirect to %q leaves the allowed prefixes", req.URL.String())
		}
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL, nil)
	if err != nil {
		return "", nil, err
	}
	req.Header.Set("Accept", "application/fhir+ndjson")
	// Asked for explicitly, gzip is not inflated by the transport behind
	// our back: Decompress does it, within MaxUncompressed.
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("fetching %s: %w", in.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return "", nil, fmt.Errorf("fetching %s: status %s", in.URL, resp.Status)
	}
	return in.URL, resp.Body, nil
}

// partsReader reads an uploaded input part by part.
type partsReader struct {
	ctx   context.Context
	st    store.Jobs
	job   string
	parts []store.File
	cur   *bytes.Reader
}

func (p *partsReader) Read(b []byte) (int, error) {
	for p.cur == nil || p.cur.Len() == 0 {
		if len(p.parts) == 0 {
			return 0, io.EOF
		}
		f, err := p.st.File(p.ctx, p.job, store.FileInput, p.parts[0].N)
		if err != nil {
			return 0, err
		}
		p.parts = p.parts[1:]
		p.cur = bytes.NewReader(f.Content)
	}
	return p.cur.Read(b)
}

func (p *partsReader) Close() error { return nil }
