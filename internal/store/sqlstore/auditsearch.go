package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/store"
)

// ReadAudit implements store.AuditLog: a log id names its row's primary
// key, so one partition's index answers; a migrated AuditEvent is found by
// its old id.
func (db *DB) ReadAudit(ctx context.Context, id string) (*store.AuditRecord, error) {
	acc, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	b := &builder{}
	b.w("SELECT ", auditColumns, " FROM audit_log WHERE ")
	db.auditID(b, id)
	if !db.auditVisible(b, acc) {
		return nil, outcome.NotFound("AuditEvent/%s is not known", id)
	}
	r, err := scanAudit(db.r.QueryRowContext(ctx, rebind(db.d, b.sb.String()), b.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, outcome.NotFound("AuditEvent/%s is not known", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore.ReadAudit: %w", err)
	}
	return &r, nil
}

// auditID writes the condition selecting the row of id.
func (db *DB) auditID(b *builder, id string) {
	if us, chain, seq, ok := store.DecodeAuditID(id); ok {
		b.w("(recorded = ")
		b.a(us)
		b.w(" AND chain = ")
		b.a(chain)
		b.w(" AND seq = ")
		b.a(seq)
		b.w(" AND legacy_id = '')")
		return
	}
	b.w("(legacy_id = ")
	b.a(id)
	b.w(" AND legacy_id <> '')")
}

// auditVisible writes " AND <the row is visible under acc>"; false when
// nothing is (the token grants no AuditEvent access at all). The labels of
// the data an event touched hide the event as they hide the data, and a
// compartment-limited grant sees only its patient's events.
func (db *DB) auditVisible(b *builder, acc *store.Access) bool {
	if acc == nil {
		return true
	}
	patient, ok := acc.Types["AuditEvent"]
	if !ok {
		return false
	}
	if patient != "" {
		b.w(" AND patient = ")
		b.a(patient)
	}
	for _, l := range acc.Hidden {
		system, code, _ := strings.Cut(l, "|")
		b.w(" AND ", db.d.Instr, "(labels, ")
		b.a(tokenNeedle(store.AuditToken{System: system, Code: code}))
		b.w(") = 0")
	}
	return true
}

// SearchAudit implements store.AuditLog: rows newest first (or oldest first),
// keyset-paged on the primary key (recorded, chain, seq), so a page
// boundary stays put while rows are appended.
func (db *DB) SearchAudit(ctx context.Context, q store.AuditQuery) (*store.AuditPage, error) {
	acc, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	page := &store.AuditPage{Total: -1}
	cur, err := parseAuditCursor(q.Cursor)
	if err != nil {
		return nil, err
	}
	where := &builder{}
	where.w(" WHERE 1 = 1")
	if !db.auditVisible(where, acc) {
		if q.Total {
			page.Total = 0
		}
		return page, nil
	}
	db.auditCriteria(where, &q)
	if q.Total {
		switch {
		case cur != nil:
			page.Total = cur.total
		default:
			if err := db.r.QueryRowContext(ctx, rebind(db.d, "SELECT COUNT(*) FROM audit_log"+where.sb.String()), db.searchArgs(where.args)...).Scan(&page.Total); err != nil {
				return nil, fmt.Errorf("sqlstore.SearchAudit: count: %w", err)
			}
		}
	}
	if q.Count <= 0 {
		return page, nil
	}
	b, until := db.auditPageSQL(where, &q, cur)
	rows, err := db.r.QueryContext(ctx, rebind(db.d, b.sb.String()), db.searchArgs(b.args)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.SearchAudit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore.SearchAudit: %w", err)
		}
		page.Records = append(page.Records, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore.SearchAudit: %w", err)
	}
	if len(page.Records) > q.Count {
		page.Records = page.Records[:q.Count]
		last := page.Records[q.Count-1]
		page.Next = auditCursor{recorded: last.Recorded.UnixMicro(), chain: last.Chain, seq: last.Seq, total: page.Total, until: until}.String()
	} else if page.Total < 0 && cur == nil {
		page.Total = len(page.Records) // the whole result is on this page: counting is free
	}
	return page, nil
}

// auditPageSQL is the query of one page of q's rows (where: its criteria),
// and the time oldest-first paging stops at.
func (db *DB) auditPageSQL(where *builder, q *store.AuditQuery, cur *auditCursor) (*builder, int64) {
	b := &builder{args: append([]any(nil), where.args...)}
	b.w("SELECT ", auditColumns, " FROM audit_log", where.sb.String())
	op, dir := "<", " DESC"
	var until int64
	if q.Ascending {
		// Oldest first, the log grows at the far end of the pages, and each
		// page a client reads is itself recorded there: paging stops at
		// the time of the first page, or a small _count would never end.
		op, dir = ">", ""
		until = db.now().UnixMicro() + 1
		if cur != nil {
			until = cur.until
		}
		b.w(" AND recorded < ")
		b.a(until)
	}
	if cur != nil {
		b.w(" AND (recorded, chain, seq) ", op, " (")
		b.a(cur.recorded)
		b.w(", ")
		b.a(cur.chain)
		b.w(", ")
		b.a(cur.seq)
		b.w(")")
	}
	b.w(" ORDER BY recorded", dir, ", chain", dir, ", seq", dir, " LIMIT ")
	b.a(int64(q.Count + 1))
	return b, until
}

// ExplainAudit returns the database's plan for the first page of q as
// SearchAudit would read it (without access limits), so tests can hold the
// auditors' questions to the indexes made for them.
func (db *DB) ExplainAudit(ctx context.Context, q store.AuditQuery) (string, error) {
	where := &builder{}
	where.w(" WHERE 1 = 1")
	db.auditCriteria(where, &q)
	b, _ := db.auditPageSQL(where, &q, nil)
	return db.explain(ctx, b)
}

// auditCriteria writes " AND (alternative OR ...)" per criterion of q.
func (db *DB) auditCriteria(b *builder, q *store.AuditQuery) {
	anyOf := func(n int, alt func(i int)) {
		b.w(" AND (")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.w(" OR ")
			}
			alt(i)
		}
		if n == 0 {
			b.w("1 = 0")
		}
		b.w(")")
	}
	eq := func(col string, v any) {
		b.w(col, " = ")
		b.a(v)
	}
	if q.AnyPatient {
		b.w(" AND patient <> ''")
	}
	for _, ids := range q.IDs {
		anyOf(len(ids), func(i int) { db.auditID(b, ids[i]) })
	}
	for _, ps := range q.Patients {
		b.w(" AND patient <> ''")
		anyOf(len(ps), func(i int) { eq("patient", ps[i]) })
	}
	for _, as := range q.Agents {
		anyOf(len(as), func(i int) { db.auditAgent(b, as[i]) })
	}
	for _, ds := range q.Dates {
		anyOf(len(ds), func(i int) {
			b.w("(1 = 1")
			if ds[i].Lo != 0 {
				b.w(" AND recorded >= ")
				b.a(ds[i].Lo)
			}
			if ds[i].Hi != 0 {
				b.w(" AND recorded < ")
				b.a(ds[i].Hi)
			}
			b.w(")")
		})
	}
	for _, es := range q.Entities {
		anyOf(len(es), func(i int) { auditEntity(b, es[i]) })
	}
	for _, as := range q.Actions {
		anyOf(len(as), func(i int) { eq("action", as[i]) })
	}
	for _, os := range q.Outcomes {
		anyOf(len(os), func(i int) {
			switch os[i] {
			case "0":
				b.w("status < 400")
			case "4":
				b.w("(status >= 400 AND status < 500)")
			case "8":
				b.w("status >= 500")
			default:
				b.w("1 = 0") // 12 (major failure) is never recorded: the gateway answers
			}
		})
	}
	for _, ts := range q.Types {
		anyOf(len(ts), func(i int) {
			t := ts[i]
			b.w("(")
			if t.Matches(store.AuditTypeRest) {
				b.w("type_code = '' OR ")
			}
			b.w("(1 = 1")
			if !t.AnySystem {
				b.w(" AND ")
				eq("type_system", t.System)
			}
			if !t.AnyCode {
				b.w(" AND ")
				eq("type_code", t.Code)
			} else {
				b.w(" AND type_code <> ''")
			}
			b.w("))")
		})
	}
	for _, ts := range q.Subtypes {
		anyOf(len(ts), func(i int) {
			t := ts[i]
			b.w("(")
			if t.AnySystem || t.System == store.AuditSubtypeSystem {
				b.w("(interaction <> ''")
				if !t.AnyCode {
					b.w(" AND ")
					eq("interaction", t.Code)
				}
				b.w(") OR ")
			}
			db.needle(b, "subtypes", t)
			b.w(")")
		})
	}
	for _, ss := range q.Sources {
		anyOf(len(ss), func(i int) { eq("source", ss[i]) })
	}
	for _, ls := range q.Labels {
		anyOf(len(ls), func(i int) { db.needle(b, "labels", ls[i]) })
	}
	for _, ps := range q.Purposes {
		anyOf(len(ps), func(i int) {
			b.w("(")
			db.needle(b, "purpose", ps[i])
			b.w(" OR ")
			db.needle(b, "purpose_of_use", ps[i])
			b.w(")")
		})
	}
}

// needle writes "<col's coding list holds a coding matching t>".
func (db *DB) needle(b *builder, col string, t store.AuditToken) {
	n := tokenNeedle(t)
	if n == "" {
		b.w(col, " <> ''")
		return
	}
	b.w(db.d.Instr, "(", col, ", ")
	b.a(n)
	b.w(") > 0")
}

// auditAgent writes the alternatives of a, ORed. No constant alternative
// ("1 = 0 OR ...") is written: SQLite does not fold it away, and then
// cannot use audit_log_agent for a user's events (testAuditIndexes).
func (db *DB) auditAgent(b *builder, a store.AuditAgent) {
	b.w("(")
	or := ""
	if a.Subject != "" {
		b.w("(subject <> '' AND subject = ")
		b.a(a.Subject)
		if !a.AnyIssuer {
			b.w(" AND issuer = ")
			b.a(a.Issuer)
		}
		b.w(")")
		or = " OR "
	}
	if a.ClientID != "" {
		b.w(or, "client_id = ")
		b.a(a.ClientID)
		or = " OR "
	}
	if len(a.Organizations) > 0 {
		b.w(or, "organization IN ")
		b.list(a.Organizations)
		or = " OR "
	}
	if or == "" {
		b.w("1 = 0")
	}
	b.w(")")
}

func auditEntity(b *builder, e store.AuditEntity) {
	switch {
	case e.RequestID != "":
		b.w("request_id = ")
		b.a(e.RequestID)
	case e.Type == "":
		b.w("(entity_id = ")
		b.a(e.ID)
		b.w(" OR (patient <> '' AND patient = ")
		b.a(e.ID)
		b.w("))")
	default:
		b.w("((entity_type = ")
		b.a(e.Type)
		b.w(" AND entity_id = ")
		b.a(e.ID)
		if e.Version != 0 {
			b.w(" AND entity_version = ")
			b.a(e.Version)
		}
		b.w(")")
		if e.Type == "Patient" && e.Version == 0 {
			b.w(" OR (patient <> '' AND patient = ")
			b.a(e.ID)
			b.w(")")
		}
		b.w(")")
	}
}

// auditCursor is the key of a page's last row, the total counted on the
// first page and, oldest first, the time paging stops at.
type auditCursor struct {
	recorded, chain, seq int64
	total                int
	until                int64
}

func (c auditCursor) String() string {
	return strconv.FormatInt(c.recorded, 36) + "." + strconv.FormatInt(c.chain, 36) + "." + strconv.FormatInt(c.seq, 36) + "." +
		strconv.Itoa(c.total) + "." + strconv.FormatInt(c.until, 36)
}

func parseAuditCursor(s string) (*auditCursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := outcome.Invalid("_cursor %q is not a cursor of this AuditEvent search; follow the Bundle's next link", s).At("_cursor")
	f := strings.Split(s, ".")
	if len(f) != 5 {
		return nil, bad
	}
	var c auditCursor
	var err [5]error
	c.recorded, err[0] = strconv.ParseInt(f[0], 36, 64)
	c.chain, err[1] = strconv.ParseInt(f[1], 36, 64)
	c.seq, err[2] = strconv.ParseInt(f[2], 36, 64)
	c.total, err[3] = strconv.Atoi(f[3])
	c.until, err[4] = strconv.ParseInt(f[4], 36, 64)
	if errors.Join(err[:]...) != nil {
		return nil, bad
	}
	return &c, nil
}

// VerifyAudit implements store.AuditLog: every chain is read in order and
// each row's hash recomputed from its content and its predecessor's hash.
func (db *DB) VerifyAudit(ctx context.Context) (*store.AuditVerification, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+auditColumns+" FROM audit_log ORDER BY chain, seq")
	if err != nil {
		return nil, fmt.Errorf("sqlstore.VerifyAudit: %w", err)
	}
	defer rows.Close()
	v := &store.AuditVerification{}
	var (
		chain, seq int64
		head       []byte
		broken     bool
	)
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore.VerifyAudit: %w", err)
		}
		v.Rows++
		if r.Chain != chain || v.Rows == 1 {
			if v.Rows > 1 {
				v.Heads = append(v.Heads, store.AuditHead{Chain: chain, Seq: seq, Hash: head})
			}
			v.Chains++
			chain, seq, head, broken = r.Chain, 0, zeroHash, false
		}
		if broken {
			continue
		}
		reason := ""
		switch {
		case r.Seq != seq+1 && seq == 0:
			reason = fmt.Sprintf("the chain starts at row %d: rows 1 to %d are missing (deleted)", r.Seq, r.Seq-1)
		case r.Seq != seq+1:
			reason = fmt.Sprintf("row %d follows row %d: rows %d to %d are missing (deleted)", r.Seq, seq, seq+1, r.Seq-1)
		case !bytes.Equal(r.Prev, head):
			reason = "its link to the previous row does not match that row's hash (a row was replaced or edited with its hash)"
		case !bytes.Equal(r.Hash, r.ChainHash(r.Prev)):
			reason = "its content does not match its hash (the row was edited)"
		}
		if reason != "" {
			broken = true
			v.Broken = append(v.Broken, store.AuditBreak{Chain: r.Chain, Seq: r.Seq, ID: r.ID, Reason: reason})
			continue
		}
		seq, head = r.Seq, r.Hash
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore.VerifyAudit: %w", err)
	}
	if v.Rows > 0 {
		v.Heads = append(v.Heads, store.AuditHead{Chain: chain, Seq: seq, Hash: head})
	}
	return v, nil
}

// legacyBatch is how many AuditEvent resources one migration transaction moves.
const legacyBatch = 500

// MigrateLegacyAudit implements store.AuditLog.
func (db *DB) MigrateLegacyAudit(ctx context.Context, convert func(id string, content []byte) (store.AuditRecord, error)) (int, error) {
	moved := 0
	for {
		n, err := db.migrateLegacyBatch(ctx, convert)
		moved += n
		if err != nil || n == 0 {
			return moved, err
		}
	}
}

func (db *DB) migrateLegacyBatch(ctx context.Context, convert func(id string, content []byte) (store.AuditRecord, error)) (int, error) {
	n := 0
	err := db.inAuditTx(ctx, "sqlstore.MigrateLegacyAudit", func(tx *sql.Tx, at *auditTx) error {
		var err error
		n, err = db.moveLegacy(ctx, tx, at, convert)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// moveLegacy moves one batch inside tx. Gateways starting together take
// the migration lock in turn, so a batch is moved once.
func (db *DB) moveLegacy(ctx context.Context, tx *sql.Tx, at *auditTx, convert func(id string, content []byte) (store.AuditRecord, error)) (int, error) {
	if db.d.MigrationLock != nil {
		if err := db.d.MigrationLock(ctx, tx); err != nil {
			return 0, fmt.Errorf("sqlstore.MigrateLegacyAudit: lock: %w", err)
		}
	}
	var recs []store.AuditRecord
	var keys []resKey
	rows, err := tx.QueryContext(ctx, rebind(db.d, `SELECT res_id, content FROM resources WHERE res_type = 'AuditEvent' ORDER BY res_id LIMIT ?`), legacyBatch)
	if err != nil {
		return 0, fmt.Errorf("sqlstore.MigrateLegacyAudit: %w", err)
	}
	for rows.Next() {
		var id string
		var content []byte
		if err := rows.Scan(&id, &content); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlstore.MigrateLegacyAudit: %w", err)
		}
		keys = append(keys, resKey{"AuditEvent", id})
		if len(content) == 0 {
			continue // a deleted AuditEvent (never written by Mekong): only its rows go
		}
		r, err := convert(id, content)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlstore.MigrateLegacyAudit: AuditEvent/%s: %w", id, err)
		}
		r.ID, r.Legacy = id, content
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlstore.MigrateLegacyAudit: %w", err)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	// The months' partitions are made on another connection (this
	// transaction has not touched the log yet, so it holds no lock they wait for).
	db.ensureMonths(ctx, recs, true)
	if len(recs) > 0 {
		if err := db.appendIn(ctx, tx, at, recs); err != nil {
			return 0, fmt.Errorf("sqlstore.MigrateLegacyAudit: %w", err)
		}
	}
	if err := db.clearIndex(ctx, tx, keys); err != nil {
		return 0, err
	}
	for _, table := range []string{"resources", "resource_versions", "access_tags"} {
		stmts := db.keysWhere(keys, func(where string, args []any) stmt {
			return stmt{"DELETE FROM " + table + " WHERE " + where, args}
		})
		if _, err := execAll(ctx, tx, "move AuditEvents", stmts); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

var _ store.AuditLog = (*DB)(nil)
