package rest

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// RecordTypes are the resource types the server writes about the data
// (https://hl7.org/fhir/R4/provenance.html, https://hl7.org/fhir/R4/auditevent.html):
// readable and searchable, never written by clients.
var RecordTypes = []string{"AuditEvent", "Provenance"}

func isRecordType(typ string) bool { return typ == "AuditEvent" || typ == "Provenance" }

// Writable reports whether clients may write resources of typ.
func (s *Service) Writable(typ string) bool { return s.types[typ] && !isRecordType(typ) }

// withRecordTypes returns reg, or a registry of the same types plus the
// record types when it lacks them: every store Mekong writes to records
// its writes.
func withRecordTypes(reg *search.Registry) *search.Registry {
	types := reg.Types()
	missing := false
	for _, t := range RecordTypes {
		if !contains(types, t) {
			types, missing = append(types, t), true
		}
	}
	if !missing {
		return reg
	}
	if r, ok := extended.Load(reg); ok {
		return r.(*search.Registry)
	}
	r, err := search.NewRegistry(types, reg.Location)
	if err != nil {
		panic(err) // the definitions are generated; this cannot fail at run time
	}
	extended.Store(reg, r)
	return r
}

// extended remembers extended registries: compiling every parameter's
// FHIRPath is start-up work that tests would otherwise repeat per server.
var extended sync.Map

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// checkWritable refuses client writes to the server's records.
func (s *Service) checkWritable(typ string) error {
	if isRecordType(typ) {
		return outcome.NotSupported(http.StatusMethodNotAllowed,
			"%s is written by the server only, as the record of other writes and accesses; it can be read and searched", typ)
	}
	return nil
}

// checkAuditor lets only callers with an auditor scope (e.g.
// user/AuditEvent.rs) read AuditEvents: the log says who looked at whose
// data, which is itself sensitive.
func checkAuditor(ctx context.Context, typ string, a auth.Action) error {
	if typ != "AuditEvent" || auth.FromContext(ctx).Allows("AuditEvent", a) {
		return nil
	}
	return outcome.New(http.StatusForbidden, outcome.CodeForbidden,
		"AuditEvents are readable only with an auditor scope such as user/AuditEvent.rs")
}

// checkQueryAuditor applies checkAuditor to every type a search may return
// or reveal: its types, _include and _revinclude targets and _has sources.
func checkQueryAuditor(ctx context.Context, q *search.Query) error {
	types := append([]string(nil), q.Types...)
	for _, inc := range q.Includes {
		types = append(types, inc.TargetType)
	}
	for _, inc := range q.RevIncludes {
		types = append(types, inc.SourceType)
	}
	for _, c := range q.And {
		for h := c.Has; h != nil; h = h.Next.Has {
			types = append(types, h.Type)
		}
	}
	for _, t := range types {
		if err := checkAuditor(ctx, t, auth.Search); err != nil {
			return err
		}
	}
	return nil
}

// noteAccess records a read, search or history in the request's audit
// collector, with the patients and labels of what was returned.
func noteAccess(ctx context.Context, ev audit.Event, versions ...[]store.Version) {
	if audit.FromContext(ctx) == nil {
		return
	}
	for _, vs := range versions {
		for i := range vs {
			ev.Merge(audit.FactsOf(vs[i].Type, vs[i].Content))
		}
	}
	audit.Note(ctx, ev)
}

// recorder is the store as the interactions see it: every write path
// (create, update, delete, conditional, Bundle entries, and any added
// later) goes through Write or a Transaction's Tx.Write, where it gets its
// Provenance and AuditEvent in its own transaction.
type recorder struct {
	store.Store
	svc *Service
}

func (r *recorder) Write(ctx context.Context, w store.Write) (*store.Result, error) {
	if err := r.svc.checkWritable(w.Type); err != nil {
		return nil, err
	}
	var ev *audit.Event
	w.Record = r.svc.records(ctx, w, &ev)
	res, err := r.Store.Write(ctx, w)
	if err != nil {
		return nil, err
	}
	audit.Note(ctx, writeEvent(w, res, ev))
	if w.Type == store.LinkedType && !w.Unqueued {
		r.svc.wakeLinker()
	}
	return res, nil
}

func (r *recorder) Transaction(ctx context.Context, fn func(store.Tx) error) error {
	var events []audit.Event
	linked := false
	err := r.Store.Transaction(ctx, func(tx store.Tx) error {
		t := &recordingTx{Tx: tx, svc: r.svc}
		err := fn(t)
		events, linked = t.events, t.linked // fn may run again: keep only the last run's
		return err
	})
	if err != nil {
		return err
	}
	for _, ev := range events {
		audit.Note(ctx, ev)
	}
	if linked {
		r.svc.wakeLinker()
	}
	return nil
}

type recordingTx struct {
	store.Tx
	svc    *Service
	events []audit.Event
	// linked is set when a Patient was written (the linker is woken after commit).
	linked bool
}

// identity returns the identity storage of the transaction (nil when the
// store keeps none).
func (t *recordingTx) identity() store.IdentityTx {
	it, _ := t.Tx.(store.IdentityTx)
	return it
}

func (t *recordingTx) Write(ctx context.Context, w store.Write) (*store.Result, error) {
	if err := t.svc.checkWritable(w.Type); err != nil {
		return nil, err
	}
	var ev *audit.Event
	w.Record = t.svc.records(ctx, w, &ev)
	res, err := t.Tx.Write(ctx, w)
	if err != nil {
		return nil, err
	}
	t.events = append(t.events, writeEvent(w, res, ev))
	t.linked = t.linked || (w.Type == store.LinkedType && !w.Unqueued)
	return res, nil
}

// records returns the Record hook of a write: its Provenance and its
// AuditEvent, built inside the transaction once the version is known.
// *stored receives the event the AuditEvent records.
func (s *Service) records(ctx context.Context, w store.Write, stored **audit.Event) func(*store.Version, []byte) ([]store.Write, error) {
	return s.recordsIn(ctx, w, stored, nil)
}

// recordsIn is records for a write of a batch: when batch is set, the
// write gets only its AuditEvent (BALP: one data entity per event) and
// leaves its labels to batch, which makes the batch's Provenances.
func (s *Service) recordsIn(ctx context.Context, w store.Write, stored **audit.Event, batch *batchRecords) func(*store.Version, []byte) ([]store.Write, error) {
	p := auth.FromContext(ctx)
	req := audit.RequestOf(ctx)
	return func(v *store.Version, prior []byte) ([]store.Write, error) {
		content := v.Content
		if v.Deleted {
			content = prior
		}
		facts := audit.FactsOf(v.Type, content)
		ev := versionEvent(w.Method, v)
		ev.Merge(facts)
		var out []store.Write
		if batch != nil {
			batch.labels[v] = facts.Labels
		} else {
			prov, err := s.audit.Provenance(v, facts.Labels, p)
			if err != nil {
				return nil, err
			}
			out = append(out, prov)
		}
		aes, err := s.audit.AuditEvents(ev, req, p, http.StatusOK, time.Now())
		if err != nil {
			return nil, err
		}
		out = append(out, aes...)
		for i := range out {
			out[i].Tenant = w.Tenant
		}
		ev.Stored = true
		*stored = &ev
		return out, nil
	}
}

// batchRecords records the writes of one batch together: one Provenance per
// activity and label set (https://hl7.org/fhir/R4/provenance.html: target
// is 1..*, and a transaction may be described by one Provenance) instead of
// one per write, which halves what a transaction Bundle adds to its data.
type batchRecords struct {
	labels map[*store.Version][]audit.Label // set by each write's own Record, which runs first
}

func (s *Service) newBatchRecords(ctx context.Context, tenant string) (*batchRecords, *store.Records) {
	b := &batchRecords{labels: map[*store.Version][]audit.Label{}}
	p := auth.FromContext(ctx)
	return b, &store.Records{Make: func(vs []*store.Version, _ [][]byte) ([]store.Write, error) {
		labels := make([][]audit.Label, len(vs))
		for i, v := range vs {
			labels[i] = b.labels[v]
		}
		out, err := s.audit.Provenances(vs, labels, p)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i].Tenant = tenant
		}
		return out, nil
	}}
}

// versionEvent describes the write that made v.
func versionEvent(m store.Method, v *store.Version) audit.Event {
	ev := audit.Event{Type: v.Type, ID: v.ID, VersionID: v.VersionID}
	switch {
	case m == store.MethodDelete:
		ev.Action, ev.Interaction = audit.ActionDelete, "delete"
	case m == store.MethodPost:
		ev.Action, ev.Interaction = audit.ActionCreate, "create"
	case m == store.MethodPatch:
		ev.Action, ev.Interaction = audit.ActionUpdate, "patch"
	case v.VersionID == 1:
		ev.Action, ev.Interaction = audit.ActionCreate, "update"
	default:
		ev.Action, ev.Interaction = audit.ActionUpdate, "update"
	}
	return ev
}

// writeEvent is the event of a committed write: the one its transaction
// stored, or, when nothing was written (a conditional create that matched,
// a delete of nothing), an access still to be audited.
func writeEvent(w store.Write, res *store.Result, stored *audit.Event) audit.Event {
	if stored != nil && res.Outcome != store.Unchanged {
		return *stored
	}
	ev := audit.Event{Type: w.Type, ID: w.ID}
	if res.Version != nil {
		ev = versionEvent(w.Method, res.Version)
		ev.Merge(audit.FactsOf(res.Version.Type, res.Version.Content))
	} else {
		ev.Action, ev.Interaction = audit.ActionDelete, "delete"
	}
	if w.Method == store.MethodPost {
		ev.Action, ev.Interaction = audit.ActionCreate, "create"
	}
	return ev
}

// entryEvent describes a Bundle entry that failed before or without
// reaching the store, so the attempt is audited with its status.
func entryEvent(op *entryOp, status int) audit.Event {
	ev := audit.Describe(op.method, op.typ, op.id, op.vid, op.path, op.query)
	ev.Status = status
	return ev
}

func statusOf(err error) int {
	if e, ok := outcome.As(err); ok {
		return e.Status
	}
	return http.StatusInternalServerError
}

func searchInteraction(typ string) string {
	if typ == "" {
		return "search-system"
	}
	return "search-type"
}

func historyInteraction(r Request) string {
	switch {
	case r.ID != "":
		return "history-instance"
	case r.Type != "":
		return "history-type"
	}
	return "history-system"
}

// WriteBatch records each write of a batch as Write does, in the same
// transaction and the same batch.
func (t *recordingTx) WriteBatch(ctx context.Context, ws []store.Write) ([]*store.Result, error) {
	ws = append([]store.Write(nil), ws...)
	evs := make([]*audit.Event, len(ws))
	// One shared Provenance hook per tenant: a Provenance names one source.
	shared := map[string]*store.Records{}
	batches := map[string]*batchRecords{}
	for i := range ws {
		if err := t.svc.checkWritable(ws[i].Type); err != nil {
			return nil, &store.BatchError{Index: i, Err: err}
		}
		tenant := ws[i].Tenant
		if shared[tenant] == nil {
			batches[tenant], shared[tenant] = t.svc.newBatchRecords(ctx, tenant)
		}
		ws[i].Record = t.svc.recordsIn(ctx, ws[i], &evs[i], batches[tenant])
		ws[i].Records = shared[tenant]
	}
	res, err := t.Tx.WriteBatch(ctx, ws)
	if err != nil {
		return nil, err
	}
	for i := range ws {
		t.events = append(t.events, writeEvent(ws[i], res[i], evs[i]))
		t.linked = t.linked || (ws[i].Type == store.LinkedType && !ws[i].Unqueued)
	}
	return res, nil
}

// DataTypes lists the served types that hold clinical data, sorted: every
// type but the server's records. Bulk export and import work on these.
func (s *Service) DataTypes() []string {
	var out []string
	for _, t := range s.Types() {
		if !isRecordType(t) {
			out = append(out, t)
		}
	}
	return out
}

// Recorded gives w the records every write gets (its Provenance and
// AuditEvent, in its transaction), for writers that use the store directly
// (bulk import's versioned writes).
func (s *Service) Recorded(ctx context.Context, w store.Write) store.Write {
	var ev *audit.Event
	w.Record = s.records(ctx, w, &ev)
	return w
}
