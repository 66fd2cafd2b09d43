package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/store"
)

// current is the state of a resource row a batch locked.
type current struct {
	version, updated int64
	deleted          bool
}

// planned is a write the batch will perform.
type planned struct {
	i       int // position in the batch
	w       store.Write
	found   bool
	cur     current
	v       *store.Version
	outcome store.Outcome
}

// writeBatch performs writes inside tx in a fixed number of statements
// whatever their number: conditions resolved once per distinct criteria,
// every targeted row read and locked by one query, then the resource rows,
// the version rows and each index table written by one statement each. A
// transaction Bundle of 100 creates costs about a dozen round trips instead
// of several hundred. Every write's checks are those of a single Write; the
// first failure fails the batch with a *store.BatchError naming it.
func (db *DB) writeBatch(ctx context.Context, tx *sql.Tx, at *auditTx, ws []store.Write) ([]*store.Result, error) {
	results := make([]*store.Result, len(ws))
	ws = slices.Clone(ws) // resolving sets IDs; the caller's writes stay as given for a retry
	// Audit log entries given as writes (a grant's record) are appended to
	// the log in this transaction; they are not resources.
	var logged []store.AuditRecord
	for i := range ws {
		if ws[i].Audit != nil {
			logged = append(logged, *ws[i].Audit)
			results[i] = &store.Result{Outcome: store.Created}
		}
	}
	if len(logged) > 0 {
		if at == nil {
			return nil, fmt.Errorf("sqlstore.Write: an audit record outside a write transaction")
		}
		if err := db.appendIn(ctx, tx, at, logged); err != nil {
			return nil, fmt.Errorf("sqlstore.Write: audit log: %w", err)
		}
	}
	if err := db.resolveConditions(ctx, tx, ws, results); err != nil {
		return nil, err
	}
	var plan []*planned
	seen := map[resKey]int{}
	for i := range ws {
		if results[i] != nil {
			continue
		}
		k := resKey{ws[i].Type, ws[i].ID}
		if j, dup := seen[k]; dup {
			return nil, &store.BatchError{Index: i, Err: outcome.Invalid(
				"%s/%s is also written by write %d of the same batch; a batch changes a resource once", k.typ, k.id, j)}
		}
		seen[k] = i
		plan = append(plan, &planned{i: i, w: ws[i]})
	}
	if len(plan) == 0 {
		return results, nil
	}
	if err := db.lockRows(ctx, tx, plan); err != nil {
		return nil, err
	}
	// Writes are restricted when the request carries an Access; one without
	// (the command line, the server's own records) is not, so work done on a
	// caller's behalf need not pretend to be the caller.
	ctxAccess := store.AccessFrom(ctx)
	for _, p := range plan {
		acc := ctxAccess
		if p.w.Access != nil {
			acc = p.w.Access
		}
		if acc.Restricts() {
			deleting := p.w.Method == store.MethodDelete
			var tags []string
			if !deleting {
				tags = store.AccessTags(p.w.Type, p.w.ID, p.w.Index)
			}
			if err := db.checkWrite(ctx, tx, acc, p.w.Type, p.w.ID, p.found, tags, deleting); err != nil {
				return nil, &store.BatchError{Index: p.i, Err: err}
			}
		}
	}
	now := db.now().UTC().Truncate(time.Microsecond)
	var write []*planned
	for _, p := range plan {
		res, err := db.decide(ctx, tx, p, now)
		if err != nil {
			return nil, &store.BatchError{Index: p.i, Err: err}
		}
		if res != nil {
			results[p.i] = res
			continue
		}
		write = append(write, p)
	}
	prior, err := db.priorContents(ctx, tx, write)
	if err != nil {
		return nil, err
	}
	if err := db.flush(ctx, tx, write); err != nil {
		return nil, err
	}
	for _, p := range write {
		results[p.i] = &store.Result{Outcome: p.outcome, Version: p.v}
	}
	if err := db.record(ctx, tx, at, write, prior); err != nil {
		return nil, err
	}
	return results, nil
}

// priorContents reads the content each recorded delete replaces, so the
// records of a delete can keep the deleted version's labels.
func (db *DB) priorContents(ctx context.Context, tx *sql.Tx, write []*planned) (map[*planned][]byte, error) {
	var prior map[*planned][]byte
	for _, p := range write {
		if (p.w.Record == nil && p.w.Records == nil) || !p.v.Deleted || !p.found {
			continue
		}
		var pv, pu int64
		var pd bool
		var content []byte
		if err := tx.QueryRowContext(ctx, db.q.readCurrent, p.w.Type, p.w.ID).Scan(&pv, &pu, &pd, &content); err != nil {
			return nil, fmt.Errorf("sqlstore.Write: prior content: %w", err)
		}
		if prior == nil {
			prior = map[*planned][]byte{}
		}
		prior[p] = content
	}
	return prior, nil
}

// record makes the writes' records (Provenance, AuditEvent) in the same
// transaction, as one more batch. They are the server's own resources, so no
// caller's Access restricts them, and their own Record is ignored, so
// recording cannot recurse.
func (db *DB) record(ctx context.Context, tx *sql.Tx, at *auditTx, write []*planned, prior map[*planned][]byte) error {
	var recs []store.Write
	var logged []store.AuditRecord
	add := func(rs []store.Write) {
		for _, rw := range rs {
			if rw.Audit != nil {
				logged = append(logged, *rw.Audit)
				continue
			}
			rw.Record, rw.Records = nil, nil
			rw.Access = &store.Access{All: true}
			recs = append(recs, rw)
		}
	}
	type group struct {
		vs     []*store.Version
		priors [][]byte
	}
	var shared []*store.Records // in order of first write
	groups := map[*store.Records]*group{}
	for _, p := range write {
		if p.w.Record != nil {
			rs, err := p.w.Record(p.v, prior[p])
			if err != nil {
				return err
			}
			add(rs)
		}
		if r := p.w.Records; r != nil {
			g := groups[r]
			if g == nil {
				g = &group{}
				groups[r] = g
				shared = append(shared, r)
			}
			g.vs = append(g.vs, p.v)
			g.priors = append(g.priors, prior[p])
		}
	}
	for _, r := range shared {
		rs, err := r.Make(groups[r].vs, groups[r].priors)
		if err != nil {
			return err
		}
		add(rs)
	}
	if len(logged) > 0 {
		if at == nil {
			return fmt.Errorf("sqlstore.Write: an audit record outside a write transaction")
		}
		if err := db.appendIn(ctx, tx, at, logged); err != nil {
			return fmt.Errorf("sqlstore.Write: audit log: %w", err)
		}
	}
	if len(recs) == 0 {
		return nil
	}
	if _, err := db.writeBatch(ctx, tx, nil, recs); err != nil {
		return fmt.Errorf("sqlstore.Write: records: %w", err)
	}
	return nil
}

// lockRows reads the current version of every planned write's resource,
// locking the rows (PostgreSQL) in key order so that concurrent batches
// take them in the same order.
func (db *DB) lockRows(ctx context.Context, tx *sql.Tx, plan []*planned) error {
	keys := make([]resKey, len(plan))
	byKey := make(map[resKey]*planned, len(plan))
	for i, p := range plan {
		keys[i] = resKey{p.w.Type, p.w.ID}
		byKey[keys[i]] = p
	}
	stmts := db.keysWhere(keys, func(where string, args []any) stmt {
		return stmt{`SELECT res_type, res_id, version_id, last_updated, deleted FROM resources WHERE ` + where +
			` ORDER BY res_type, res_id` + db.d.ForUpdate, args}
	})
	for _, s := range stmts {
		if err := db.scanCurrent(ctx, tx, s, byKey); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) scanCurrent(ctx context.Context, tx *sql.Tx, s stmt, byKey map[resKey]*planned) error {
	rows, err := tx.QueryContext(ctx, s.sql, s.args...)
	if err != nil {
		return fmt.Errorf("sqlstore.Write: current versions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k resKey
		var c current
		if err := rows.Scan(&k.typ, &k.id, &c.version, &c.updated, &c.deleted); err != nil {
			return fmt.Errorf("sqlstore.Write: current versions: %w", err)
		}
		if p := byKey[k]; p != nil {
			p.found, p.cur = true, c
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore.Write: current versions: %w", err)
	}
	return nil
}

// decide applies a write's preconditions to the current version and numbers
// the new one; a non-nil result means nothing is written.
func (db *DB) decide(ctx context.Context, tx *sql.Tx, p *planned, now time.Time) (*store.Result, error) {
	w := &p.w
	v := &store.Version{Type: w.Type, ID: w.ID, Method: w.Method, Deleted: w.Method == store.MethodDelete}
	if !p.found {
		if w.IfMatch != 0 {
			return nil, outcome.PreconditionFailed("If-Match W/\"%d\" given but %s/%s does not exist", w.IfMatch, w.Type, w.ID)
		}
		if v.Deleted {
			return &store.Result{Outcome: store.Unchanged}, nil
		}
		v.VersionID, v.LastUpdated, p.outcome = 1, now, store.Created
	} else {
		cur := p.cur
		if w.IfMatch != 0 && w.IfMatch != cur.version {
			return nil, outcome.PreconditionFailed("If-Match W/\"%d\" is stale: the current version of %s/%s is W/\"%d\"", w.IfMatch, w.Type, w.ID, cur.version)
		}
		if w.IfNoneMatch && !cur.deleted {
			return nil, outcome.PreconditionFailed("If-None-Match: * given but %s/%s exists (version %d)", w.Type, w.ID, cur.version)
		}
		if v.Deleted && cur.deleted {
			prev, err := db.version(ctx, tx, w.Type, w.ID, cur.version)
			if err != nil {
				return nil, err
			}
			return &store.Result{Outcome: store.Unchanged, Version: prev}, nil
		}
		v.VersionID = cur.version + 1
		// lastUpdated never goes backwards for one resource, even if clocks of
		// gateway instances disagree.
		v.LastUpdated = now
		if prev := fromMicros(cur.updated); !now.After(prev) {
			v.LastUpdated = prev.Add(time.Microsecond)
		}
		switch {
		case v.Deleted:
			p.outcome = store.Deleted
		case cur.deleted:
			p.outcome = store.Created
		default:
			p.outcome = store.Updated
		}
	}
	if !v.Deleted {
		v.Content = w.Render(w.ID, v.VersionID, v.LastUpdated)
	}
	p.v = v
	return nil, nil
}

// flush writes the decided versions: resource rows (inserted, or updated
// only if still at the version read, else the batch is retried), version
// rows, and the index of every live result in place of the old one.
func (db *DB) flush(ctx context.Context, tx *sql.Tx, write []*planned) error {
	if len(write) == 0 {
		return nil
	}
	res := make([][]any, len(write))
	ver := make([][]any, len(write))
	var cleared []resKey
	var live []indexed
	for i, p := range write {
		v, w := p.v, &p.w
		us := toMicros(v.LastUpdated)
		res[i] = []any{w.Type, w.ID, v.VersionID, us, v.Deleted, w.Tenant, v.Content}
		ver[i] = []any{w.Type, w.ID, v.VersionID, us, string(v.Method), v.Deleted, w.Tenant, v.Content}
		if p.found {
			cleared = append(cleared, resKey{w.Type, w.ID})
		}
		if !v.Deleted {
			live = append(live, indexed{w.Type, w.ID, w.Index})
		}
	}
	// A row someone created since lockRows found none keeps its version,
	// so fewer rows change than planned: the transaction starts again.
	n, err := execAll(ctx, tx, "write resources", db.inserts(resourcesTable, res,
		` ON CONFLICT (res_type, res_id) DO UPDATE SET version_id = excluded.version_id,
		last_updated = excluded.last_updated, deleted = excluded.deleted, tenant = excluded.tenant,
		content = excluded.content WHERE resources.version_id = excluded.version_id - 1`))
	if err != nil {
		return err
	}
	if n != int64(len(write)) {
		return errRetry
	}
	if err := db.insertVersions(ctx, tx, write, ver); err != nil {
		return err
	}
	tags, err := db.tagRows(ctx, tx, write)
	if err != nil {
		return err
	}
	if err := db.clearIndex(ctx, tx, cleared); err != nil {
		return err
	}
	return db.insertIndex(ctx, tx, live, tags, db.queuedRows(write))
}

// queuedRows are the identity_queue rows of a batch: every Patient version
// written (deletes too: a deleted Patient leaves its linked set), except the
// linker's own.
func (db *DB) queuedRows(write []*planned) [][]any {
	var rows [][]any
	for _, p := range write {
		if p.w.Type == store.LinkedType && !p.w.Unqueued && !db.unqueued {
			rows = append(rows, []any{p.w.ID})
		}
	}
	return rows
}

// insertVersions appends the version rows and records each one's seq.
func (db *DB) insertVersions(ctx context.Context, tx *sql.Tx, write []*planned, ver [][]any) error {
	byKey := make(map[resKey]*store.Version, len(write))
	for _, p := range write {
		byKey[resKey{p.w.Type, p.w.ID}] = p.v
	}
	for _, s := range db.inserts(versionsTable, ver, ` RETURNING res_type, res_id, seq`) {
		if err := scanSeqs(ctx, tx, s, byKey); err != nil {
			if db.d.IsUniqueViolation != nil && db.d.IsUniqueViolation(err) {
				return errRetry
			}
			return fmt.Errorf("sqlstore.Write: insert versions: %w", err)
		}
	}
	return nil
}

func scanSeqs(ctx context.Context, tx *sql.Tx, s stmt, byKey map[resKey]*store.Version) error {
	rows, err := tx.QueryContext(ctx, s.sql, s.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k resKey
		var seq int64
		if err := rows.Scan(&k.typ, &k.id, &seq); err != nil {
			return err
		}
		if v := byKey[k]; v != nil {
			v.Seq = seq
		}
	}
	return rows.Err()
}

// tagRows returns each new version's access tags (its labels and
// patients), which insertIndex writes with the index rows; a delete version
// takes the tags of the version it deletes (copied here), so the deletion
// stays hidden from whoever could not see the resource.
func (db *DB) tagRows(ctx context.Context, tx *sql.Tx, write []*planned) ([][]any, error) {
	var rows [][]any
	for _, p := range write {
		w, v := &p.w, p.v
		if v.Deleted {
			if p.found {
				if err := db.copyTags(ctx, tx, w.Type, w.ID, p.cur.version, v.VersionID); err != nil {
					return nil, err
				}
			}
			continue
		}
		for _, t := range store.AccessTags(w.Type, w.ID, w.Index) {
			rows = append(rows, []any{w.Type, w.ID, v.VersionID, t})
		}
	}
	return rows, nil
}
