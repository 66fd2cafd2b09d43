package storetest

// Identity contract (issue 11): blocking keys stored as index rows of the
// write, a durable queue fed by every Patient write path, pair decisions and
// linked sets, and the review queue, identical on every store.

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

func keyIndex(labelled bool, keys ...string) *search.Index {
	ix := &search.Index{}
	for _, k := range keys {
		ix.Tokens = append(ix.Tokens, search.TokenRow{Param: store.MatchKeyParam, Code: k})
	}
	if labelled {
		ix.Tokens = append(ix.Tokens, search.TokenRow{Param: "_security", System: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", Code: "R"})
	}
	return ix
}

func candidateIDs(t *testing.T, ctx context.Context, id store.Identity, q store.CandidateQuery) ([]string, *store.Candidates) {
	t.Helper()
	c, err := id.MatchCandidates(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range c.Versions {
		if len(v.Content) == 0 || v.VersionID == 0 {
			t.Fatalf("candidate %s without content or version", v.ID)
		}
		out = append(out, v.ID)
	}
	return out, c
}

// testMatchKeys: keys are written, replaced and cleared with the Patient's
// index; lookups follow key order, skip mega-blocks and apply the caller's
// Access.
func testMatchKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	id := s.(store.Identity)
	put(t, s, store.Write{Type: "Patient", ID: "p1", Index: keyIndex(false, "n:sok", "id:1")})
	put(t, s, store.Write{Type: "Patient", ID: "p2", Index: keyIndex(false, "n:sok", "id:2")})
	put(t, s, store.Write{Type: "Patient", ID: "p3", Index: keyIndex(true, "n:sok", "id:3")})
	put(t, s, store.Write{Type: "Patient", ID: "p4", Index: keyIndex(false, "n:chan")})
	// Another type's rows of the same parameter never count.
	put(t, s, store.Write{Type: "Observation", ID: "o1", Index: keyIndex(false, "n:sok")})

	got, _ := candidateIDs(t, ctx, id, store.CandidateQuery{Keys: []string{"id:2", "n:sok"}, PerKey: 10, Limit: 10})
	if !slices.Equal(got, []string{"p2", "p1", "p3"}) {
		t.Fatalf("candidates %v, want p2 (first key) then p1, p3", got)
	}
	got, c := candidateIDs(t, ctx, id, store.CandidateQuery{Keys: []string{"n:sok", "n:chan"}, PerKey: 2, Limit: 10})
	if !slices.Equal(got, []string{"p4"}) || c.Skipped != 1 {
		t.Fatalf("with a per-key cap of 2, n:sok (3 Patients) is skipped: got %v, skipped %d", got, c.Skipped)
	}
	got, c = candidateIDs(t, ctx, id, store.CandidateQuery{Keys: []string{"n:sok"}, PerKey: 10, Limit: 2, Exclude: []string{"p1"}})
	if !slices.Equal(got, []string{"p2", "p3"}) || c.Truncated {
		t.Fatalf("excluding p1: %v truncated=%v", got, c.Truncated)
	}
	_, c = candidateIDs(t, ctx, id, store.CandidateQuery{Keys: []string{"n:sok"}, PerKey: 10, Limit: 2})
	if !c.Truncated {
		t.Fatal("a limit below the candidates found must say so")
	}
	hidden := store.WithAccess(ctx, &store.Access{Types: map[string]string{"Patient": ""},
		Hidden: []string{"http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R"}})
	if got, _ := candidateIDs(t, hidden, id, store.CandidateQuery{Keys: []string{"n:sok"}, PerKey: 10, Limit: 10}); !slices.Equal(got, []string{"p1", "p2"}) {
		t.Fatalf("a caller who may not see R: %v, want p1, p2", got)
	}
	compartment := store.WithAccess(ctx, &store.Access{Types: map[string]string{"Patient": "p2"}})
	if got, _ := candidateIDs(t, compartment, id, store.CandidateQuery{Keys: []string{"n:sok"}, PerKey: 10, Limit: 10}); !slices.Equal(got, []string{"p2"}) {
		t.Fatalf("a patient-scoped caller: %v, want only p2", got)
	}
	// Several probes at once give what each gives alone; Patients reads
	// the live, visible ones in the order asked.
	batch, err := id.MatchCandidatesBatch(ctx, []store.CandidateQuery{
		{Keys: []string{"id:2", "n:sok"}, PerKey: 10, Limit: 10},
		{Keys: []string{"n:chan"}, PerKey: 10, Limit: 10, VersionsOnly: true},
		{Keys: []string{"n:nobody"}, PerKey: 10, Limit: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got0, got1 []string
	for _, v := range batch[0].Versions {
		got0 = append(got0, v.ID)
	}
	for _, v := range batch[1].Versions {
		got1 = append(got1, v.ID)
		if v.Content != nil || v.VersionID != 1 {
			t.Errorf("VersionsOnly candidate %s has content or no version", v.ID)
		}
	}
	if !slices.Equal(got0, []string{"p2", "p1", "p3"}) || !slices.Equal(got1, []string{"p4"}) || len(batch[2].Versions) != 0 {
		t.Fatalf("batch: %v %v %v", got0, got1, batch[2].Versions)
	}
	vs, err := id.Patients(hidden, []string{"p3", "p2", "nope", "p1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].ID != "p2" || vs[1].ID != "p1" || len(vs[0].Content) == 0 {
		t.Fatalf("Patients without R: %+v", vs)
	}
	// An update replaces the keys; a delete clears them.
	put(t, s, store.Write{Type: "Patient", ID: "p1", Index: keyIndex(false, "n:sokh")})
	put(t, s, store.Write{Type: "Patient", ID: "p2", Method: store.MethodDelete})
	if got, _ := candidateIDs(t, ctx, id, store.CandidateQuery{Keys: []string{"n:sok", "id:1", "id:2"}, PerKey: 10, Limit: 10}); !slices.Equal(got, []string{"p3"}) {
		t.Fatalf("after p1's update and p2's delete: %v, want p3", got)
	}
	// SetMatchKeys replaces one Patient's keys and nothing else of its index.
	err = s.Transaction(ctx, func(tx store.Tx) error {
		itx := tx.(store.IdentityTx)
		if err := itx.SetMatchKeys(ctx, "p3", []string{"k:new", "k:other"}); err != nil {
			return err
		}
		keys, err := itx.MatchKeys(ctx, []string{"p3", "p4"})
		if err != nil {
			return err
		}
		slices.Sort(keys["p3"])
		if !slices.Equal(keys["p3"], []string{"k:new", "k:other"}) || !slices.Equal(keys["p4"], []string{"n:chan"}) {
			t.Errorf("MatchKeys: %v", keys)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := candidateIDs(t, hidden, id, store.CandidateQuery{Keys: []string{"k:new"}, PerKey: 10, Limit: 10}); len(got) != 0 {
		t.Fatalf("p3 keeps its R label after SetMatchKeys: %v", got)
	}
	if got, _ := candidateIDs(t, ctx, id, store.CandidateQuery{Keys: []string{"k:new"}, PerKey: 10, Limit: 10}); !slices.Equal(got, []string{"p3"}) {
		t.Fatalf("k:new: %v", got)
	}
}

// testIdentityQueue: every Patient version the store writes, by every path,
// is queued in its transaction, except the linker's own (Unqueued); a queue
// item is taken once.
func testIdentityQueue(t *testing.T, s store.Store) {
	ctx := context.Background()
	id := s.(store.Identity)
	put(t, s, store.Write{Type: "Patient", ID: "a"})
	put(t, s, store.Write{Type: "Observation", ID: "o"})
	put(t, s, store.Write{Type: "Patient", ID: "a"})
	put(t, s, store.Write{Type: "Patient", ID: "l", Unqueued: true})
	err := s.Transaction(ctx, func(tx store.Tx) error {
		_, err := tx.WriteBatch(ctx, []store.Write{
			{Type: "Patient", ID: "b", Method: store.MethodPut, Render: body("Patient", "b")},
			{Type: "Observation", ID: "o2", Method: store.MethodPut, Render: body("Observation", "o2")},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A transaction that rolls back queues nothing.
	_ = s.Transaction(ctx, func(tx store.Tx) error {
		if _, err := tx.Write(ctx, store.Write{Type: "Patient", ID: "gone", Method: store.MethodPut, Render: body("Patient", "gone")}); err != nil {
			return err
		}
		return errRollback
	})
	if err := s.(store.Bulk).LoadNew(ctx, []store.NewResource{{Type: "Patient", ID: "c", LastUpdated: time.Now(), Content: []byte(`{}`)},
		{Type: "Immunization", ID: "i", LastUpdated: time.Now(), Content: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	put(t, s, store.Write{Type: "Patient", ID: "b", Method: store.MethodDelete})

	items, err := id.Queued(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	if want := []string{"a", "a", "b", "c", "b"}; !slices.Equal(ids, want) {
		t.Fatalf("queue %v, want %v (in write order)", ids, want)
	}
	if n, err := id.Backlog(ctx); err != nil || n != 5 {
		t.Fatalf("Backlog %d %v", n, err)
	}
	// A new key version queues every live Patient (a, c, l; b is deleted)
	// once; the first version recorded and the same one again queue none.
	for _, c := range []struct {
		version string
		want    int
	}{{"1", 0}, {"1", 0}, {"2", 3}, {"2", 0}} {
		if n, err := id.KeyVersion(ctx, c.version); err != nil || n != c.want {
			t.Fatalf("KeyVersion(%s) queued %d (%v), want %d", c.version, n, err, c.want)
		}
	}
	if n, _ := id.Backlog(ctx); n != 8 {
		t.Fatalf("Backlog after a key version change: %d", n)
	}
	first, _ := id.Queued(ctx, 2)
	var taken []int64
	err = s.Transaction(ctx, func(tx store.Tx) error {
		itx := tx.(store.IdentityTx)
		if err := itx.LockIdentity(ctx); err != nil {
			return err
		}
		var err error
		taken, err = itx.TakeQueued(ctx, []int64{first[0].Seq, first[1].Seq, 1 << 40})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(taken) != 2 {
		t.Fatalf("TakeQueued took %v, want the two present items", taken)
	}
	_ = s.Transaction(ctx, func(tx store.Tx) error {
		again, err := tx.(store.IdentityTx).TakeQueued(ctx, taken)
		if err != nil || len(again) != 0 {
			t.Errorf("items taken twice: %v %v", again, err)
		}
		return nil
	})
	if n, _ := id.Backlog(ctx); n != 6 {
		t.Fatalf("Backlog after taking 2: %d", n)
	}
}

type rollback struct{}

func (rollback) Error() string { return "rollback" }

var errRollback = rollback{}

func savePairs(t *testing.T, s store.Store, ps ...store.Pair) {
	t.Helper()
	err := s.Transaction(context.Background(), func(tx store.Tx) error {
		for i := range ps {
			if ps[i].Updated.IsZero() {
				ps[i].Updated = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
			}
		}
		return tx.(store.IdentityTx).SavePairs(context.Background(), ps)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testLinkedSets: a linked set is every live Patient reachable over linked
// pairs, never over review or distinct ones, nor through a deleted Patient.
func testLinkedSets(t *testing.T, s store.Store) {
	ctx := context.Background()
	id := s.(store.Identity)
	for _, p := range []string{"a", "b", "c", "d", "e", "x"} {
		put(t, s, store.Write{Type: "Patient", ID: p})
	}
	savePairs(t, s,
		store.Pair{A: "a", B: "b", State: store.PairLinked, Score: 0.99, Grade: "certain", Evidence: []byte(`[{"field":"name"}]`), VersionA: 1, VersionB: 1},
		store.Pair{A: "b", B: "c", State: store.PairLinked, Manual: true, Reason: "same passport photo", Actor: "steward-1"},
		store.Pair{A: "c", B: "d", State: store.PairReview, Score: 0.8, Grade: "probable"},
		store.Pair{A: "d", B: "e", State: store.PairDistinct, Manual: true},
		store.Pair{A: "d", B: "x", State: store.PairLinked},
	)
	comp := func(of string, want ...string) {
		t.Helper()
		got, err := id.LinkedComponent(ctx, of, 50)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("LinkedComponent(%s) = %v, want %v", of, got, want)
		}
	}
	comp("c", "c", "a", "b")
	comp("a", "a", "b", "c")
	comp("e", "e")
	comp("nobody")
	ps, err := id.PairsOf(ctx, []string{"c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].A != "b" || !ps[0].Manual || ps[0].Reason != "same passport photo" || ps[0].Actor != "steward-1" || ps[1].B != "d" {
		t.Fatalf("PairsOf(c) = %+v", ps)
	}
	ps, _ = id.PairsOf(ctx, []string{"a"})
	if len(ps) != 1 || string(ps[0].Evidence) != `[{"field":"name"}]` || ps[0].Score != 0.99 || ps[0].VersionA != 1 || ps[0].Updated.IsZero() {
		t.Fatalf("PairsOf(a) = %+v", ps)
	}
	// An upsert replaces a pair; DeletePairs removes one.
	savePairs(t, s, store.Pair{A: "c", B: "d", State: store.PairLinked, Score: 0.97, Grade: "certain"})
	comp("a", "a", "b", "c", "d", "x")
	// A deleted Patient is not walked through.
	put(t, s, store.Write{Type: "Patient", ID: "d", Method: store.MethodDelete})
	comp("a", "a", "b", "c")
	comp("x", "x")
	comp("d")
	err = s.Transaction(ctx, func(tx store.Tx) error {
		itx := tx.(store.IdentityTx)
		if err := itx.DeletePairs(ctx, [][2]string{{"a", "b"}}); err != nil {
			return err
		}
		ps, err := itx.PairsOf(ctx, []string{"a"})
		if err != nil || len(ps) != 0 {
			t.Errorf("in the transaction, after DeletePairs: %v %v", ps, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	comp("c", "c", "b")
	if got, _ := id.LinkedComponent(ctx, "b", 1); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("limit 1: %v", got)
	}
}

// testReviewQueue: pairs in review page best score first, with a total, and
// only when the caller may see both Patients.
func testReviewQueue(t *testing.T, s store.Store) {
	ctx := context.Background()
	id := s.(store.Identity)
	for _, p := range []string{"a", "b", "c", "d"} {
		put(t, s, store.Write{Type: "Patient", ID: p})
	}
	put(t, s, store.Write{Type: "Patient", ID: "r", Index: keyIndex(true)})
	savePairs(t, s,
		store.Pair{A: "a", B: "b", State: store.PairReview, Score: 0.7},
		store.Pair{A: "a", B: "c", State: store.PairReview, Score: 0.9},
		store.Pair{A: "b", B: "c", State: store.PairReview, Score: 0.7},
		store.Pair{A: "c", B: "d", State: store.PairLinked, Score: 0.99},
		store.Pair{A: "a", B: "r", State: store.PairReview, Score: 0.95},
	)
	page := func(ctx context.Context, q store.ReviewQuery) ([]string, *store.ReviewPage) {
		t.Helper()
		p, err := id.ReviewQueue(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range p.Pairs {
			out = append(out, x.A+x.B)
		}
		return out, p
	}
	got, p := page(ctx, store.ReviewQuery{Count: 2, Total: true})
	if !slices.Equal(got, []string{"ar", "ac"}) || p.Total != 4 || p.Next == "" {
		t.Fatalf("first page %v total %d next %q", got, p.Total, p.Next)
	}
	got, p = page(ctx, store.ReviewQuery{Count: 2, Total: true, Cursor: p.Next})
	if !slices.Equal(got, []string{"ab", "bc"}) || p.Total != 4 || p.Next != "" {
		t.Fatalf("second page %v total %d next %q", got, p.Total, p.Next)
	}
	hidden := store.WithAccess(ctx, &store.Access{Types: map[string]string{"Patient": ""},
		Hidden: []string{"http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R"}})
	if got, p := page(hidden, store.ReviewQuery{Count: 10, Total: true}); !slices.Equal(got, []string{"ac", "ab", "bc"}) || p.Total != 3 {
		t.Fatalf("a caller who may not see r: %v total %d", got, p.Total)
	}
	if got, _ := page(ctx, store.ReviewQuery{Patient: "b", Count: 10}); !slices.Equal(got, []string{"ab", "bc"}) {
		t.Fatalf("pairs of b: %v", got)
	}
	if _, err := id.ReviewQueue(ctx, store.ReviewQuery{Patient: "c", Count: 1, Cursor: p.Next + "x"}); err == nil {
		t.Fatal("a foreign cursor must be refused")
	}
	_, first := page(ctx, store.ReviewQuery{Patient: "b", Count: 1})
	if _, err := id.ReviewQueue(ctx, store.ReviewQuery{Patient: "a", Count: 1, Cursor: first.Next}); err == nil {
		t.Fatal("a cursor of another Patient's queue must be refused")
	}
	put(t, s, store.Write{Type: "Patient", ID: "c", Method: store.MethodDelete})
	if got, _ := page(ctx, store.ReviewQuery{Count: 10}); !slices.Equal(got, []string{"ar", "ab"}) {
		t.Fatalf("after deleting c: %v", got)
	}
}

// testCompartmentLinked: a compartment read for a linked set holds every
// focal Patient and their resources, in the same paging as one Patient's.
func testCompartmentLinked(t *testing.T, s store.Store) {
	ctx := context.Background()
	ref := func(p string) *search.Index {
		return &search.Index{Refs: []search.RefRow{{Param: "subject", TargetType: "Patient", TargetID: p}}}
	}
	put(t, s, store.Write{Type: "Patient", ID: "a"})
	put(t, s, store.Write{Type: "Patient", ID: "b"})
	put(t, s, store.Write{Type: "Patient", ID: "c"})
	put(t, s, store.Write{Type: "Observation", ID: "oa", Index: ref("a")})
	put(t, s, store.Write{Type: "Observation", ID: "ob", Index: ref("b")})
	put(t, s, store.Write{Type: "Observation", ID: "oc", Index: ref("c")})
	q := store.CompartmentQuery{Type: "Patient", ID: "b", Also: []string{"a"}, Count: 2, Total: true,
		Members: []search.CompartmentMember{{Type: "Patient"}, {Type: "Observation", Params: []string{"subject"}}}}
	var got []string
	for {
		page, err := s.Compartment(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 4 {
			t.Fatalf("total %d, want 4", page.Total)
		}
		for _, v := range page.Resources {
			got = append(got, v.ID)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if !slices.Equal(got, []string{"a", "b", "oa", "ob"}) {
		t.Fatalf("linked compartment %v", got)
	}
	// A cursor is bound to the set it was made for.
	q2 := q
	q2.Also = []string{"c"}
	if _, err := s.Compartment(ctx, q2); err == nil {
		t.Fatal("a cursor of another set must be refused")
	}
}
