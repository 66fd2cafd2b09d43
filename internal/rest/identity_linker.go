package rest

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/internal/store"
)

// The linker works the identity queue: every Patient version written, by
// any path and any gateway instance, was queued in its write's transaction.
// It runs asynchronously, in batches:
//
//  1. Without locks, it reads the queued Patients, looks their probe keys up
//     (MatchCandidates) and compares them with the candidates and with the
//     Patients they are already paired with. This is the CPU work.
//  2. In one transaction holding the identity lock, it takes the batch's
//     queue items (another instance may have taken them: then it does
//     nothing with those), replaces stale blocking keys, applies the grades
//     (certain: linked, probable: review, else no pair) wherever no steward
//     decided, and writes the Patient versions that show the changed sets.
//
// A Patient changed between 1 and 2 was queued again by that change, so it
// is looked at once more; nothing is lost and nothing is decided twice in
// conflicting ways. The delay from a write to its links is the time to
// reach its queue item: immediate when the write went through this
// instance (it wakes the linker), at most IdentityOptions.Poll otherwise,
// plus the batches ahead of it.

// LinkerPrincipal is the agent of the linker's writes, named in their
// Provenance and AuditEvents.
var LinkerPrincipal = &auth.Principal{Issuer: "https://mekong-fhir.github.io/fhir", Subject: "identity-linker", ClientID: "mekong-identity-linker"}

// LinkStats counts what the linker or a steward's decision did.
type LinkStats struct {
	// Patients is the number of queued Patients decided.
	Patients int
	// Linked, Queued and Dropped count pairs made linked, put in review and
	// removed (no longer a match, or a Patient deleted).
	Linked, Queued, Dropped int
	// Rekeyed counts Patients whose stored blocking keys were replaced.
	Rekeyed int
	// Projected counts Patient versions written to show their links.
	Projected int
}

func (a *LinkStats) add(b LinkStats) {
	a.Patients += b.Patients
	a.Linked += b.Linked
	a.Queued += b.Queued
	a.Dropped += b.Dropped
	a.Rekeyed += b.Rekeyed
	a.Projected += b.Projected
}

// RunLinker works the queue until ctx ends: right after a write through
// this instance, and every Poll for the others'. Errors are logged (never
// with patient data) and retried at the next poll.
func (s *Service) RunLinker(ctx context.Context, log *slog.Logger) {
	if s.ident == nil {
		return
	}
	if n, err := s.checkKeyVersion(ctx); err != nil {
		log.Error("identity linker: key version", slog.String("error", err.Error()))
	} else if n > 0 {
		log.Info("identity linker: the matcher's key version changed; every Patient is queued to be keyed and linked again", slog.Int("patients", n))
	}
	tick := time.NewTicker(s.ident.opts.Poll)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			st, n, err := s.linkBatch(ctx)
			if err != nil {
				if ctx.Err() == nil {
					log.Error("identity linker", slog.String("error", err.Error()))
				}
				break
			}
			if n > 0 {
				log.Debug("identity linker", slog.Int("patients", st.Patients), slog.Int("linked", st.Linked),
					slog.Int("queued", st.Queued), slog.Int("dropped", st.Dropped), slog.Int("projected", st.Projected))
			}
			if n < s.ident.opts.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.ident.wake:
			// Let the writes of a busy moment gather: one batch of many
			// Patients costs the database far less than many batches of
			// one, and 100 ms is nothing next to the poll bound.
			select {
			case <-ctx.Done():
				return
			case <-time.After(min(linkSettle, s.ident.opts.Poll)):
			}
		case <-tick.C:
		}
	}
}

// linkSettle is how long the linker waits after a local write before it
// looks at the queue.
const linkSettle = 100 * time.Millisecond

// DrainLinks works the queue until it is empty: the command line after an
// import or ingest, and tests.
func (s *Service) DrainLinks(ctx context.Context) (LinkStats, error) {
	var total LinkStats
	if s.ident == nil {
		return total, nil
	}
	if _, err := s.checkKeyVersion(ctx); err != nil {
		return total, err
	}
	for {
		st, n, err := s.linkBatch(ctx)
		total.add(st)
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// checkKeyVersion records the matcher's key version in the database, once
// per service: the configuration's keyVersion and the engine's key rules
// (match.KeyRules), as "<keyVersion>/<rules>". A change of either queues
// every Patient, so the linker replaces their keys (rekey) and links them
// with the new ones. An engine without a configuration (a test's) has no
// version.
func (s *Service) checkKeyVersion(ctx context.Context) (int, error) {
	id := s.ident
	c, ok := id.engine.(interface{ Config() match.Config })
	if !ok || id.keyChecked.Load() {
		return 0, nil
	}
	n, err := id.st.KeyVersion(ctx, strconv.Itoa(c.Config().KeyVersion)+"/"+strconv.Itoa(match.KeyRules))
	if err == nil {
		id.keyChecked.Store(true)
	}
	return n, err
}

// LinkBacklog is the number of queued Patient writes not yet linked.
func (s *Service) LinkBacklog(ctx context.Context) (int, error) {
	if s.ident == nil {
		return 0, nil
	}
	return s.ident.st.Backlog(ctx)
}

// queued is one Patient of a batch, with what phase 1 found.
type queued struct {
	id   string
	seqs []int64
	live bool
	// version is the version compared.
	version int64
	keys    []string
	// results are the grades against each candidate and paired Patient.
	results map[string]scored
	// hadLinks is set when the version compared carries links the server
	// maintains.
	hadLinks bool
}

type scored struct {
	version int64
	r       match.Result
}

// linkBatch decides one batch of the queue; n is the number of queue items
// it read (0: the queue was empty).
func (s *Service) linkBatch(ctx context.Context) (LinkStats, int, error) {
	var stats LinkStats
	id := s.ident
	items, err := id.st.Queued(ctx, id.opts.Batch)
	if err != nil || len(items) == 0 {
		return stats, 0, err
	}
	batch, err := s.compareQueued(ctx, items)
	if err != nil {
		return stats, len(items), err
	}
	var seqs []int64
	for _, q := range batch {
		seqs = append(seqs, q.seqs...)
	}
	lctx := store.WithAccess(auth.WithPrincipal(ctx, LinkerPrincipal), &store.Access{All: true})
	err = s.identityTransaction(lctx, &stats, func(lctx context.Context, lt *linkTx) error {
		taken, err := lt.itx.TakeQueued(lctx, seqs)
		if err != nil {
			return err
		}
		mine := map[int64]bool{}
		for _, t := range taken {
			mine[t] = true
		}
		var decide []*queued
		for _, q := range batch {
			if slices.ContainsFunc(q.seqs, func(x int64) bool { return mine[x] }) {
				decide = append(decide, q)
			}
		}
		if err := lt.rekey(lctx, decide); err != nil {
			return err
		}
		// Every pair and set the decisions may look at, read at once.
		var ids []string
		for _, q := range decide {
			ids = append(ids, q.id)
			for o, sc := range q.results {
				if sc.r.Grade == "certain" || sc.r.Grade == "probable" {
					ids = append(ids, o)
				}
			}
		}
		if err := lt.load(lctx, ids...); err != nil {
			return err
		}
		for _, q := range decide {
			if err := lt.decide(lctx, q); err != nil {
				return err
			}
			lt.stats.Patients++
		}
		return nil
	})
	return stats, len(items), err
}

// compareQueued is phase 1: the batch's Patients compared with their
// candidates and with the Patients they are paired with, outside any lock.
func (s *Service) compareQueued(ctx context.Context, items []store.QueueItem) ([]*queued, error) {
	id := s.ident
	byID := map[string]*queued{}
	var batch []*queued
	for _, it := range items {
		q := byID[it.ID]
		if q == nil {
			q = &queued{id: it.ID, results: map[string]scored{}}
			byID[it.ID] = q
			batch = append(batch, q)
		}
		q.seqs = append(q.seqs, it.Seq)
	}
	ids := make([]string, len(batch))
	for i, q := range batch {
		ids[i] = q.id
	}
	vs, err := id.st.Patients(ctx, ids)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex // guards records and versions
	records := map[string]match.Record{}
	versions := map[string]int64{}
	parse := func(v *store.Version) (match.Record, bool) {
		r, ok := id.parse(v)
		if !ok {
			return match.Record{}, false
		}
		mu.Lock()
		records[v.ID], versions[v.ID] = r, v.VersionID
		mu.Unlock()
		return r, true
	}
	// The batch's Patients are looked up together: a few statements for the
	// whole batch, not a few per Patient.
	var live []*queued
	var probes []match.Record
	var qs []store.CandidateQuery
	for i := range vs {
		q := byID[vs[i].ID]
		rec, ok := parse(&vs[i])
		if !ok {
			continue
		}
		q.live, q.version = true, vs[i].VersionID
		q.hadLinks = bytes.Contains(vs[i].Content, []byte(linkExtension))
		q.keys = id.engine.Keys(rec)
		live = append(live, q)
		probes = append(probes, rec)
		qs = append(qs, store.CandidateQuery{Keys: id.engine.ProbeKeys(rec), PerKey: id.opts.PerKey, Limit: id.opts.Candidates,
			Exclude: []string{q.id}})
	}
	cands, _, err := id.candidatesBatch(ctx, qs)
	if err != nil {
		return nil, err
	}
	for i := range live {
		for _, c := range cands[i] {
			records[c.v.ID], versions[c.v.ID] = c.rec, c.v.VersionID
		}
	}
	// Comparing is the CPU work: on every core.
	err = parallel(len(live), func(i int) error {
		q := live[i]
		for _, c := range cands[i] {
			q.results[c.v.ID] = scored{version: c.v.VersionID, r: id.engine.Compare(probes[i], c.rec)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Patients paired by the engine but no longer among the candidates
	// (a name or identifier changed) are compared again, so a pair that no
	// longer holds is dropped rather than kept on old evidence.
	pairs, err := id.st.PairsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	// each calls f with a queued live Patient and the other end of each of
	// its engine pairs that it was not compared with.
	each := func(f func(q *queued, other string)) {
		for _, p := range pairs {
			if p.Manual {
				continue
			}
			for _, end := range [][2]string{{p.A, p.B}, {p.B, p.A}} {
				if q := byID[end[0]]; q != nil && q.live {
					if _, ok := q.results[end[1]]; !ok {
						f(q, end[1])
					}
				}
			}
		}
	}
	var more []string
	each(func(_ *queued, other string) {
		if _, ok := records[other]; !ok && !slices.Contains(more, other) {
			more = append(more, other)
		}
	})
	if len(more) > 0 {
		pvs, err := id.st.Patients(ctx, more)
		if err != nil {
			return nil, err
		}
		for i := range pvs {
			parse(&pvs[i])
		}
	}
	each(func(q *queued, other string) {
		if rec, ok := records[other]; ok {
			q.results[other] = scored{version: versions[other], r: id.engine.Compare(records[q.id], rec)}
		}
	})
	return batch, nil
}

// rekey replaces the stored blocking keys of the batch's Patients that
// differ from the engine's (stored before keys existed, or by an engine
// whose key version changed).
func (lt *linkTx) rekey(ctx context.Context, batch []*queued) error {
	var ids []string
	for _, q := range batch {
		if q.live {
			ids = append(ids, q.id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	stored, err := lt.itx.MatchKeys(ctx, ids)
	if err != nil {
		return err
	}
	for _, q := range batch {
		if !q.live {
			continue
		}
		have := slices.Sorted(slices.Values(stored[q.id]))
		want := slices.Sorted(slices.Values(q.keys))
		if slices.Equal(slices.Compact(have), slices.Compact(want)) {
			continue
		}
		if err := lt.itx.SetMatchKeys(ctx, q.id, slices.Compact(want)); err != nil {
			return err
		}
		lt.stats.Rekeyed++
	}
	return nil
}

// decide applies one queued Patient's grades to its pairs: certain links
// (or queues for review, when a steward's decision or the set size forbids
// the link), probable queues, anything lower removes the engine's pair. A
// steward's decision is never touched. A deleted Patient loses the engine's
// pairs.
//
// Most Patients match no one: for them nothing is written and no set is
// looked at, unless their stored version lost links the server maintains.
func (lt *linkTx) decide(ctx context.Context, q *queued) error {
	if err := lt.load(ctx, q.id); err != nil {
		return err
	}
	existing := maps.Clone(lt.pairs.of(q.id))
	inSet := q.hadLinks
	for _, p := range existing {
		inSet = inSet || p.State == store.PairLinked
	}
	if inSet {
		// Its set as it was, shown again once the decisions are made (it may
		// split, or the Patient's new version may lack its links).
		if err := lt.touch(ctx, q.id); err != nil {
			return err
		}
	}
	drop := func(p *store.Pair) error {
		lt.drop(p.A, p.B)
		lt.stats.Dropped++
		return lt.touch(ctx, p.Other(q.id))
	}
	if !q.live {
		for _, p := range existing {
			if !p.Manual {
				if err := drop(p); err != nil {
					return err
				}
			} else if err := lt.touch(ctx, p.Other(q.id)); err != nil {
				return err
			}
		}
		return nil
	}
	others := make([]string, 0, len(q.results))
	for o := range q.results {
		others = append(others, o)
	}
	for o, p := range existing {
		if _, ok := q.results[o]; !ok && !p.Manual {
			others = append(others, o) // paired but no longer comparable (deleted): dropped below
		}
	}
	sort.Strings(others)
	now := time.Now().UTC()
	for _, o := range others {
		ex := existing[o]
		if ex != nil && ex.Manual {
			continue
		}
		sc, compared := q.results[o]
		state, note := "", ""
		switch {
		case compared && sc.r.Grade == "certain":
			state = store.PairLinked
			if ex == nil || ex.State != store.PairLinked {
				ok, why, err := lt.joinable(ctx, q.id, o)
				if err != nil {
					return err
				}
				if !ok {
					state, note = store.PairReview, why
				}
			}
		case compared && sc.r.Grade == "probable":
			state = store.PairReview
			if ex == nil || ex.State != store.PairReview {
				// A pair no steward could confirm (a steward's decision or
				// the set size stands in the way) is not queued.
				ok, _, err := lt.joinable(ctx, q.id, o)
				if err != nil {
					return err
				}
				if !ok {
					state = ""
				}
			}
		}
		if state == "" {
			if ex != nil {
				if err := drop(ex); err != nil {
					return err
				}
			}
			continue
		}
		a, b := store.PairKey(q.id, o)
		p := store.Pair{A: a, B: b, State: state, Score: sc.r.Score, Grade: string(sc.r.Grade), Evidence: encodeEvidence(sc.r.Evidence),
			Note: note, Updated: now}
		p.VersionA, p.VersionB = q.version, sc.version
		if a != q.id {
			p.VersionA, p.VersionB = sc.version, q.version
		}
		if ex != nil && ex.State == p.State && ex.Grade == p.Grade && ex.Score == p.Score && ex.Note == p.Note &&
			ex.VersionA == p.VersionA && ex.VersionB == p.VersionB {
			continue // unchanged
		}
		if ex == nil || ex.State != p.State {
			if state == store.PairLinked {
				lt.stats.Linked++
			} else {
				lt.stats.Queued++
			}
		}
		if ex != nil && ex.State == store.PairLinked && state != store.PairLinked {
			// A link becoming a review splits the set: show it as it was.
			if err := lt.touch(ctx, q.id); err != nil {
				return err
			}
		}
		lt.save(p) // the next pair's joinable sees this one
		if state == store.PairLinked || (ex != nil && ex.State == store.PairLinked) {
			if err := lt.touch(ctx, q.id, o); err != nil {
				return err
			}
		}
	}
	return nil
}

// pairIndex is the pairs of a batch's Patients, kept current as decisions
// are saved, so a batch reads them once.
type pairIndex struct {
	by map[string]map[string]*store.Pair
}

func newPairIndex(ps []store.Pair) *pairIndex {
	x := &pairIndex{by: map[string]map[string]*store.Pair{}}
	for i := range ps {
		x.put(ps[i])
	}
	return x
}

func (x *pairIndex) put(p store.Pair) {
	for _, end := range []string{p.A, p.B} {
		if x.by[end] == nil {
			x.by[end] = map[string]*store.Pair{}
		}
		cp := p
		x.by[end][p.Other(end)] = &cp
	}
}

func (x *pairIndex) drop(a, b string) {
	delete(x.by[a], b)
	delete(x.by[b], a)
}

func (x *pairIndex) of(id string) map[string]*store.Pair { return x.by[id] }

func (x *pairIndex) get(a, b string) *store.Pair { return x.by[a][b] }
