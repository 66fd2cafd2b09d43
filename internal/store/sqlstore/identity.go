package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Identity storage (store.Identity, store.IdentityTx): blocking-key
// lookups, linked sets, pair decisions and the linker's queue.

// identityLockKey is the advisory lock serialising identity decisions
// ("mekong identity").
const identityLockKey = 7370267853561010311

var pairsTable = tbl("identity_pairs", "a", cText, "b", cText, "state", cText, "manual", cBool, "score", cFloat,
	"grade", cText, "evidence", cBytes, "note", cText, "reason", cText, "actor", cText, "va", cInt, "vb", cInt, "updated", cInt)

const pairCols = `a, b, state, manual, score, grade, evidence, note, reason, actor, va, vb, updated`

// MatchCandidates implements store.Identity.
func (db *DB) MatchCandidates(ctx context.Context, q store.CandidateQuery) (*store.Candidates, error) {
	out, err := db.MatchCandidatesBatch(ctx, []store.CandidateQuery{q})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// MatchCandidatesBatch implements store.Identity. Each distinct key's
// Patients come from the search_token lookup index, at most PerKey+1 of
// them per key, for all the queries in one statement; a key with more is a
// mega-block and is skipped, so a common name never floods the comparison.
// The candidates' resources are then read with the caller's Access, all in
// one statement, so a hidden Patient is never returned.
func (db *DB) MatchCandidatesBatch(ctx context.Context, qs []store.CandidateQuery) ([]*store.Candidates, error) {
	acc, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*store.Candidates, len(qs))
	perKey := 1
	var keys []string
	seenKey := map[string]bool{}
	content := false
	for i, q := range qs {
		out[i] = &store.Candidates{}
		if q.Limit <= 0 {
			continue
		}
		perKey = max(perKey, q.PerKey)
		content = content || !q.VersionsOnly
		for _, k := range q.Keys {
			if !seenKey[k] {
				seenKey[k] = true
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	blocks, err := db.keyBlocks(ctx, keys, perKey+1)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.MatchCandidates: %w", err)
	}
	idsOf := make([][]string, len(qs))
	var all []string
	seenID := map[string]bool{}
	for i, q := range qs {
		if q.Limit <= 0 {
			continue
		}
		seen := map[string]bool{}
		for _, id := range q.Exclude {
			seen[id] = true
		}
		limit := max(q.PerKey, 1)
		for _, k := range q.Keys {
			block := blocks[k]
			if len(block) > limit {
				out[i].Skipped++
				continue
			}
			for _, id := range block {
				if seen[id] {
					continue
				}
				if len(idsOf[i]) == q.Limit {
					out[i].Truncated = true
					break
				}
				seen[id] = true
				idsOf[i] = append(idsOf[i], id)
				if !seenID[id] {
					seenID[id] = true
					all = append(all, id)
				}
			}
		}
	}
	if len(all) == 0 {
		return out, nil
	}
	vs, err := db.liveVersions(ctx, db.r, acc, store.LinkedType, all, content)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.MatchCandidates: %w", err)
	}
	byID := make(map[string]store.Version, len(vs))
	for _, v := range vs {
		byID[v.ID] = v
	}
	for i, q := range qs {
		for _, id := range idsOf[i] {
			if v, ok := byID[id]; ok {
				if q.VersionsOnly {
					v.Content = nil
				}
				out[i].Versions = append(out[i].Versions, v)
			}
		}
	}
	return out, nil
}

// keyBlocks returns, for each key, up to limit ids of the Patients that
// carry it, in id order. On PostgreSQL one statement whatever the number of
// keys (a lateral lookup per element of the key array, so it stays
// prepared); elsewhere a UNION ALL of per-key lookups per chunk of keys.
func (db *DB) keyBlocks(ctx context.Context, keys []string, limit int) (map[string][]string, error) {
	out := make(map[string][]string, len(keys))
	scan := func(rows *sql.Rows) error {
		defer rows.Close()
		for rows.Next() {
			var k, id string
			if err := rows.Scan(&k, &id); err != nil {
				return err
			}
			out[k] = append(out[k], id)
		}
		return rows.Err()
	}
	chunk := 100
	if db.d.Arrays {
		chunk = max(len(keys), 1) // one statement: the keys are one array parameter
	}
	for start := 0; start < len(keys); start += chunk {
		query, args := db.keyBlocksSQL(keys[start:min(len(keys), start+chunk)], limit)
		rows, err := db.r.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		if err := scan(rows); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// keyBlocksSQL is the lookup of up to limit Patients per blocking key: one
// index range per key (search_token_lookup, which leads with res_type,
// param, code), never a pass over all Patients.
func (db *DB) keyBlocksSQL(keys []string, limit int) (string, []any) {
	if db.d.Arrays {
		return rebind(db.d, `SELECT k.code, x.res_id FROM unnest(?::text[]) AS k(code)
			CROSS JOIN LATERAL (SELECT t.res_id FROM search_token t WHERE t.res_type = ? AND t.param = ? AND t.code = k.code
			AND t.system = '' ORDER BY t.res_id LIMIT ?) x`), []any{keys, store.LinkedType, store.MatchKeyParam, limit}
	}
	var b strings.Builder
	var args []any
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, `SELECT * FROM (SELECT t.code, t.res_id FROM search_token t WHERE t.res_type = ? AND t.param = ?
			AND t.code = ? AND t.system = ? ORDER BY t.res_id LIMIT ?) q%d`, i)
		args = append(args, store.LinkedType, store.MatchKeyParam, k, "", limit)
	}
	return rebind(db.d, b.String()), args
}

// ExplainMatchKeys returns the database's plan for the blocking-key lookup
// of $match and the linker (at most 100 keys), for the test that it reads
// an index. On PostgreSQL sequential scans are priced out for the plan
// (SET LOCAL enable_seqscan = off), so that it shows whether an index can
// serve the lookup whatever the size of the test's tables.
func (db *DB) ExplainMatchKeys(ctx context.Context, keys []string) (string, error) {
	query, args := db.keyBlocksSQL(keys[:min(len(keys), 100)], 200)
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return "", fmt.Errorf("sqlstore.ExplainMatchKeys: %w", err)
	}
	defer tx.Rollback()
	if db.d.Arrays {
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			return "", fmt.Errorf("sqlstore.ExplainMatchKeys: %w", err)
		}
	}
	rows, err := tx.QueryContext(ctx, db.d.Explain+query, args...)
	if err != nil {
		return "", fmt.Errorf("sqlstore.ExplainMatchKeys: %w", err)
	}
	return planText(rows)
}

// Patients implements store.Identity.
func (db *DB) Patients(ctx context.Context, ids []string) ([]store.Version, error) {
	acc, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := db.liveVersions(ctx, db.r, acc, store.LinkedType, ids, true)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.Patients: %w", err)
	}
	return vs, nil
}

// liveVersions reads the current versions of the live resources of ids
// visible under acc, in the order of ids, with their content or without.
func (db *DB) liveVersions(ctx context.Context, q queryer, acc *store.Access, typ string, ids []string, content bool) ([]store.Version, error) {
	byID := make(map[string]store.Version, len(ids))
	cols := "r.res_id, r.version_id, r.last_updated, r.content"
	if !content {
		cols = "r.res_id, r.version_id, r.last_updated, NULL"
	}
	for start := 0; start < len(ids); start += maxRowsPerInsert {
		chunk := ids[start:min(len(ids), start+maxRowsPerInsert)]
		b := &builder{acc: acc, fence: db.d.ProbeFence}
		b.w("SELECT ", cols, " FROM resources r WHERE r.res_type = ")
		b.a(typ)
		b.w(" AND r.deleted = ")
		b.a(false)
		b.w(" AND r.res_id IN ")
		b.list(chunk)
		b.visible("r")
		rows, err := q.QueryContext(ctx, rebind(db.d, b.sb.String()), b.args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			v := store.Version{Type: typ}
			var updated int64
			if err := rows.Scan(&v.ID, &v.VersionID, &updated, &v.Content); err != nil {
				rows.Close()
				return nil, err
			}
			v.LastUpdated = fromMicros(updated)
			byID[v.ID] = v
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	out := make([]store.Version, 0, len(byID))
	for _, id := range ids {
		if v, ok := byID[id]; ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// LinkedComponent implements store.Identity.
func (db *DB) LinkedComponent(ctx context.Context, id string, limit int) ([]string, error) {
	return db.linkedComponent(ctx, db.r, id, limit)
}

// linkedComponent walks linked pairs from id with a recursive query; UNION
// (not UNION ALL) drops ids already reached, so cycles end. Deleted
// Patients are not walked through: a deleted record links no one.
func (db *DB) linkedComponent(ctx context.Context, q queryer, id string, limit int) ([]string, error) {
	rows, err := q.QueryContext(ctx, rebind(db.d, `WITH RECURSIVE comp(id) AS (
		SELECT r.res_id FROM resources r WHERE r.res_type = ? AND r.res_id = ? AND r.deleted = ?
		UNION
		SELECT r.res_id FROM comp c
		JOIN identity_pairs p ON (p.a = c.id OR p.b = c.id) AND p.state = ?
		JOIN resources r ON r.res_type = ? AND r.res_id = (CASE WHEN p.a = c.id THEN p.b ELSE p.a END) AND r.deleted = ?
	) SELECT id FROM comp LIMIT ?`), store.LinkedType, id, false, store.PairLinked, store.LinkedType, false, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.LinkedComponent: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, fmt.Errorf("sqlstore.LinkedComponent: %w", err)
		}
		if m != id {
			out = append(out, m)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore.LinkedComponent: %w", err)
	}
	if len(out) == 0 && limit > 0 {
		// Either alone or not live: say which.
		var n int
		if err := q.QueryRowContext(ctx, rebind(db.d, `SELECT COUNT(*) FROM resources WHERE res_type = ? AND res_id = ? AND deleted = ?`),
			store.LinkedType, id, false).Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlstore.LinkedComponent: %w", err)
		}
		if n == 0 {
			return nil, nil
		}
	}
	sort.Strings(out)
	return append([]string{id}, out...), nil
}

// PairsOf implements store.Identity.
func (db *DB) PairsOf(ctx context.Context, ids []string) ([]store.Pair, error) {
	return db.pairsOf(ctx, db.r, ids)
}

func (db *DB) pairsOf(ctx context.Context, q queryer, ids []string) ([]store.Pair, error) {
	var out []store.Pair
	seen := map[[2]string]bool{}
	for start := 0; start < len(ids); start += maxRowsPerInsert / 2 {
		chunk := ids[start:min(len(ids), start+maxRowsPerInsert/2)]
		var query string
		var args []any
		if db.d.Arrays {
			query, args = `SELECT `+pairCols+` FROM identity_pairs WHERE a = ANY(?) UNION SELECT `+pairCols+` FROM identity_pairs WHERE b = ANY(?)`,
				[]any{chunk, chunk}
		} else {
			in := "(?" + strings.Repeat(", ?", len(chunk)-1) + ")"
			query = `SELECT ` + pairCols + ` FROM identity_pairs WHERE a IN ` + in + ` UNION SELECT ` + pairCols + ` FROM identity_pairs WHERE b IN ` + in
			for range 2 {
				for _, id := range chunk {
					args = append(args, id)
				}
			}
		}
		ps, err := db.scanPairs(ctx, q, rebind(db.d, query), args)
		if err != nil {
			return nil, fmt.Errorf("sqlstore.PairsOf: %w", err)
		}
		for _, p := range ps {
			k := [2]string{p.A, p.B}
			if !seen[k] {
				seen[k] = true
				out = append(out, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].A != out[j].A {
			return out[i].A < out[j].A
		}
		return out[i].B < out[j].B
	})
	return out, nil
}

func (db *DB) scanPairs(ctx context.Context, q queryer, query string, args []any) ([]store.Pair, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Pair
	for rows.Next() {
		var p store.Pair
		var updated int64
		if err := rows.Scan(&p.A, &p.B, &p.State, &p.Manual, &p.Score, &p.Grade, &p.Evidence, &p.Note, &p.Reason, &p.Actor,
			&p.VersionA, &p.VersionB, &updated); err != nil {
			return nil, err
		}
		p.Updated = fromMicros(updated)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Queued implements store.Identity.
func (db *DB) Queued(ctx context.Context, limit int) ([]store.QueueItem, error) {
	rows, err := db.r.QueryContext(ctx, rebind(db.d, `SELECT seq, res_id FROM identity_queue ORDER BY seq LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.Queued: %w", err)
	}
	defer rows.Close()
	var out []store.QueueItem
	for rows.Next() {
		var it store.QueueItem
		if err := rows.Scan(&it.Seq, &it.ID); err != nil {
			return nil, fmt.Errorf("sqlstore.Queued: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Backlog implements store.Identity.
func (db *DB) Backlog(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM identity_queue`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore.Backlog: %w", err)
	}
	return n, nil
}

// KeyVersion implements store.Identity.
func (db *DB) KeyVersion(ctx context.Context, version string) (int, error) {
	queued := 0
	err := db.inTx(ctx, "sqlstore.KeyVersion", func(tx *sql.Tx) error {
		if db.d.Lock != nil {
			if err := db.d.Lock(ctx, tx, identityLockKey); err != nil {
				return err
			}
		}
		var old string
		err := tx.QueryRowContext(ctx, rebind(db.d, `SELECT value FROM identity_state WHERE name = ?`), "key_version").Scan(&old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// The first version recorded: the migration queued what was there.
		case err != nil:
			return err
		case old == version:
			return nil
		default:
			r, err := tx.ExecContext(ctx, rebind(db.d, `INSERT INTO identity_queue (res_id)
				SELECT res_id FROM resources WHERE res_type = ? AND deleted = ? ORDER BY res_id`), store.LinkedType, false)
			if err != nil {
				return err
			}
			n, _ := r.RowsAffected()
			queued = int(n)
		}
		_, err = tx.ExecContext(ctx, rebind(db.d, `INSERT INTO identity_state (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`), "key_version", version)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore.KeyVersion: %w", err)
	}
	return queued, nil
}

// LockIdentity implements store.IdentityTx. SQLite has one writer, so its
// write transactions are serialised already.
func (t *txStore) LockIdentity(ctx context.Context) error {
	if t.db.d.Lock == nil {
		return nil
	}
	if err := t.db.d.Lock(ctx, t.tx, identityLockKey); err != nil {
		return fmt.Errorf("sqlstore.LockIdentity: %w", err)
	}
	return nil
}

// TakeQueued implements store.IdentityTx.
func (t *txStore) TakeQueued(ctx context.Context, seqs []int64) ([]int64, error) {
	var taken []int64
	for start := 0; start < len(seqs); start += maxRowsPerInsert {
		chunk := seqs[start:min(len(seqs), start+maxRowsPerInsert)]
		args := make([]any, len(chunk))
		for i, s := range chunk {
			args[i] = s
		}
		q := `DELETE FROM identity_queue WHERE seq IN (?` + strings.Repeat(", ?", len(chunk)-1) + `) RETURNING seq`
		rows, err := t.tx.QueryContext(ctx, rebind(t.db.d, q), args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore.TakeQueued: %w", err)
		}
		for rows.Next() {
			var s int64
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore.TakeQueued: %w", err)
			}
			taken = append(taken, s)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlstore.TakeQueued: %w", err)
		}
	}
	return taken, nil
}

// PairsOf implements store.IdentityTx.
func (t *txStore) PairsOf(ctx context.Context, ids []string) ([]store.Pair, error) {
	return t.db.pairsOf(ctx, t.tx, ids)
}

// SavePairs implements store.IdentityTx.
func (t *txStore) SavePairs(ctx context.Context, ps []store.Pair) error {
	if len(ps) == 0 {
		return nil
	}
	rows := make([][]any, len(ps))
	for i, p := range ps {
		if p.A >= p.B {
			return fmt.Errorf("sqlstore.SavePairs: pair %q, %q is not in order", p.A, p.B)
		}
		rows[i] = []any{p.A, p.B, p.State, p.Manual, p.Score, p.Grade, p.Evidence, p.Note, p.Reason, p.Actor,
			p.VersionA, p.VersionB, toMicros(p.Updated)}
	}
	_, err := execAll(ctx, t.tx, "save pairs", t.db.inserts(pairsTable, rows, ` ON CONFLICT (a, b) DO UPDATE SET
		state = excluded.state, manual = excluded.manual, score = excluded.score, grade = excluded.grade,
		evidence = excluded.evidence, note = excluded.note, reason = excluded.reason, actor = excluded.actor,
		va = excluded.va, vb = excluded.vb, updated = excluded.updated`))
	return err
}

// DeletePairs implements store.IdentityTx.
func (t *txStore) DeletePairs(ctx context.Context, keys [][2]string) error {
	for start := 0; start < len(keys); start += maxRowsPerInsert / 2 {
		chunk := keys[start:min(len(keys), start+maxRowsPerInsert/2)]
		var b strings.Builder
		args := make([]any, 0, 2*len(chunk))
		b.WriteString("DELETE FROM identity_pairs WHERE ")
		for i, k := range chunk {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString("(a = ? AND b = ?)")
			args = append(args, k[0], k[1])
		}
		if _, err := t.tx.ExecContext(ctx, rebind(t.db.d, b.String()), args...); err != nil {
			return fmt.Errorf("sqlstore.DeletePairs: %w", err)
		}
	}
	return nil
}

// Current implements store.IdentityTx.
func (t *txStore) Current(ctx context.Context, ids []string, content bool) ([]store.Version, error) {
	vs, err := t.db.liveVersions(ctx, t.tx, nil, store.LinkedType, ids, content)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.Current: %w", err)
	}
	return vs, nil
}

// SetMatchKeys implements store.IdentityTx.
func (t *txStore) SetMatchKeys(ctx context.Context, id string, keys []string) error {
	d := t.db.d
	if _, err := t.tx.ExecContext(ctx, rebind(d, `DELETE FROM search_token WHERE res_type = ? AND res_id = ? AND param = ?`),
		store.LinkedType, id, store.MatchKeyParam); err != nil {
		return fmt.Errorf("sqlstore.SetMatchKeys: %w", err)
	}
	rows := make([][]any, len(keys))
	for i, k := range keys {
		rows[i] = []any{store.LinkedType, id, store.MatchKeyParam, "", k, "", int64(math.MinInt64), int64(math.MaxInt64)}
	}
	_, err := execAll(ctx, t.tx, "match keys", t.db.inserts(indexTables[1], rows, ""))
	return err
}

// MatchKeys implements store.IdentityTx.
func (t *txStore) MatchKeys(ctx context.Context, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	for start := 0; start < len(ids); start += maxRowsPerInsert {
		chunk := ids[start:min(len(ids), start+maxRowsPerInsert)]
		args := []any{store.LinkedType, store.MatchKeyParam}
		for _, id := range chunk {
			args = append(args, id)
		}
		q := `SELECT res_id, code FROM search_token WHERE res_type = ? AND param = ? AND res_id IN (?` +
			strings.Repeat(", ?", len(chunk)-1) + `)`
		rows, err := t.tx.QueryContext(ctx, rebind(t.db.d, q), args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore.MatchKeys: %w", err)
		}
		for rows.Next() {
			var id, k string
			if err := rows.Scan(&id, &k); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore.MatchKeys: %w", err)
			}
			out[id] = append(out[id], k)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlstore.MatchKeys: %w", err)
		}
	}
	return out, nil
}

var _ store.Identity = (*DB)(nil)
var _ store.IdentityTx = (*txStore)(nil)

// reviewCursor is the opaque position of a review page.
type reviewCursor struct {
	Score float64 `json:"s"`
	A     string  `json:"a"`
	B     string  `json:"b"`
	// Patient binds the cursor to its query.
	Patient string `json:"p,omitempty"`
	Total   *int   `json:"n,omitempty"`
}

// ReviewQueue implements store.Identity: pairs in review, best score first,
// in keyset pages; a pair shows only when both Patients are live and visible
// to the caller, on the page and in the total alike.
func (db *DB) ReviewQueue(ctx context.Context, q store.ReviewQuery) (*store.ReviewPage, error) {
	acc, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	page := &store.ReviewPage{Total: -1}
	var cur *reviewCursor
	if q.Cursor != "" {
		c, err := decodeReviewCursor(q.Cursor)
		if err != nil || c.Patient != q.Patient {
			return nil, badCursor()
		}
		cur = &c
	}
	where := func(b *builder) {
		b.w(" FROM identity_pairs p WHERE p.state = ")
		b.a(store.PairReview)
		if q.Patient != "" {
			b.w(" AND (p.a = ")
			b.a(q.Patient)
			b.w(" OR p.b = ")
			b.a(q.Patient)
			b.w(")")
		}
		for _, col := range []string{"a", "b"} {
			b.n++
			r := "r" + strconv.Itoa(b.n)
			b.w(" AND EXISTS (SELECT 1 FROM resources ", r, " WHERE ", r, ".res_type = ")
			b.a(store.LinkedType)
			b.w(" AND ", r, ".res_id = p.", col, " AND ", r, ".deleted = ")
			b.a(false)
			b.visible(r)
			b.w(")")
		}
	}
	switch {
	case q.Total && cur != nil && cur.Total != nil:
		page.Total = *cur.Total
	case q.Total:
		b := &builder{acc: acc, fence: db.d.ProbeFence}
		b.w("SELECT COUNT(*)")
		where(b)
		if err := db.r.QueryRowContext(ctx, rebind(db.d, b.sb.String()), b.args...).Scan(&page.Total); err != nil {
			return nil, fmt.Errorf("sqlstore.ReviewQueue: count: %w", err)
		}
	}
	if q.Count <= 0 {
		return page, nil
	}
	b := &builder{acc: acc, fence: db.d.ProbeFence}
	b.w("SELECT ", pairColsOf("p"))
	where(b)
	if cur != nil {
		b.w(" AND (p.score < ")
		b.a(cur.Score)
		b.w(" OR (p.score = ")
		b.a(cur.Score)
		b.w(" AND (p.a > ")
		b.a(cur.A)
		b.w(" OR (p.a = ")
		b.a(cur.A)
		b.w(" AND p.b > ")
		b.a(cur.B)
		b.w("))))")
	}
	b.w(" ORDER BY p.score DESC, p.a, p.b LIMIT ")
	b.a(q.Count + 1)
	ps, err := db.scanPairs(ctx, db.r, rebind(db.d, b.sb.String()), b.args)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.ReviewQueue: %w", err)
	}
	if len(ps) > q.Count {
		ps = ps[:q.Count]
		last := ps[len(ps)-1]
		next := reviewCursor{Score: last.Score, A: last.A, B: last.B, Patient: q.Patient}
		if q.Total {
			next.Total = &page.Total
		}
		page.Next = encodeReviewCursor(next)
	}
	page.Pairs = ps
	return page, nil
}

func pairColsOf(alias string) string {
	cols := strings.Split(pairCols, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

func encodeReviewCursor(c reviewCursor) string {
	b, _ := fhirjson.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeReviewCursor(s string) (reviewCursor, error) {
	var c reviewCursor
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, err
	}
	if dec.InputOffset() != int64(len(raw)) {
		return c, fmt.Errorf("trailing data")
	}
	return c, nil
}

func badCursor() error {
	return outcome.Invalid("_cursor is not a page token of this request; follow the next link").At("_cursor")
}
