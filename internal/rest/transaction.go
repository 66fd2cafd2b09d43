package rest

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/bundle"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

// transaction processes a transaction Bundle all or nothing in one database
// transaction (https://hl7.org/fhir/R4/http.html#trules): DELETE, then POST,
// then PUT, then GET, whatever the entries' order; urn:uuid fullUrls and
// conditional references are resolved and rewritten in the stored resources.
func (s *Service) transaction(ctx context.Context, r Request, ops []*entryOp) (*Response, error) {
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
			c := &condRef{typ: typ, q: q, placeholder: typ + "/" + s.NewID(), op: op}
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

	err := s.store.Transaction(ctx, func(tx store.Tx) error { return s.runTransaction(ctx, tx, r, ops, cond) })
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
	if err := s.prepare(ctx, &w, res); err != nil {
		return op.fail(err)
	}
	op.write = w
	return nil
}

// runTransaction is the part inside the database transaction; it may run
// more than once, so it starts from the prepared state every time.
func (s *Service) runTransaction(ctx context.Context, tx store.Tx, r Request, ops []*entryOp, cond map[string]*condRef) error {
	remap := map[string]string{}
	for _, op := range ops {
		op.result = nil
	}
	lockMatch := func(op *entryOp, q *search.Query) ([]string, error) {
		if err := tx.Lock(ctx, op.typ, q); err != nil {
			return nil, err
		}
		ids, err := tx.Match(ctx, q, 2)
		if err == nil && len(ids) > 1 {
			err = outcome.New(http.StatusPreconditionFailed, outcome.CodeMultiple, "the criteria %q match more than one %s", q.Canonical, op.typ)
		}
		return ids, err
	}
	// DELETE first.
	for _, op := range ops {
		if op.method != http.MethodDelete {
			continue
		}
		id := op.id
		if id == "" {
			q, err := s.reg.Parse([]string{op.typ}, op.query, search.Options{Base: r.Base, Strict: true})
			if err != nil {
				return op.fail(err)
			}
			ids, err := lockMatch(op, q)
			if err != nil {
				return op.fail(err)
			}
			if len(ids) == 0 {
				op.result = &store.Result{Outcome: store.Unchanged}
				continue
			}
			id = ids[0]
		}
		ifMatch, err := parseIfMatch(op.entry.Request.IfMatch)
		if err != nil {
			return op.fail(err)
		}
		res, err := tx.Write(ctx, store.Write{Type: op.typ, ID: id, Method: store.MethodDelete, Tenant: r.Tenant, IfMatch: ifMatch})
		if err != nil {
			return op.fail(err)
		}
		op.result = res
	}
	// Conditional creates and conditional updates decide their ids.
	for _, op := range ops {
		var criteria string
		switch {
		case op.method == http.MethodPost && op.entry.Request.IfNoneExist != "":
			criteria = op.entry.Request.IfNoneExist
		case op.method == http.MethodPut && op.id == "":
		default:
			continue
		}
		var q *search.Query
		var err error
		if criteria != "" {
			q, err = s.ifNoneExist(Request{Base: r.Base, Type: op.typ, IfNoneExist: criteria})
		} else {
			q, err = s.reg.Parse([]string{op.typ}, op.query, search.Options{Base: r.Base, Strict: true})
		}
		if err != nil {
			return op.fail(err)
		}
		ids, err := lockMatch(op, q)
		if err != nil {
			return op.fail(err)
		}
		placeholder := op.typ + "/" + op.id
		if op.method == http.MethodPut {
			placeholder = op.typ + "/" + op.createID
			op.write.ID = op.createID
		}
		if len(ids) == 1 {
			remap[placeholder] = op.typ + "/" + ids[0]
			op.write.ID = ids[0]
			if op.method == http.MethodPost {
				v, err := tx.Read(ctx, op.typ, ids[0])
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
		ids, err := tx.Match(ctx, c.q, 2)
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
	// Then POST, then PUT.
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		for _, op := range ops {
			if op.method != method || op.result != nil {
				continue
			}
			w := op.write
			w.Render = remapped(w.Render, remap)
			w.Index = remapIndex(w.Index, remap)
			res, err := tx.Write(ctx, w)
			if err != nil {
				return op.fail(err)
			}
			op.result = res
		}
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
