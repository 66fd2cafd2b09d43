package rest

import (
	"container/list"
	"context"
	"sync"

	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/internal/store"
)

// recordCache keeps the matcher's view of recently compared Patient
// versions, so a common name's candidates are not read and parsed from
// their JSON on every $match: a probe compares with hundreds of Patients,
// and reading them costs more than comparing them. Entries are keyed by id
// and hold the version they were read from, so a newer version is read
// again; the size is bounded (IdentityOptions.CacheSize), least recently
// used first out.
type recordCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recent; values are *cached
	byID  map[string]*list.Element
}

type cached struct {
	id      string
	version int64
	rec     match.Record
}

func newRecordCache(n int) *recordCache {
	return &recordCache{max: n, order: list.New(), byID: map[string]*list.Element{}}
}

func (c *recordCache) get(id string, version int64) (match.Record, bool) {
	if c == nil || c.max <= 0 {
		return match.Record{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[id]
	if !ok || e.Value.(*cached).version != version {
		return match.Record{}, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cached).rec, true
}

func (c *recordCache) put(id string, version int64, rec match.Record) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID[id]; ok {
		if e.Value.(*cached).version <= version {
			e.Value = &cached{id: id, version: version, rec: rec}
		}
		c.order.MoveToFront(e)
		return
	}
	c.byID[id] = c.order.PushFront(&cached{id: id, version: version, rec: rec})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byID, last.Value.(*cached).id)
	}
}

// preparer is an Engine that readies a record once for many comparisons
// (*match.Matcher: romanizing and keying the names is most of a
// comparison's cost).
type preparer interface {
	Prepare(match.Record) match.Record
}

// prepare readies r for the engine's comparisons, if it can.
func (id *identity) prepare(r match.Record) match.Record {
	if p, ok := id.engine.(preparer); ok {
		return p.Prepare(r)
	}
	return r
}

// parse is the matcher's record of a stored Patient version, from the cache
// or parsed, prepared and cached.
func (id *identity) parse(v *store.Version) (match.Record, bool) {
	if rec, ok := id.cache.get(v.ID, v.VersionID); ok {
		return rec, true
	}
	rec, err := match.ParsePatient(v.ID, v.Content)
	if err != nil {
		return match.Record{}, false // stored content always parses; a record that does not is not compared
	}
	rec = id.prepare(rec)
	id.cache.put(v.ID, v.VersionID, rec)
	return rec, true
}

// candidate is a Patient compared with a probe.
type candidate struct {
	v   store.Version // without content unless it was read
	rec match.Record
}

// candidates returns the Patients sharing a key with a probe, visible under
// ctx's access, as the matcher sees them: the versions come from the store
// (so access, deletes and new versions always apply) and each version's
// record from the cache, or is read and parsed once.
func (id *identity) candidates(ctx context.Context, q store.CandidateQuery) ([]candidate, *store.Candidates, error) {
	cs, found, err := id.candidatesBatch(ctx, []store.CandidateQuery{q})
	if err != nil {
		return nil, nil, err
	}
	return cs[0], found[0], nil
}

// candidatesBatch is candidates for several probes: three statements
// whatever their number (keys, versions, and the records not cached).
func (id *identity) candidatesBatch(ctx context.Context, qs []store.CandidateQuery) ([][]candidate, []*store.Candidates, error) {
	for i := range qs {
		qs[i].VersionsOnly = true
	}
	found, err := id.st.MatchCandidatesBatch(ctx, qs)
	if err != nil {
		return nil, nil, err
	}
	out := make([][]candidate, len(qs))
	recs := map[string]match.Record{}
	var missing []string
	for i, c := range found {
		out[i] = make([]candidate, len(c.Versions))
		for j, v := range c.Versions {
			out[i][j].v = v
			if _, ok := recs[v.ID]; ok {
				continue
			}
			if rec, ok := id.cache.get(v.ID, v.VersionID); ok {
				recs[v.ID] = rec
				continue
			}
			recs[v.ID] = match.Record{}
			missing = append(missing, v.ID)
		}
	}
	read := map[string]store.Version{}
	if len(missing) > 0 {
		vs, err := id.st.Patients(ctx, missing)
		if err != nil {
			return nil, nil, err
		}
		for i := range vs {
			v := &vs[i]
			rec, ok := id.parse(v)
			if !ok {
				continue
			}
			recs[v.ID] = rec
			read[v.ID] = *v
		}
	}
	for i := range out {
		kept := out[i][:0]
		for _, c := range out[i] {
			if v, ok := read[c.v.ID]; ok {
				c.v = v // read again: it may be newer than the version listed
			}
			c.rec = recs[c.v.ID]
			// A candidate deleted between the two reads has no record and
			// is dropped; one changed in between is compared as it is now.
			if c.rec.ID != "" {
				kept = append(kept, c)
			}
		}
		out[i] = kept
	}
	return out, found, nil
}
