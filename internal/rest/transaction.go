package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/bundle"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// transaction processes a transaction Bundle all or nothing in one database
// transaction (https://hl7.org/fhir/R4/http.html#trules): DELETE, then POST,
// then PUT and PATCH, then GET, whatever the entries' order; urn:uuid fullUrls and
// conditional references are resolved and rewritten in the stored resources.
func (s *Service) transaction(ctx context.Context, r Request, ops []*entryOp) (*Response, error) {
	return s.transactionThen(ctx, r, ops, nil)
}

// transactionThen is transaction with then run inside the database
// transaction once every entry has its result, so an operation that writes
// through a transaction (a health card import) can add its own records to
// it, all or nothing. then may run more than once, as the transaction does.
func (s *Service) transactionThen(ctx context.Context, r Request, ops []*entryOp, then func(store.Tx) error) (*Response, error) {
	// Each entry is authorized with its own action before anything runs.
	for _, op := range ops {
		if err := s.authorizeEntry(ctx, op); err != nil {
			return nil, op.fail(err)
		}
	}
	// Ids for new resources, and what each fullUrl refers to.
	refs := map[string]string{}
	written := map[string]int{}
	for _, op := range ops {
		switch {
		case op.method == http.MethodPost:
			op.id = s.NewID()
		case op.method == http.MethodPut && op.id == "":
			op.createID = s.NewID()
		}
		target := op.id
		if target == "" {
			target = op.createID
		}
		if (op.method == http.MethodPost || op.method == http.MethodPut) && op.entry.FullURL != "" {
			refs[op.entry.FullURL] = op.typ + "/" + target
		}
		if op.id != "" && op.method != http.MethodGet && op.method != http.MethodHead {
			key := op.typ + "/" + op.id
			if prev, dup := written[key]; dup {
				return nil, op.fail(outcome.Invalid("%s is also changed by Bundle.entry[%d]; a transaction may change a resource once", key, prev))
			}
			written[key] = op.index
		}
	}
	// Conditional references ("Patient?identifier=..."): a typed placeholder
	// lets validation check the reference type; the transaction resolves it.
	cond := map[string]*condRef{}
	for _, op := range ops {
		if len(op.entry.Resource) == 0 || (op.method != http.MethodPost && op.method != http.MethodPut) {
			continue
		}
		body, err := compact(op.entry.Resource)
		if err != nil {
			return nil, op.fail(outcome.New(http.StatusBadRequest, outcome.CodeStructure, "resource is not JSON: %v", err))
		}
		op.entry.Resource = body
		for _, m := range refPattern.FindAllSubmatch(body, -1) {
			ref := string(m[1])
			typ, query, ok := strings.Cut(ref, "?")
			if !ok || cond[ref] != nil || strings.Contains(typ, "/") {
				continue
			}
			if err := s.checkType(typ); err != nil {
				return nil, op.fail(outcome.Invalid("conditional reference %q: %v", ref, err))
			}
			values, err := url.ParseQuery(query)
			if err != nil {
				return nil, op.fail(outcome.Invalid("conditional reference %q: %v", ref, err))
			}
			q, err := s.reg.Parse([]string{typ}, values, search.Options{Base: r.Base, Strict: true})
			if err != nil {
				return nil, op.fail(err)
			}
			cctx, err := s.authorize(ctx, typ, auth.Search)
			if err != nil {
				return nil, op.fail(err)
			}
			c := &condRef{typ: typ, q: q, placeholder: typ + "/" + s.NewID(), op: op, ctx: cctx}
			cond[ref] = c
			refs[ref] = c.placeholder
		}
	}
	// Validate and index every resource in parallel, before the database transaction.
	withRes := []*entryOp{}
	for _, op := range ops {
		if op.method == http.MethodPost || op.method == http.MethodPut {
			withRes = append(withRes, op)
		}
	}
	if err := parallel(len(withRes), func(i int) error { return s.prepareEntry(ctx, r, withRes[i], refs) }); err != nil {
		return nil, err
	}

	err := s.store.Transaction(ctx, func(tx store.Tx) error {
		if err := s.runTransaction(ctx, tx, r, ops, refs, cond); err != nil || then == nil {
			return err
		}
		return then(tx)
	})
	if err != nil {
		return nil, err
	}
	out := bundle.Bundle{Type: "transaction-response", Timestamp: now()}
	for _, op := range ops {
		if op.method == http.MethodGet || op.method == http.MethodHead {
			res, err := s.single(ctx, r, op)
			out.Entries = append(out.Entries, entryResponse(r.Base, res, op.fail(err)))
			continue
		}
		out.Entries = append(out.Entries, entryResponse(r.Base, op.response(), nil))
	}
	return &Response{Status: http.StatusOK, Body: out.JSON()}, nil
}

type condRef struct {
	typ, placeholder string
	q                *search.Query
	op               *entryOp
	ctx              context.Context // restricted to what the caller may search
}

// authorizeEntry checks a write entry's action and keeps the context its
// store calls run with; GET entries run later through the interactions,
// which authorize themselves.
func (s *Service) authorizeEntry(ctx context.Context, op *entryOp) error {
	var a auth.Action
	switch op.method {
	case http.MethodPost:
		a = auth.Create
	case http.MethodPut, http.MethodPatch:
		a = auth.Update
	case http.MethodDelete:
		a = auth.Delete
	default:
		return nil
	}
	if err := s.checkWritable(op.typ); err != nil {
		return err
	}
	octx, err := s.authorize(ctx, op.typ, a)
	if err != nil {
		return err
	}
	conditional := op.entry.Request.IfNoneExist != "" || (op.method != http.MethodPost && op.id == "")
	if conditional {
		if err := authorizeMatch(ctx, op.typ); err != nil {
			return err
		}
	}
	op.ctx = octx
	return nil
}

// prepareEntry validates an entry's resource (with references rewritten)
// and builds its write.
func (s *Service) prepareEntry(ctx context.Context, r Request, op *entryOp, refs map[string]string) error {
	res, err := s.parse(op.typ, rewriteRefs(op.entry.Resource, refs))
	if err != nil {
		return op.fail(err)
	}
	if op.method == http.MethodPut && op.id != "" && res.ID != op.id {
		return op.fail(outcome.Invalid("the resource id %q does not match request.url %s/%s", res.ID, op.typ, op.id).At(op.typ + ".id"))
	}
	op.res = res
	w := store.Write{Type: op.typ, ID: op.id, Method: store.MethodPut, Tenant: r.Tenant}
	if op.method == http.MethodPost {
		w.Method = store.MethodPost
	}
	ifMatch, err := parseIfMatch(op.entry.Request.IfMatch)
	if err != nil {
		return op.fail(err)
	}
	w.IfMatch = ifMatch
	if h := strings.TrimSpace(op.entry.Request.IfNoneMatch); h != "" && op.method == http.MethodPut {
		if h != "*" {
			return op.fail(outcome.Invalid("ifNoneMatch on a PUT supports only \"*\""))
		}
		w.IfNoneMatch = true
	}
	elems, err := s.prepare(ctx, &w, res)
	if err != nil {
		return op.fail(err)
	}
	op.write, op.refs = w, elems
	return nil
}

// runTransaction is the part inside the database transaction; it may run
// more than once, so it starts from the prepared state every time. Each
// phase is one store call for all its entries (conditional criteria locked
// and matched together, writes batched), so a Bundle costs a few round
// trips, not several per entry.
func (s *Service) runTransaction(ctx context.Context, tx store.Tx, r Request, ops []*entryOp, refs map[string]string, cond map[string]*condRef) error {
	remap := map[string]string{}
	for _, op := range ops {
		op.result = nil
	}
	// lockMatch resolves the criteria of ops (parsed by query) in one step
	// per distinct access restriction (each entry runs with the access its
	// own action grants; usually they are all the same).
	lockMatch := func(conds []*entryOp, query func(*entryOp) (*search.Query, error)) ([][]string, error) {
		qs := make([]*search.Query, len(conds))
		for i, op := range conds {
			q, err := query(op)
			if err != nil {
				return nil, op.fail(err)
			}
			qs[i] = q
		}
		if len(qs) == 0 {
			return nil, nil
		}
		found := make([][]string, len(qs))
		groups := map[string][]int{}
		var order []string
		for i, op := range conds {
			k := fmt.Sprint(store.AccessFrom(op.ctx))
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], i)
		}
		for _, k := range order {
			idx := groups[k]
			gq := make([]*search.Query, len(idx))
			for j, i := range idx {
				gq[j] = qs[i]
			}
			got, err := tx.LockMatch(conds[idx[0]].ctx, gq)
			if err != nil {
				return nil, err
			}
			for j, i := range idx {
				found[i] = got[j]
			}
		}
		for i, ids := range found {
			if len(ids) > 1 {
				return nil, conds[i].fail(outcome.New(http.StatusPreconditionFailed, outcome.CodeMultiple, "the criteria %q match more than one %s", qs[i].Canonical, conds[i].typ))
			}
		}
		return found, nil
	}
	byQuery := func(op *entryOp) (*search.Query, error) {
		return s.reg.Parse([]string{op.typ}, op.query, search.Options{Base: r.Base, Strict: true})
	}
	// DELETE first.
	var condDeletes, deletes []*entryOp
	for _, op := range ops {
		if op.method == http.MethodDelete && op.id == "" {
			condDeletes = append(condDeletes, op)
		}
	}
	found, err := lockMatch(condDeletes, byQuery)
	if err != nil {
		return err
	}
	targets := map[*entryOp]string{}
	for i, op := range condDeletes {
		if len(found[i]) == 0 {
			op.result = &store.Result{Outcome: store.Unchanged}
			continue
		}
		targets[op] = found[i][0]
	}
	var writes []store.Write
	for _, op := range ops {
		if op.method != http.MethodDelete || op.result != nil {
			continue
		}
		id := op.id
		if id == "" {
			id = targets[op]
		}
		ifMatch, err := parseIfMatch(op.entry.Request.IfMatch)
		if err != nil {
			return op.fail(err)
		}
		deletes = append(deletes, op)
		writes = append(writes, store.Write{Type: op.typ, ID: id, Method: store.MethodDelete, Tenant: r.Tenant, IfMatch: ifMatch, Access: store.AccessFrom(op.ctx)})
	}
	if err := writeBatch(ctx, tx, deletes, writes); err != nil {
		return err
	}
	// Conditional creates and conditional updates decide their ids.
	var conds []*entryOp
	for _, op := range ops {
		if (op.method == http.MethodPost && op.entry.Request.IfNoneExist != "") || (op.method == http.MethodPut && op.id == "") {
			conds = append(conds, op)
		}
	}
	found, err = lockMatch(conds, func(op *entryOp) (*search.Query, error) {
		if op.method == http.MethodPost {
			return s.ifNoneExist(Request{Base: r.Base, Type: op.typ, IfNoneExist: op.entry.Request.IfNoneExist})
		}
		return byQuery(op)
	})
	if err != nil {
		return err
	}
	for i, op := range conds {
		ids := found[i]
		placeholder := op.typ + "/" + op.id
		if op.method == http.MethodPut {
			placeholder = op.typ + "/" + op.createID
			op.write.ID = op.createID
		}
		if len(ids) == 1 {
			remap[placeholder] = op.typ + "/" + ids[0]
			op.write.ID = ids[0]
			if op.method == http.MethodPost {
				v, err := tx.Read(op.ctx, op.typ, ids[0])
				if err != nil {
					return op.fail(err)
				}
				op.result = &store.Result{Outcome: store.Unchanged, Version: v}
			} else if op.res.ID != "" && op.res.ID != ids[0] {
				return op.fail(outcome.Invalid("the resource id %q differs from %s/%s, which the criteria match", op.res.ID, op.typ, ids[0]))
			}
		}
	}
	// Conditional references: exactly one match, or a resource this Bundle creates under the same criteria.
	for ref, c := range cond {
		ids, err := tx.Match(c.ctx, c.q, 2)
		if err != nil {
			return c.op.fail(err)
		}
		switch len(ids) {
		case 1:
			remap[c.placeholder] = c.typ + "/" + ids[0]
		case 0:
			if id := createdUnder(ops, c); id != "" {
				remap[c.placeholder] = c.typ + "/" + id
				continue
			}
			return c.op.fail(outcome.New(http.StatusPreconditionFailed, outcome.CodeNotFound, "conditional reference %q matches no resource", ref))
		default:
			return c.op.fail(outcome.New(http.StatusPreconditionFailed, outcome.CodeMultiple, "conditional reference %q matches more than one resource", ref))
		}
	}
	// Then POST, then PUT, in one batch.
	var puts []*entryOp
	writes = nil
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		for _, op := range ops {
			if op.method != method || op.result != nil {
				continue
			}
			w := op.write
			w.Render = remapped(w.Render, remap)
			w.Index = remapIndex(w.Index, remap)
			w.Access = store.AccessFrom(op.ctx)
			puts = append(puts, op)
			writes = append(writes, w)
		}
	}
	if err := writeBatch(ctx, tx, puts, writes); err != nil {
		return err
	}
	// References are checked once this phase's writes are in: they may
	// name each other, or what the DELETEs removed.
	for i, op := range puts {
		if err := s.checkReferences(op.ctx, tx, r.Base, op.typ, writes[i].ID, op.refs, remap); err != nil {
			return op.fail(err)
		}
	}
	// PATCH belongs to the PUT phase; each patch reads the version it
	// changes, so patches run one by one after the batch.
	matchOne := func(op *entryOp, q *search.Query) ([]string, error) {
		found, err := tx.LockMatch(op.ctx, []*search.Query{q})
		if err != nil {
			return nil, err
		}
		if len(found[0]) > 1 {
			return nil, outcome.New(http.StatusPreconditionFailed, outcome.CodeMultiple, "the criteria %q match more than one %s", q.Canonical, op.typ)
		}
		return found[0], nil
	}
	for _, op := range ops {
		if op.method != http.MethodPatch || op.result != nil {
			continue
		}
		res, err := s.patchEntryIn(op.ctx, tx, r, op, refs, remap, matchOne)
		if err != nil {
			return op.fail(err)
		}
		op.result = res
	}
	return nil
}

// writeBatch writes the entries' writes as one batch, recording each
// result and naming the entry that failed.
func writeBatch(ctx context.Context, tx store.Tx, ops []*entryOp, ws []store.Write) error {
	if len(ws) == 0 {
		return nil
	}
	results, err := tx.WriteBatch(ctx, ws)
	if err != nil {
		var be *store.BatchError
		if errors.As(err, &be) {
			return ops[be.Index].fail(be.Err)
		}
		return err
	}
	for i, op := range ops {
		op.result = results[i]
	}
	return nil
}

// createdUnder finds a conditional create in the Bundle whose criteria are
// those of a conditional reference and that created its resource.
func createdUnder(ops []*entryOp, c *condRef) string {
	for _, op := range ops {
		if op.method != http.MethodPost || op.typ != c.typ || op.entry.Request.IfNoneExist == "" || op.result != nil {
			continue
		}
		values, err := url.ParseQuery(strings.TrimPrefix(op.entry.Request.IfNoneExist, op.typ+"?"))
		if err == nil && canonical(values) == canonical(queryValues(c.q)) {
			return op.id
		}
	}
	return ""
}

func canonical(v url.Values) string { return v.Encode() }

func queryValues(q *search.Query) url.Values {
	v, _ := url.ParseQuery(q.Canonical)
	return v
}

func remapped(render func(string, int64, time.Time) []byte, remap map[string]string) func(string, int64, time.Time) []byte {
	if len(remap) == 0 {
		return render
	}
	return func(id string, v int64, at time.Time) []byte { return rewriteRefs(render(id, v, at), remap) }
}

func remapIndex(ix *search.Index, remap map[string]string) *search.Index {
	if ix == nil || len(remap) == 0 {
		return ix
	}
	out := *ix
	out.Refs = append([]search.RefRow(nil), ix.Refs...)
	for i, ref := range out.Refs {
		if to, ok := remap[ref.TargetType+"/"+ref.TargetID]; ok {
			typ, id, _ := strings.Cut(to, "/")
			out.Refs[i].TargetType, out.Refs[i].TargetID = typ, id
		}
	}
	return &out
}

// response renders a committed entry's result.
func (op *entryOp) response() *Response {
	res := op.result
	switch {
	case res == nil || res.Version == nil:
		return &Response{Status: http.StatusNoContent}
	case op.method == http.MethodDelete:
		return &Response{Status: http.StatusNoContent, Version: res.Version}
	case res.Outcome == store.Created:
		return &Response{Status: http.StatusCreated, Version: res.Version, Body: res.Version.Content}
	}
	return &Response{Status: http.StatusOK, Version: res.Version, Body: res.Version.Content}
}
