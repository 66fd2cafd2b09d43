package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mekong-fhir/mekong/internal/store"
)

// auditTable is the audit log (migration 0012). Its columns are written in
// this order by every path (multi-row insert, the write's transaction) and
// read back in it.
var auditTable = tbl("audit_log",
	"recorded", cInt, "chain", cInt, "seq", cInt, "prev", cBytes, "hash", cBytes,
	"action", cText, "interaction", cText, "status", cInt,
	"type_system", cText, "type_code", cText, "type_display", cText, "subtypes", cText,
	"principal", cBool, "issuer", cText, "subject", cText, "client_id", cText, "organization", cText,
	"token_id", cText, "purpose_of_use", cText, "client_address", cText, "server", cText, "source", cText,
	"patient", cText, "entity_type", cText, "entity_id", cText, "entity_version", cInt,
	"query", cText, "request_id", cText, "labels", cText, "purpose", cText, "reason", cText,
	"legacy_id", cText, "legacy", cBytes)

var auditColumns = strings.Join(auditTable.cols, ", ")

// auditInsertOne inserts one row (dialects without arrays, run per row).
var auditInsertOne = "INSERT INTO audit_log (" + auditColumns + ") VALUES (?" + strings.Repeat(", ?", len(auditTable.cols)-1) + ")"

// purposeSystem is the code system of a token's purposes of use, kept in
// the row as codings so one needle search serves both purpose columns.
const purposeSystem = "http://terminology.hl7.org/CodeSystem/v3-ActReason"

// auditRow is rec as the table's column values.
func auditRow(r *store.AuditRecord) []any {
	legacyID := ""
	if len(r.Legacy) > 0 {
		legacyID = r.ID
	}
	pou := make([]store.AuditCoding, len(r.PurposeOfUse))
	for i, c := range r.PurposeOfUse {
		pou[i] = store.AuditCoding{System: purposeSystem, Code: c}
	}
	return []any{r.Recorded.UnixMicro(), r.Chain, r.Seq, r.Prev, r.Hash,
		r.Action, r.Interaction, int64(r.Status),
		r.EventType.System, r.EventType.Code, r.EventType.Display, encodeCodings(r.Subtypes),
		r.Principal, r.Issuer, r.Subject, r.ClientID, r.Organization,
		r.TokenID, encodeCodings(pou), r.ClientAddress, r.Server, r.Source,
		r.Patient, r.EntityType, r.EntityID, r.EntityVersion,
		r.Query, r.RequestID, encodeCodings(r.Labels), encodeCodings(r.PurposeOfEvent), r.Reason,
		legacyID, r.Legacy}
}

// scanAudit reads a row selected with auditColumns.
func scanAudit(s scanner) (store.AuditRecord, error) {
	var (
		r                               store.AuditRecord
		us, status                      int64
		subtypes, pou, labels, purpose  string
		legacyID                        string
		typeSystem, typeCode, typeDispl string
	)
	err := s.Scan(&us, &r.Chain, &r.Seq, &r.Prev, &r.Hash,
		&r.Action, &r.Interaction, &status,
		&typeSystem, &typeCode, &typeDispl, &subtypes,
		&r.Principal, &r.Issuer, &r.Subject, &r.ClientID, &r.Organization,
		&r.TokenID, &pou, &r.ClientAddress, &r.Server, &r.Source,
		&r.Patient, &r.EntityType, &r.EntityID, &r.EntityVersion,
		&r.Query, &r.RequestID, &labels, &purpose, &r.Reason,
		&legacyID, &r.Legacy)
	if err != nil {
		return r, err
	}
	r.Recorded, r.Status = fromMicros(us), int(status)
	r.EventType = store.AuditCoding{System: typeSystem, Code: typeCode, Display: typeDispl}
	r.Subtypes, r.Labels, r.PurposeOfEvent = decodeCodings(subtypes), decodeCodings(labels), decodeCodings(purpose)
	for _, c := range decodeCodings(pou) {
		r.PurposeOfUse = append(r.PurposeOfUse, c.Code)
	}
	if len(r.Legacy) == 0 {
		r.Legacy = nil
	}
	r.ID = legacyID
	if r.ID == "" {
		r.ID = store.EncodeAuditID(r.Recorded, r.Chain, r.Seq)
	}
	return r, nil
}

// Coding lists (labels, subtypes, purposes) are one text column each:
// "\tsystem|code|display" per coding and a closing tab, with '%', '|' and
// tab escaped in each part. A token is then a substring needle
// ("\tsystem|code|", "|code|") that both databases find with one function.
func encodeCodings(cs []store.AuditCoding) string {
	if len(cs) == 0 {
		return ""
	}
	var b strings.Builder
	for _, c := range cs {
		b.WriteByte('\t')
		b.WriteString(escapeCoding(c.System))
		b.WriteByte('|')
		b.WriteString(escapeCoding(c.Code))
		b.WriteByte('|')
		b.WriteString(escapeCoding(c.Display))
	}
	b.WriteByte('\t')
	return b.String()
}

func decodeCodings(s string) []store.AuditCoding {
	if s == "" {
		return nil
	}
	var out []store.AuditCoding
	for _, part := range strings.Split(strings.Trim(s, "\t"), "\t") {
		f := strings.SplitN(part, "|", 3)
		for len(f) < 3 {
			f = append(f, "")
		}
		out = append(out, store.AuditCoding{System: unescapeCoding(f[0]), Code: unescapeCoding(f[1]), Display: unescapeCoding(f[2])})
	}
	return out
}

var codingEscaper = strings.NewReplacer("%", "%25", "|", "%7C", "\t", "%09")
var codingUnescaper = strings.NewReplacer("%25", "%", "%7C", "|", "%09", "\t")

func escapeCoding(s string) string {
	if !strings.ContainsAny(s, "%|\t") {
		return s
	}
	return codingEscaper.Replace(s)
}

func unescapeCoding(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	return codingUnescaper.Replace(s)
}

// tokenNeedle is the substring of an encoded coding list that matches t;
// "" when t matches any coding.
func tokenNeedle(t store.AuditToken) string {
	switch {
	case t.AnySystem && t.AnyCode:
		return ""
	case t.AnySystem:
		return "|" + escapeCoding(t.Code) + "|"
	case t.AnyCode:
		return "\t" + escapeCoding(t.System) + "|"
	}
	return "\t" + escapeCoding(t.System) + "|" + escapeCoding(t.Code) + "|"
}

// lane is one hash chain's head in this process. A transaction that appends
// rows holds a lane until it ends, so a chain has one writer at a time.
type lane struct {
	chain, seq int64
	head       []byte
	month      int64 // first µs of the month the chain's rows are in
}

// auditState is the process's lanes and the months known to have their
// partition.
type auditState struct {
	mu     sync.Mutex
	free   []*lane
	months sync.Map // month start µs -> true
	// insert is auditInsertOne prepared on the write pool (dialects
	// without arrays): transactions use it on their connection instead of
	// parsing the 35-column INSERT again for every commit.
	insert atomic.Pointer[sql.Stmt]
}

func (db *DB) takeLane() *lane {
	db.audit.mu.Lock()
	defer db.audit.mu.Unlock()
	if n := len(db.audit.free); n > 0 {
		l := db.audit.free[n-1]
		db.audit.free = db.audit.free[:n-1]
		return l
	}
	return &lane{}
}

func (db *DB) putLane(l *lane) {
	db.audit.mu.Lock()
	db.audit.free = append(db.audit.free, l)
	db.audit.mu.Unlock()
}

// AuditHeads returns the head of every idle chain of this process: logged,
// they let an auditor detect a chain's tail cut off or rewritten, which the
// chain alone cannot show.
func (db *DB) AuditHeads() []store.AuditHead {
	db.audit.mu.Lock()
	defer db.audit.mu.Unlock()
	var out []store.AuditHead
	for _, l := range db.audit.free {
		if l.chain != 0 {
			out = append(out, store.AuditHead{Chain: l.chain, Seq: l.seq, Hash: l.head})
		}
	}
	return out
}

var zeroHash = make([]byte, 32)

func monthStart(t time.Time) int64 {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMicro()
}

// chainOn places recs on lane l's chain, returning the lane's state after
// them (l itself is unchanged until the rows are committed) and the rows.
// A chain never spans two months.
func chainOn(l *lane, recs []store.AuditRecord) (lane, [][]any) {
	next := *l
	rows := make([][]any, len(recs))
	for i := range recs {
		r := &recs[i]
		r.Recorded = r.Recorded.UTC().Truncate(time.Microsecond)
		if m := monthStart(r.Recorded); next.chain == 0 || m != next.month {
			next = lane{chain: newChainID(), head: zeroHash, month: m}
		}
		next.seq++
		r.Chain, r.Seq, r.Prev = next.chain, next.seq, next.head
		if len(r.Legacy) == 0 {
			r.ID = store.EncodeAuditID(r.Recorded, r.Chain, r.Seq)
		}
		r.Hash = r.ChainHash(r.Prev)
		next.head = r.Hash
		rows[i] = auditRow(r)
	}
	return next, rows
}

func newChainID() int64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		if id := int64(binary.BigEndian.Uint64(b[:]) >> 1); id != 0 {
			return id
		}
	}
}

// AppendAudit implements store.AuditLog: COPY (PostgreSQL, the dialect's
// AppendAudit) or batched INSERTs, in one transaction.
func (db *DB) AppendAudit(ctx context.Context, recs []store.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	db.ensureMonths(ctx, recs, true)
	l := db.takeLane()
	next, rows := chainOn(l, recs)
	var err error
	if db.d.AppendAudit != nil {
		err = db.d.AppendAudit(ctx, db.w, db.auditTarget(recs), auditTable.cols, rows)
	} else {
		db.prepareAuditInsert(ctx)
		err = db.inTx(ctx, "audit log", func(tx *sql.Tx) error { return db.insertAuditRows(ctx, tx, rows) })
	}
	if err != nil {
		// Whether the rows were committed is not known: the lane is
		// dropped, and its chain ends here either way.
		return fmt.Errorf("sqlstore.AppendAudit: %w", err)
	}
	*l = next
	db.putLane(l)
	return nil
}

// insertAuditRows inserts rows in tx: one statement of column arrays where
// the dialect binds arrays (PostgreSQL), else a single-row INSERT prepared
// once and run per row: SQLite parsed a multi-row INSERT of 33 columns
// anew for every batch, which cost more than the inserts themselves.
func (db *DB) insertAuditRows(ctx context.Context, tx *sql.Tx, rows [][]any) error {
	if db.d.Arrays {
		_, err := execAll(ctx, tx, "audit log", db.inserts(auditTable, rows, ""))
		return err
	}
	// On the transaction's own connection: SQLite's one writer connection is
	// the transaction's, so the pool has none to prepare on now. The
	// statement prepared on the pool before (prepareAuditInsert) is reused
	// when it was prepared on this connection.
	var st *sql.Stmt
	if p := db.audit.insert.Load(); p != nil {
		st = tx.StmtContext(ctx, p)
	} else {
		var err error
		if st, err = tx.PrepareContext(ctx, auditInsertOne); err != nil {
			return fmt.Errorf("sqlstore: audit log: %w", err)
		}
	}
	defer st.Close()
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, r...); err != nil {
			return fmt.Errorf("sqlstore: audit log: %w", err)
		}
	}
	return nil
}

// prepareAuditInsert prepares auditInsertOne on the write pool once. It is
// called outside any transaction (SQLite's one writer connection must be
// free); a failure leaves transactions preparing it themselves.
func (db *DB) prepareAuditInsert(ctx context.Context) {
	if db.audit.insert.Load() != nil {
		return
	}
	st, err := db.w.PrepareContext(ctx, auditInsertOne)
	if err != nil {
		return
	}
	if !db.audit.insert.CompareAndSwap(nil, st) {
		st.Close()
	}
}

// auditTarget is the table recs are appended to: their month's partition
// when they are all of one month whose partition exists (PostgreSQL then
// skips routing each row), else the log itself.
func (db *DB) auditTarget(recs []store.AuditRecord) string {
	if db.d.AuditPartition == nil {
		return "audit_log"
	}
	m := monthStart(recs[0].Recorded)
	for i := range recs[1:] {
		if monthStart(recs[i+1].Recorded) != m {
			return "audit_log"
		}
	}
	if _, ok := db.audit.months.Load(m); !ok {
		return "audit_log"
	}
	return partitionName(m)
}

// auditTx is the audit log's part of a write transaction: the lane taken by
// its first record, and the lane's state once the transaction commits.
type auditTx struct {
	l    *lane
	next lane
}

// appendIn appends recs inside tx, the transaction of the writes they record.
func (db *DB) appendIn(ctx context.Context, tx *sql.Tx, at *auditTx, recs []store.AuditRecord) error {
	if at.l == nil {
		at.l = db.takeLane()
		at.next = *at.l
	}
	// No partition is created from inside a write: that could wait for a
	// connection this transaction's own pool holds. A missing month is made
	// in the background, its rows meanwhile kept by the default partition.
	db.ensureMonths(ctx, recs, false)
	next, rows := chainOn(&at.next, recs)
	if err := db.insertAuditRows(ctx, tx, rows); err != nil {
		return err
	}
	at.next = next
	return nil
}

// inAuditTx runs fn in one write transaction that may append audit rows
// (appendIn with at), releasing their lane as the transaction ends.
func (db *DB) inAuditTx(ctx context.Context, name string, fn func(tx *sql.Tx, at *auditTx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", name, err)
	}
	at := &auditTx{}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx, at); err != nil {
		tx.Rollback() //nolint:errcheck // the lane is released only once the rows are gone
		db.endAudit(at, false, false)
		return err
	}
	if err := tx.Commit(); err != nil {
		db.endAudit(at, false, true)
		return fmt.Errorf("%s: commit: %w", name, err)
	}
	db.endAudit(at, true, false)
	return nil
}

// end releases the lane when the transaction is over: advanced when it
// committed, as it was when it rolled back, dropped when the commit failed
// (it may or may not have happened).
func (db *DB) endAudit(at *auditTx, committed, commitFailed bool) {
	if at == nil || at.l == nil {
		return
	}
	switch {
	case commitFailed:
	case committed:
		*at.l = at.next
		db.putLane(at.l)
	default:
		db.putLane(at.l)
	}
	at.l = nil
}

// ensureMonths makes sure the monthly partitions of recs (and of the month
// after each) exist, creating them when wait is set and in the background
// otherwise.
func (db *DB) ensureMonths(ctx context.Context, recs []store.AuditRecord, wait bool) {
	if db.d.AuditPartition == nil {
		return
	}
	var missing []int64
	for i := range recs {
		m := monthStart(recs[i].Recorded)
		if _, ok := db.audit.months.Load(m); !ok && !containsInt(missing, m) {
			missing = append(missing, m)
		}
	}
	if len(missing) == 0 {
		return
	}
	if !wait {
		go db.ensureMonthList(context.WithoutCancel(ctx), missing)
		return
	}
	db.ensureMonthList(ctx, missing)
}

func (db *DB) ensureMonthList(ctx context.Context, months []int64) {
	for _, m := range months {
		for _, mm := range []int64{m, nextMonth(m)} {
			if _, ok := db.audit.months.Load(mm); ok {
				continue
			}
			// A failure leaves the rows to the default partition; the next
			// append tries again.
			if err := db.d.AuditPartition(ctx, db.w, partitionName(mm), mm, nextMonth(mm)); err == nil {
				db.audit.months.Store(mm, true)
			}
		}
	}
}

// EnsureAuditPartitions creates the partitions of the current and next month.
func (db *DB) EnsureAuditPartitions(ctx context.Context) error {
	if db.d.AuditPartition == nil {
		return nil
	}
	m := monthStart(db.now())
	for _, mm := range []int64{m, nextMonth(m)} {
		if err := db.d.AuditPartition(ctx, db.w, partitionName(mm), mm, nextMonth(mm)); err != nil {
			return fmt.Errorf("sqlstore: audit log partition %s: %w", partitionName(mm), err)
		}
		db.audit.months.Store(mm, true)
	}
	return nil
}

func nextMonth(us int64) int64 {
	t := fromMicros(us)
	return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
}

func partitionName(us int64) string {
	t := fromMicros(us)
	return fmt.Sprintf("audit_log_y%04dm%02d", t.Year(), int(t.Month()))
}

func containsInt(s []int64, v int64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
