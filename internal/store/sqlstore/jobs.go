package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Bulk jobs and their files (store.Jobs). A lease (owner, lease_until) says
// which instance works on a job; every progress write checks it, so a
// cancelled job or one taken over after a lease ran out stops its old
// worker at its next batch.

const jobCols = `id, kind, status, request, params, state, error, created, transaction_time, expires, owner, lease_until`

func scanJob(s scanner) (*store.Job, error) {
	var j store.Job
	var created, tt, exp, lease int64
	if err := s.Scan(&j.ID, &j.Kind, &j.Status, &j.Request, &j.Params, &j.State, &j.Error, &created, &tt, &exp, &j.Owner, &lease); err != nil {
		return nil, err
	}
	j.Created, j.TransactionTime, j.LeaseUntil = fromMicros(created), fromMicros(tt), fromMicros(lease)
	if exp != 0 {
		j.Expires = fromMicros(exp)
	}
	return &j, nil
}

// CreateJob implements store.Jobs.
func (db *DB) CreateJob(ctx context.Context, j store.Job, inputs []store.File) error {
	return db.inTx(ctx, "sqlstore.CreateJob", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, rebind(db.d, `INSERT INTO bulk_jobs (`+jobCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			j.ID, j.Kind, store.JobQueued, j.Request, j.Params, j.State, "", toMicros(j.Created), toMicros(j.TransactionTime), int64(0), "", int64(0))
		if err != nil {
			return fmt.Errorf("sqlstore.CreateJob: %w", err)
		}
		return db.putFiles(ctx, tx, j.ID, inputs)
	})
}

func (db *DB) putFiles(ctx context.Context, tx *sql.Tx, job string, files []store.File) error {
	// Upsert, so a batch re-run after a crash rewrites its error part
	// instead of adding a second copy.
	q := rebind(db.d, `INSERT INTO bulk_files (job_id, kind, n, res_type, count, content) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (job_id, kind, n) DO UPDATE SET res_type = excluded.res_type, count = excluded.count, content = excluded.content`)
	for _, f := range files {
		if _, err := tx.ExecContext(ctx, q, job, f.Kind, f.N, f.Type, f.Count, f.Content); err != nil {
			return fmt.Errorf("sqlstore: bulk file: %w", err)
		}
	}
	return nil
}

// Job implements store.Jobs.
func (db *DB) Job(ctx context.Context, id string) (*store.Job, error) {
	j, err := scanJob(db.r.QueryRowContext(ctx, rebind(db.d, `SELECT `+jobCols+` FROM bulk_jobs WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, outcome.NotFound("bulk job %q is not known (finished jobs are removed once they expire)", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore.Job: %w", err)
	}
	return j, nil
}

// ClaimJob implements store.Jobs. The candidate is read first, then taken
// with an UPDATE that re-checks the lease: of two instances racing for one
// job exactly one updates a row.
func (db *DB) ClaimJob(ctx context.Context, owner string, now time.Time, lease time.Duration) (*store.Job, error) {
	for range 3 {
		var id string
		err := db.w.QueryRowContext(ctx, rebind(db.d, `SELECT id FROM bulk_jobs WHERE status IN (?, ?) AND lease_until < ?
			ORDER BY created LIMIT 1`), store.JobQueued, store.JobRunning, toMicros(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("sqlstore.ClaimJob: %w", err)
		}
		r, err := db.w.ExecContext(ctx, rebind(db.d, `UPDATE bulk_jobs SET owner = ?, lease_until = ?, status = ?
			WHERE id = ? AND status IN (?, ?) AND lease_until < ?`),
			owner, toMicros(now.Add(lease)), store.JobRunning, id, store.JobQueued, store.JobRunning, toMicros(now))
		if err != nil {
			return nil, fmt.Errorf("sqlstore.ClaimJob: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 1 {
			return db.Job(ctx, id)
		}
	}
	return nil, nil
}

// SaveProgress implements store.Jobs.
func (db *DB) SaveProgress(ctx context.Context, id, owner string, state []byte, leaseUntil time.Time, files []store.File) error {
	return db.inTx(ctx, "sqlstore.SaveProgress", func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, rebind(db.d, `UPDATE bulk_jobs SET state = ?, lease_until = ? WHERE id = ? AND owner = ? AND status = ?`),
			state, toMicros(leaseUntil), id, owner, store.JobRunning)
		if err != nil {
			return fmt.Errorf("sqlstore.SaveProgress: %w", err)
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return store.ErrLeaseLost
		}
		return db.putFiles(ctx, tx, id, files)
	})
}

// FinishJob implements store.Jobs.
func (db *DB) FinishJob(ctx context.Context, j store.Job, drop []string, files []store.File) error {
	return db.inTx(ctx, "sqlstore.FinishJob", func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, rebind(db.d, `UPDATE bulk_jobs SET status = ?, state = ?, error = ?, expires = ?, lease_until = ?
			WHERE id = ? AND owner = ? AND status = ?`),
			j.Status, j.State, j.Error, toMicros(j.Expires), int64(0), j.ID, j.Owner, store.JobRunning)
		if err != nil {
			return fmt.Errorf("sqlstore.FinishJob: %w", err)
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return store.ErrLeaseLost
		}
		if len(drop) > 0 {
			args := []any{j.ID}
			for _, k := range drop {
				args = append(args, k)
			}
			if _, err := tx.ExecContext(ctx, rebind(db.d, `DELETE FROM bulk_files WHERE job_id = ? AND kind IN (?`+strings.Repeat(", ?", len(drop)-1)+`)`), args...); err != nil {
				return fmt.Errorf("sqlstore.FinishJob: %w", err)
			}
		}
		return db.putFiles(ctx, tx, j.ID, files)
	})
}

// DeleteJob implements store.Jobs.
func (db *DB) DeleteJob(ctx context.Context, id string) (bool, error) {
	var found bool
	err := db.inTx(ctx, "sqlstore.DeleteJob", func(tx *sql.Tx) error {
		// Files first: SQLite enforces the foreign key only with the pragma on.
		if _, err := tx.ExecContext(ctx, rebind(db.d, `DELETE FROM bulk_files WHERE job_id = ?`), id); err != nil {
			return fmt.Errorf("sqlstore.DeleteJob: %w", err)
		}
		r, err := tx.ExecContext(ctx, rebind(db.d, `DELETE FROM bulk_jobs WHERE id = ?`), id)
		if err != nil {
			return fmt.Errorf("sqlstore.DeleteJob: %w", err)
		}
		n, _ := r.RowsAffected()
		found = n == 1
		return nil
	})
	return found, err
}

// Files implements store.Jobs.
func (db *DB) Files(ctx context.Context, job, kind string) ([]store.File, error) {
	rows, err := db.r.QueryContext(ctx, rebind(db.d, `SELECT n, res_type, count FROM bulk_files WHERE job_id = ? AND kind = ? ORDER BY n`), job, kind)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.Files: %w", err)
	}
	defer rows.Close()
	var out []store.File
	for rows.Next() {
		f := store.File{Job: job, Kind: kind}
		if err := rows.Scan(&f.N, &f.Type, &f.Count); err != nil {
			return nil, fmt.Errorf("sqlstore.Files: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// File implements store.Jobs.
func (db *DB) File(ctx context.Context, job, kind string, n int) (*store.File, error) {
	f := &store.File{Job: job, Kind: kind, N: n}
	err := db.r.QueryRowContext(ctx, rebind(db.d, `SELECT res_type, count, content FROM bulk_files WHERE job_id = ? AND kind = ? AND n = ?`),
		job, kind, n).Scan(&f.Type, &f.Count, &f.Content)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, outcome.NotFound("bulk file %s %d of job %q is not known (files are removed when their job expires or is deleted)", kind, n, job)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore.File: %w", err)
	}
	return f, nil
}

// PurgeExpired implements store.Jobs.
func (db *DB) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	rows, err := db.w.QueryContext(ctx, rebind(db.d, `SELECT id FROM bulk_jobs WHERE expires <> 0 AND expires < ?`), toMicros(now))
	if err != nil {
		return 0, fmt.Errorf("sqlstore.PurgeExpired: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlstore.PurgeExpired: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		if _, err := db.DeleteJob(ctx, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
