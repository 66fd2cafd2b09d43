package bulk

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// write stores one parsed batch. New ids go through LoadNew in one
// transaction; changed resources and ids repeated within the batch go
// through versioned writes in a second one. Both are idempotent, so a
// batch interrupted between them is completed by running it again.
func (im *Importer) write(ctx context.Context, name string, batch []parsed) (Batch, error) {
	res := Batch{Counts: map[string]Counts{}}
	byType := map[string][]string{}
	for i := range batch {
		p := &batch[i]
		res.Line = max(res.Line, p.n)
		if p.err != nil {
			res.Errors = append(res.Errors, errorLine(name, p.n, p.err))
			continue
		}
		byType[p.typ] = append(byType[p.typ], p.id)
	}
	existing := map[string]map[string]*store.Version{}
	for typ, ids := range byType {
		m, err := im.Store.Existing(ctx, typ, ids)
		if err != nil {
			return res, err
		}
		existing[typ] = m
	}

	now := im.now()
	seen := map[string]bool{}
	var fresh []store.NewResource
	var later []*parsed // versioned writes: changed, or repeated in this batch
	count := func(typ string, f func(*Counts)) {
		c := res.Counts[typ]
		f(&c)
		res.Counts[typ] = c
	}
	for i := range batch {
		p := &batch[i]
		if p.err != nil {
			continue
		}
		key := p.typ + "/" + p.id
		if seen[key] {
			later = append(later, p)
			continue
		}
		seen[key] = true
		cur := existing[p.typ][p.id]
		if cur != nil && !cur.Deleted {
			// A stored Patient keeps the identity links the server
			// maintains on it: importing its source's version again
			// neither drops them nor makes a new version.
			ix, changed, err := im.Svc.KeepLinks(p.res, p.id, cur.Content)
			if err != nil {
				return res, err
			}
			if changed {
				p.ix = ix
			}
		}
		switch {
		case cur == nil:
			fresh = append(fresh, store.NewResource{Type: p.typ, ID: p.id, Tenant: im.Tenant, LastUpdated: now,
				Content: p.res.Encode(p.id, 1, now), Index: p.ix})
		case same(p, cur):
			count(p.typ, func(c *Counts) { c.Unchanged++ })
		default:
			later = append(later, p)
		}
	}
	// In key order, so that batches written at once that share an id wait
	// for each other instead of deadlocking; the later one then takes the
	// careful path below.
	slices.SortFunc(fresh, func(a, b store.NewResource) int {
		return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.ID, b.ID))
	})
	provs, err := im.provenances(fresh, now)
	if err != nil {
		return res, err
	}
	if err := im.Store.LoadNew(ctx, append(fresh[:len(fresh):len(fresh)], provs...)); err != nil {
		if !store.IsDuplicate(err) {
			return res, err
		}
		// Another writer created one of the ids since Existing looked: take
		// the careful path for the whole batch.
		for i := range fresh {
			later = append(later, find(batch, fresh[i].Type, fresh[i].ID))
		}
		fresh = nil
	}
	for _, r := range fresh {
		count(r.Type, func(c *Counts) { c.Created++ })
	}
	im.Svc.WakeLinker() // the batch's Patients are queued for linking
	if len(later) == 0 {
		return res, nil
	}
	if im.Agent != nil {
		// The records name the caller who asked for the import; the job
		// runs on its behalf, so its reads are not restricted again.
		ctx = auth.WithPrincipal(store.WithAccess(ctx, &store.Access{All: true}), im.Agent)
	}
	var done map[string]Counts
	err = im.Store.Transaction(ctx, func(tx store.Tx) error {
		done = map[string]Counts{} // the function may run again on a conflict
		for _, p := range later {
			c := done[p.typ]
			if cur, err := tx.Read(ctx, p.typ, p.id); err == nil && same(p, cur) {
				c.Unchanged++
				done[p.typ] = c
				continue
			}
			w := im.Svc.Recorded(ctx, store.Write{Type: p.typ, ID: p.id, Method: store.MethodPut, Tenant: im.Tenant, Index: p.ix,
				Render: p.res.Encode})
			r, err := tx.Write(ctx, w)
			if err != nil {
				return err
			}
			if r.Outcome == store.Created {
				c.Created++
			} else {
				c.Updated++
			}
			done[p.typ] = c
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("bulk: versioned writes: %w", err)
	}
	for typ, d := range done {
		count(typ, func(c *Counts) {
			c.Created += d.Created
			c.Updated += d.Updated
			c.Unchanged += d.Unchanged
		})
	}
	return res, nil
}

// provenances records the batch's new resources in the same transaction:
// one Provenance per distinct set of security labels (all are creates),
// each carrying its targets' labels so the label filter hides it exactly
// when it hides them.
func (im *Importer) provenances(fresh []store.NewResource, now time.Time) ([]store.NewResource, error) {
	vs := make([]*store.Version, len(fresh))
	labels := make([][]audit.Label, len(fresh))
	for i := range fresh {
		r := &fresh[i]
		labels[i] = audit.FactsOf(r.Type, r.Content).Labels
		vs[i] = &store.Version{Type: r.Type, ID: r.ID, VersionID: 1, LastUpdated: now, Method: store.MethodPut}
	}
	ws, err := im.Svc.Records().Provenances(vs, labels, im.Agent)
	if err != nil {
		return nil, err
	}
	out := make([]store.NewResource, len(ws))
	for i, w := range ws {
		out[i] = store.NewResource{Type: w.Type, ID: w.ID, Tenant: im.Tenant, LastUpdated: now,
			Content: w.Render(w.ID, 1, now), Index: w.Index}
	}
	return out, nil
}

// same reports whether the stored current version has the line's content:
// the bytes it would have been stored as, with the stored version's own
// versionId and lastUpdated, are the stored bytes.
func same(p *parsed, cur *store.Version) bool {
	return !cur.Deleted && bytes.Equal(p.res.Encode(p.id, cur.VersionID, cur.LastUpdated), cur.Content)
}

func find(batch []parsed, typ, id string) *parsed {
	for i := range batch {
		if batch[i].err == nil && batch[i].typ == typ && batch[i].id == id {
			return &batch[i]
		}
	}
	panic("bulk: resource of a batch not found in it")
}

func (im *Importer) now() time.Time {
	if im.Now != nil {
		return im.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// errorLine is the OperationOutcome reported for a rejected line
// (https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status:
// error files hold OperationOutcome resources, one per line). Each issue
// names the file and line; the element is in expression when known.
func errorLine(name string, line int64, err error) []byte {
	oe, ok := outcome.As(err)
	if !ok {
		oe = outcome.New(500, outcome.CodeException, "%v", err)
	}
	issues := make([]outcome.Issue, len(oe.Issues))
	for i, is := range oe.Issues {
		if line > 0 {
			is.Diagnostics = fmt.Sprintf("%s line %d: %s", name, line, is.Diagnostics)
		} else {
			is.Diagnostics = fmt.Sprintf("%s: %s", name, is.Diagnostics)
		}
		issues[i] = is
	}
	return outcome.JSON(issues)
}
