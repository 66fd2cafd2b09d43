package rest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Linked sets and their projection onto Patient.link. A linked set is the
// live Patients joined by linked pairs (an automatic certain match or a
// steward's link). Every member shows the others as Patient.link of type
// seealso (https://hl7.org/fhir/R4/patient-definitions.html#Patient.link):
// "Patient/x is the same person", readable with the Patient and searchable
// as Patient?link=Patient/x. A member lists another only when everyone who
// may read it may read the other (the other's restricted labels are among
// its own), so a link never names a Patient hidden from its reader.

// Assurance levels of a link (http://hl7.org/fhir/identity-assuranceLevel).
const (
	assuranceManual = "level4" // a steward decided about the two
	assuranceAuto   = "level3" // the engine's certain match, directly or through others
)

// evidenceJSON is how a pair's evidence is stored and shown.
type evidenceJSON struct {
	Field   string  `json:"field"`
	Outcome string  `json:"outcome"`
	Detail  string  `json:"detail,omitempty"`
	Weight  float64 `json:"weight"`
}

func encodeEvidence(ev []match.Evidence) []byte {
	out := make([]evidenceJSON, len(ev))
	for i, e := range ev {
		out[i] = evidenceJSON{Field: e.Field, Outcome: e.Outcome, Detail: e.Detail, Weight: e.Weight}
	}
	b, _ := fhirjson.Marshal(out)
	return b
}

func decodeEvidence(b []byte) []match.Evidence {
	var in []evidenceJSON
	_ = json.Unmarshal(b, &in)
	out := make([]match.Evidence, len(in))
	for i, e := range in {
		out[i] = match.Evidence{Field: e.Field, Outcome: e.Outcome, Detail: e.Detail, Weight: e.Weight}
	}
	return out
}

// linkTx is one identity transaction: the store transaction (whose writes
// are recorded like every write), its identity storage, the pairs it has
// read and changed, and the ids whose linked sets it changed, to be shown
// again on Patient.link.
//
// The pairs around the Patients being decided are read once, a level of
// links at a time for all of them (load), and every decision is made on
// that copy: linked sets, the rules a link must keep and the paths between
// two Patients are worked out in memory, and the changes are written at the
// end, with the Patient versions that show them. Holding the identity lock
// keeps the copy true for the whole transaction.
type linkTx struct {
	s        *Service
	tx       store.Tx
	itx      store.IdentityTx
	affected map[string]bool
	stats    *LinkStats
	// pending are the Patient versions that will show the changed sets.
	pending []store.Write
	// loaded are the Patients whose pairs are all in pairs; live says
	// which of them are live.
	loaded, live map[string]bool
	pairs        *pairIndex
	// changed are the pairs to write: the new pair, or nil to delete it.
	changed map[[2]string]*store.Pair
}

// identityTransaction runs fn in one store transaction holding the identity
// lock, then shows the changed linked sets on Patient.link in the same
// transaction: a decision and the Patient versions that show it commit
// together, and decisions never interleave.
func (s *Service) identityTransaction(ctx context.Context, stats *LinkStats, fn func(ctx context.Context, lt *linkTx) error) error {
	// The links are the server's: every member is read and shown whoever
	// asked for the decision (it was checked before that they may).
	ctx = store.WithAccess(ctx, &store.Access{All: true})
	return s.store.Transaction(ctx, func(tx store.Tx) error {
		rt, ok := tx.(*recordingTx)
		if !ok {
			return fmt.Errorf("rest: identity transaction outside the recorder")
		}
		itx := rt.identity()
		if itx == nil {
			return fmt.Errorf("rest: the store keeps no identity links")
		}
		if err := itx.LockIdentity(ctx); err != nil {
			return err
		}
		run := *stats // the function may run again: count only the last run
		lt := &linkTx{s: s, tx: tx, itx: itx, affected: map[string]bool{}, stats: &run,
			loaded: map[string]bool{}, live: map[string]bool{}, pairs: newPairIndex(nil), changed: map[[2]string]*store.Pair{}}
		if err := fn(ctx, lt); err != nil {
			return err
		}
		if err := lt.project(ctx); err != nil {
			return err
		}
		*stats = run
		return nil
	})
}

// load reads the pairs of ids and of every Patient linked to them, directly
// or through others: two statements per level of links for all of ids.
func (lt *linkTx) load(ctx context.Context, ids ...string) error {
	var frontier []string
	for _, id := range ids {
		if !lt.loaded[id] && !slices.Contains(frontier, id) {
			frontier = append(frontier, id)
		}
	}
	for len(frontier) > 0 {
		ps, err := lt.itx.PairsOf(ctx, frontier)
		if err != nil {
			return err
		}
		vs, err := lt.itx.Current(ctx, frontier, false)
		if err != nil {
			return err
		}
		for _, id := range frontier {
			lt.loaded[id] = true
		}
		for _, v := range vs {
			lt.live[v.ID] = true
		}
		var next []string
		for _, p := range ps {
			if _, known := lt.changed[[2]string{p.A, p.B}]; known || lt.pairs.get(p.A, p.B) != nil {
				continue // this transaction's copy is newer
			}
			lt.pairs.put(p)
			if p.State != store.PairLinked {
				continue
			}
			for _, end := range []string{p.A, p.B} {
				o := p.Other(end)
				if lt.live[end] && !lt.loaded[o] && !slices.Contains(next, o) {
					next = append(next, o)
				}
			}
		}
		frontier = next
	}
	return nil
}

// component is the linked set of id (id first; nil when id is not live):
// the live Patients reached over linked pairs.
func (lt *linkTx) component(ctx context.Context, id string) ([]string, error) {
	if err := lt.load(ctx, id); err != nil {
		return nil, err
	}
	if !lt.live[id] {
		return nil, nil
	}
	seen := map[string]bool{id: true}
	out := []string{id}
	for i := 0; i < len(out); i++ {
		for o, p := range lt.pairs.of(out[i]) {
			if p.State != store.PairLinked || seen[o] {
				continue
			}
			if !lt.loaded[o] {
				if err := lt.load(ctx, o); err != nil {
					return nil, err
				}
			}
			if lt.live[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	slices.Sort(out[1:])
	return out, nil
}

// touch marks the linked set of id (as it is now) for projection.
func (lt *linkTx) touch(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		comp, err := lt.component(ctx, id)
		if err != nil {
			return err
		}
		lt.affected[id] = true
		for _, m := range comp {
			lt.affected[m] = true
		}
	}
	return nil
}

// pairOf returns the pair of a and b, or nil.
func (lt *linkTx) pairOf(ctx context.Context, a, b string) (*store.Pair, error) {
	if err := lt.load(ctx, a); err != nil {
		return nil, err
	}
	return lt.pairs.get(a, b), nil
}

// save records a pair (written with the transaction's other changes).
func (lt *linkTx) save(p store.Pair) {
	lt.pairs.put(p)
	lt.changed[[2]string{p.A, p.B}] = &p
}

// drop removes a pair.
func (lt *linkTx) drop(a, b string) {
	a, b = store.PairKey(a, b)
	lt.pairs.drop(a, b)
	lt.changed[[2]string{a, b}] = nil
}

// joinable says whether linking a and b keeps every rule: no steward
// decided that a member of a's set and one of b's are different people,
// and the joined set stays within MaxSet. why explains a refusal.
func (lt *linkTx) joinable(ctx context.Context, a, b string) (ok bool, why string, err error) {
	ca, err := lt.component(ctx, a)
	if err != nil {
		return false, "", err
	}
	if slices.Contains(ca, b) {
		return true, "", nil
	}
	cb, err := lt.component(ctx, b)
	if err != nil {
		return false, "", err
	}
	if n := len(ca) + len(cb); n > lt.s.ident.opts.MaxSet {
		return false, fmt.Sprintf("linking would make a set of %d Patients, more than the %d allowed (identity maxSet)", n, lt.s.ident.opts.MaxSet), nil
	}
	for _, m := range ca {
		for o, p := range lt.pairs.of(m) {
			if p.State == store.PairDistinct && slices.Contains(cb, o) {
				return false, fmt.Sprintf("a steward decided that Patient/%s and Patient/%s are different people", p.A, p.B), nil
			}
		}
	}
	return true, "", nil
}

// project writes the transaction's pair changes, then a new version of
// every live Patient of the affected linked sets whose server-maintained
// links differ from its set's members. The writes are the linker's
// (Unqueued: no second look), each conditional on the version read, and
// recorded with their Provenance like any write.
func (lt *linkTx) project(ctx context.Context) error {
	ids := slices.Sorted(maps.Keys(lt.affected))
	var comps [][]string
	done := map[string]bool{}
	for _, id := range ids {
		if done[id] {
			continue
		}
		comp, err := lt.component(ctx, id)
		if err != nil {
			return err
		}
		done[id] = true
		for _, m := range comp {
			done[m] = true
		}
		if len(comp) > 0 {
			comps = append(comps, comp)
		}
	}
	// A probable pair of two Patients already linked through others needs
	// no steward any more.
	for _, comp := range comps {
		for _, m := range comp {
			for o, p := range lt.pairs.of(m) {
				if !p.Manual && p.State == store.PairReview && slices.Contains(comp, o) {
					lt.drop(p.A, p.B)
					lt.stats.Dropped++
				}
			}
		}
	}
	if err := lt.writePairs(ctx); err != nil {
		return err
	}
	var members []string
	for _, comp := range comps {
		members = append(members, comp...)
	}
	if len(members) == 0 {
		return nil
	}
	vs, err := lt.itx.Current(ctx, members, true)
	if err != nil {
		return err
	}
	current := make(map[string]*store.Version, len(vs))
	for i := range vs {
		current[vs[i].ID] = &vs[i]
	}
	for _, comp := range comps {
		if err := lt.projectSet(comp, current); err != nil {
			return err
		}
	}
	return lt.flushLinks(ctx)
}

// writePairs writes the pairs the transaction changed: two statements.
func (lt *linkTx) writePairs(ctx context.Context) error {
	var del [][2]string
	var save []store.Pair
	for _, k := range slices.SortedFunc(maps.Keys(lt.changed), func(x, y [2]string) int {
		return cmp.Or(strings.Compare(x[0], y[0]), strings.Compare(x[1], y[1]))
	}) {
		if p := lt.changed[k]; p != nil {
			save = append(save, *p)
		} else {
			del = append(del, k)
		}
	}
	lt.changed = map[[2]string]*store.Pair{}
	if len(del) > 0 {
		if err := lt.itx.DeletePairs(ctx, del); err != nil {
			return err
		}
	}
	return lt.itx.SavePairs(ctx, save)
}

func (lt *linkTx) projectSet(comp []string, current map[string]*store.Version) error {
	type member struct {
		v      *store.Version
		labels map[string]bool
	}
	ms := make(map[string]*member, len(comp))
	var live []string
	for _, id := range comp {
		v := current[id]
		if v == nil {
			continue // deleted since: its delete queued it
		}
		labels := map[string]bool{}
		for _, l := range audit.FactsOf(v.Type, v.Content).Labels {
			if k := l.System + "|" + l.Code; slices.Contains(lt.s.Policy.Restricted, k) {
				labels[k] = true
			}
		}
		ms[id] = &member{v: v, labels: labels}
		live = append(live, id)
	}
	slices.Sort(live)
	for _, id := range live {
		m := ms[id]
		var want []patientLink
		for _, x := range live {
			if x == id || !subset(ms[x].labels, m.labels) {
				continue
			}
			l := patientLink{Type: "seealso", Extension: []linkExt{{URL: linkExtension, ValueCode: assuranceAuto}}}
			if p := lt.pairs.get(id, x); p != nil && p.Manual && p.State == store.PairLinked {
				l.Extension[0].ValueCode = assuranceManual
			}
			l.Other.Reference = "Patient/" + x
			want = append(want, l)
		}
		res, err := resource.Stored(m.v.Content)
		if err != nil {
			return fmt.Errorf("rest: identity: stored Patient %s: %w", id, err)
		}
		own, have := splitLinks(res.Member("link"))
		if sameLinks(have, want) {
			continue
		}
		res.SetMember("link", joinLinks(own, want))
		ix, _, err := lt.s.index(res, id)
		if err != nil {
			return err
		}
		lt.pending = append(lt.pending, store.Write{Type: store.LinkedType, ID: id, Method: store.MethodPut, IfMatch: m.v.VersionID,
			Unqueued: true, Index: ix, Render: res.Encode})
	}
	return nil
}

// flushLinks writes the Patient versions the projection decided, as one
// batch (one Provenance for them all). A Patient written since it was read
// is left out: that write queued it, and its turn in the queue shows its
// links.
func (lt *linkTx) flushLinks(ctx context.Context) error {
	ws := lt.pending
	for len(ws) > 0 {
		_, err := lt.tx.WriteBatch(ctx, ws)
		var be *store.BatchError
		if errors.As(err, &be) {
			if e, ok := outcome.As(be.Err); ok && e.Status == http.StatusPreconditionFailed {
				ws = slices.Delete(slices.Clone(ws), be.Index, be.Index+1)
				continue
			}
		}
		if err != nil {
			return err
		}
		lt.stats.Projected += len(ws)
		break
	}
	lt.pending = nil
	return nil
}

func subset(a, b map[string]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func sameLinks(a, b []patientLink) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Other.Reference != b[i].Other.Reference || a[i].Type != b[i].Type || len(a[i].Extension) != len(b[i].Extension) {
			return false
		}
		for j := range a[i].Extension {
			if a[i].Extension[j] != b[i].Extension[j] {
				return false
			}
		}
	}
	return true
}
