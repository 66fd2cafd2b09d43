package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

// errRetry asks Write to run the transaction again: another writer created
// or changed the resource between our read and our write.
var errRetry = store.ErrRetry

const maxAttempts = 5

// Write implements store.Store. Concurrent writers of one resource are
// serialised by the row lock (PostgreSQL) or the single writer (SQLite); a
// writer that loses a race to create the row retries, so no version is ever
// lost or duplicated, and an If-Match writer that loses gets 412.
func (db *DB) Write(ctx context.Context, w store.Write) (*store.Result, error) {
	for attempt := 1; ; attempt++ {
		res, err := db.writeOnce(ctx, w)
		if err == nil {
			return res, nil
		}
		retry := errors.Is(err, errRetry) || (db.d.IsTransient != nil && db.d.IsTransient(err))
		if !retry {
			return nil, err
		}
		if attempt == maxAttempts {
			return nil, outcome.Conflict("%s/%s is being changed by other requests; try again", w.Type, w.ID)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func (db *DB) writeOnce(ctx context.Context, w store.Write) (*store.Result, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.Write: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	res, err := db.writeIn(ctx, tx, w)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlstore.Write: commit: %w", err)
	}
	return res, nil
}

// writeIn performs one write inside tx, which the caller commits.
func (db *DB) writeIn(ctx context.Context, tx *sql.Tx, w store.Write) (*store.Result, error) {
	if w.IfNoneExist != nil {
		res, err := db.ifNoneExist(ctx, tx, w)
		if err != nil || res != nil {
			return res, err
		}
	}

	if w.Match != nil {
		id, err := db.resolveMatch(ctx, tx, w)
		if err != nil {
			return nil, err
		}
		if id == "" { // conditional delete with no match
			return &store.Result{Outcome: store.Unchanged}, nil
		}
		w.ID = id
	}

	var (
		curVersion, curUpdated int64
		curDeleted             bool
		found                  = true
	)
	err := tx.QueryRowContext(ctx, db.q.lockCurrent, w.Type, w.ID).Scan(&curVersion, &curUpdated, &curDeleted)
	if errors.Is(err, sql.ErrNoRows) {
		found = false
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore.Write: current version: %w", err)
	}

	now := db.now().UTC().Truncate(time.Microsecond)
	v := &store.Version{Type: w.Type, ID: w.ID, Method: w.Method, Deleted: w.Method == store.MethodDelete}
	var result store.Outcome
	switch {
	case !found:
		if w.IfMatch != 0 {
			return nil, outcome.PreconditionFailed("If-Match W/\"%d\" given but %s/%s does not exist", w.IfMatch, w.Type, w.ID)
		}
		if v.Deleted {
			return &store.Result{Outcome: store.Unchanged}, nil
		}
		v.VersionID, v.LastUpdated, result = 1, now, store.Created
	default:
		if w.IfMatch != 0 && w.IfMatch != curVersion {
			return nil, outcome.PreconditionFailed("If-Match W/\"%d\" is stale: the current version of %s/%s is W/\"%d\"", w.IfMatch, w.Type, w.ID, curVersion)
		}
		if w.IfNoneMatch && !curDeleted {
			return nil, outcome.PreconditionFailed("If-None-Match: * given but %s/%s exists (version %d)", w.Type, w.ID, curVersion)
		}
		if v.Deleted && curDeleted {
			prev, err := db.version(ctx, tx, w.Type, w.ID, curVersion)
			if err != nil {
				return nil, err
			}
			return &store.Result{Outcome: store.Unchanged, Version: prev}, nil
		}
		v.VersionID = curVersion + 1
		// lastUpdated never goes backwards for one resource, even if clocks of
		// gateway instances disagree.
		v.LastUpdated = now
		if prev := fromMicros(curUpdated); !now.After(prev) {
			v.LastUpdated = prev.Add(time.Microsecond)
		}
		switch {
		case v.Deleted:
			result = store.Deleted
		case curDeleted:
			result = store.Created
		default:
			result = store.Updated
		}
	}
	if !v.Deleted {
		v.Content = w.Render(w.ID, v.VersionID, v.LastUpdated)
	}
	var prior []byte
	if w.Record != nil && v.Deleted {
		var pv int64
		var pu int64
		var pd bool
		if err := tx.QueryRowContext(ctx, db.q.readCurrent, w.Type, w.ID).Scan(&pv, &pu, &pd, &prior); err != nil {
			return nil, fmt.Errorf("sqlstore.Write: prior content: %w", err)
		}
	}

	if v.VersionID == 1 {
		r, err := tx.ExecContext(ctx, db.q.insertCurrent, w.Type, w.ID, v.VersionID, toMicros(v.LastUpdated), v.Deleted, w.Tenant, v.Content)
		if err != nil {
			return nil, fmt.Errorf("sqlstore.Write: insert: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil, errRetry // created concurrently: the next attempt updates it
		}
	} else {
		r, err := tx.ExecContext(ctx, db.q.updateCurrent, v.VersionID, toMicros(v.LastUpdated), v.Deleted, w.Tenant, v.Content, w.Type, w.ID, curVersion)
		if err != nil {
			return nil, fmt.Errorf("sqlstore.Write: update: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil, errRetry
		}
	}
	if err := tx.QueryRowContext(ctx, db.q.insertVersion, w.Type, w.ID, v.VersionID, toMicros(v.LastUpdated), string(v.Method), v.Deleted, w.Tenant, v.Content).Scan(&v.Seq); err != nil {
		if db.d.IsUniqueViolation != nil && db.d.IsUniqueViolation(err) {
			return nil, errRetry
		}
		return nil, fmt.Errorf("sqlstore.Write: insert version: %w", err)
	}
	if found {
		if err := db.clearIndex(ctx, tx, w.Type, w.ID); err != nil {
			return nil, err
		}
	}
	if !v.Deleted {
		if err := db.insertIndex(ctx, tx, w.Type, w.ID, w.Index); err != nil {
			return nil, err
		}
	}
	if w.Record != nil {
		if err := db.record(ctx, tx, w, v, prior); err != nil {
			return nil, err
		}
	}
	return &store.Result{Outcome: result, Version: v}, nil
}

// record makes a write's records (Provenance, AuditEvent) in its
// transaction. They are new resources; their own Record is ignored, so
// recording cannot recurse.
func (db *DB) record(ctx context.Context, tx *sql.Tx, w store.Write, v *store.Version, prior []byte) error {
	recs, err := w.Record(v, prior)
	if err != nil {
		return err
	}
	for _, rw := range recs {
		rw.Record = nil
		if _, err := db.writeIn(ctx, tx, rw); err != nil {
			return fmt.Errorf("sqlstore.Write: record %s of %s/%s: %w", rw.Type, w.Type, w.ID, err)
		}
	}
	return nil
}

// ifNoneExist implements conditional create
// (https://hl7.org/fhir/R4/http.html#ccreate): no match creates, one match
// returns it untouched, several matches are 412. Holding a lock keyed on the
// criteria while looking makes two identical concurrent requests create one
// resource.
func (db *DB) ifNoneExist(ctx context.Context, tx *sql.Tx, w store.Write) (*store.Result, error) {
	if err := db.lockCriteria(ctx, tx, w.Type, w.IfNoneExist); err != nil {
		return nil, err
	}
	ids, err := db.matchIDs(ctx, tx, w.IfNoneExist, 2)
	if err != nil {
		return nil, err
	}
	switch len(ids) {
	case 0:
		return nil, nil
	case 1:
		cur, err := db.current(ctx, tx, w.Type, ids[0])
		if err != nil {
			return nil, err
		}
		return &store.Result{Outcome: store.Unchanged, Version: cur}, nil
	default:
		return nil, outcome.New(412, outcome.CodeMultiple,
			"If-None-Exist %q matches more than one %s; make the criteria more selective", w.IfNoneExist.Canonical, w.Type)
	}
}

// lockCriteria takes a transaction lock keyed on a type and its criteria,
// so identical conditional writes run one after the other and the second
// sees what the first wrote.
func (db *DB) lockCriteria(ctx context.Context, tx *sql.Tx, typ string, q *search.Query) error {
	if db.d.Lock == nil {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(typ + "?" + q.Canonical))
	if err := db.d.Lock(ctx, tx, int64(h.Sum64())); err != nil {
		return fmt.Errorf("sqlstore.Write: lock: %w", err)
	}
	return nil
}

// resolveMatch finds the resource a conditional update or delete applies to
// (https://hl7.org/fhir/R4/http.html#cond-update): "" when there is none and
// the write is a delete.
func (db *DB) resolveMatch(ctx context.Context, tx *sql.Tx, w store.Write) (string, error) {
	if err := db.lockCriteria(ctx, tx, w.Type, w.Match); err != nil {
		return "", err
	}
	ids, err := db.matchIDs(ctx, tx, w.Match, 2)
	if err != nil {
		return "", err
	}
	switch {
	case len(ids) > 1:
		return "", outcome.New(412, outcome.CodeMultiple, "the criteria %q match more than one %s; make them more selective", w.Match.Canonical, w.Type)
	case len(ids) == 1:
		if w.Method != store.MethodDelete && w.ID != "" && w.ID != ids[0] {
			return "", outcome.Invalid("the resource id %q differs from %s/%s, which the criteria match", w.ID, w.Type, ids[0]).At(w.Type + ".id")
		}
		return ids[0], nil
	case w.Method == store.MethodDelete:
		return "", nil
	case w.ID == "":
		return w.CreateID, nil
	}
	return w.ID, nil
}
