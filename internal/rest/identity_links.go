package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"

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
	b, _ := json.Marshal(out)
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
// are recorded like every write), its identity storage, and the ids whose
// linked sets it changed, to be shown again on Patient.link.
type linkTx struct {
	s        *Service
	tx       store.Tx
	itx      store.IdentityTx
	affected map[string]bool
	stats    *LinkStats
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
		lt := &linkTx{s: s, tx: tx, itx: itx, affected: map[string]bool{}, stats: &run}
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

// component is the linked set of id (id first; nil when id is not live).
func (lt *linkTx) component(ctx context.Context, id string) ([]string, error) {
	return lt.itx.LinkedComponent(ctx, id, 4*lt.s.ident.opts.MaxSet)
}

// touch marks the linked set of id (as it is now) for projection.
func (lt *linkTx) touch(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if lt.affected[id] {
			continue
		}
		lt.affected[id] = true
		comp, err := lt.component(ctx, id)
		if err != nil {
			return err
		}
		for _, m := range comp {
			lt.affected[m] = true
		}
	}
	return nil
}

// pairOf returns the stored pair of a and b, or nil.
func (lt *linkTx) pairOf(ctx context.Context, a, b string) (*store.Pair, error) {
	ps, err := lt.itx.PairsOf(ctx, []string{a})
	if err != nil {
		return nil, err
	}
	x, y := store.PairKey(a, b)
	for i := range ps {
		if ps[i].A == x && ps[i].B == y {
			return &ps[i], nil
		}
	}
	return nil, nil
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
	ps, err := lt.itx.PairsOf(ctx, ca)
	if err != nil {
		return false, "", err
	}
	for _, p := range ps {
		if p.State != store.PairDistinct {
			continue
		}
		if (slices.Contains(ca, p.A) && slices.Contains(cb, p.B)) || (slices.Contains(ca, p.B) && slices.Contains(cb, p.A)) {
			return false, fmt.Sprintf("a steward decided that Patient/%s and Patient/%s are different people", p.A, p.B), nil
		}
	}
	return true, "", nil
}

// project writes a new version of every live Patient of the affected
// linked sets whose server-maintained links differ from its set's members.
// The writes are the linker's (Unqueued: no second look), each conditional
// on the version read, and recorded with their Provenance like any write.
func (lt *linkTx) project(ctx context.Context) error {
	ids := make([]string, 0, len(lt.affected))
	for id := range lt.affected {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	done := map[string]bool{}
	for _, id := range ids {
		if done[id] {
			continue
		}
		comp, err := lt.component(ctx, id)
		if err != nil {
			return err
		}
		if len(comp) == 0 {
			done[id] = true // deleted: nothing to show
			continue
		}
		for _, m := range comp {
			done[m] = true
		}
		if err := lt.projectSet(ctx, comp); err != nil {
			return err
		}
	}
	return nil
}

func (lt *linkTx) projectSet(ctx context.Context, comp []string) error {
	type member struct {
		v      *store.Version
		labels map[string]bool
	}
	ms := make(map[string]*member, len(comp))
	for _, id := range comp {
		v, err := lt.tx.Read(ctx, store.LinkedType, id)
		if err != nil {
			return err
		}
		labels := map[string]bool{}
		for _, l := range audit.FactsOf(v.Type, v.Content).Labels {
			if k := l.System + "|" + l.Code; slices.Contains(lt.s.Policy.Restricted, k) {
				labels[k] = true
			}
		}
		ms[id] = &member{v: v, labels: labels}
	}
	manual := map[[2]string]bool{}
	if len(comp) > 1 {
		ps, err := lt.itx.PairsOf(ctx, comp)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.Manual && p.State == store.PairLinked {
				manual[[2]string{p.A, p.B}] = true
			}
		}
	}
	sorted := slices.Sorted(slices.Values(comp))
	for _, id := range sorted {
		m := ms[id]
		var want []patientLink
		for _, x := range sorted {
			if x == id || !subset(ms[x].labels, m.labels) {
				continue
			}
			l := patientLink{Type: "seealso", Extension: []linkExt{{URL: linkExtension, ValueCode: assuranceAuto}}}
			if a, b := store.PairKey(id, x); manual[[2]string{a, b}] {
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
		ix, err := lt.s.index(res, id)
		if err != nil {
			return err
		}
		w := store.Write{Type: store.LinkedType, ID: id, Method: store.MethodPut, IfMatch: m.v.VersionID, Unqueued: true,
			Index: ix, Render: res.Encode}
		if _, err := lt.tx.Write(ctx, w); err != nil {
			if e, ok := outcome.As(err); ok && e.Status == http.StatusPreconditionFailed {
				// Written since it was read: that write queued it, and its
				// turn in the queue shows its links.
				continue
			}
			return err
		}
		lt.stats.Projected++
	}
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
