package rest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/store"
)

// IdentityUnlink: POST [base]/Patient/$identity-unlink with patient, other
// and reason. A pair waiting for review is rejected; linked Patients are
// unlinked. Either way the two are decided different people, for good. If
// they are still one set through other links, the engine's links on the way
// go back to review; when only stewards' links join them, it is a 409 naming
// those links (unlink them first).
func (s *Service) IdentityUnlink(ctx context.Context, r Request) (*Response, error) {
	return s.stewardDecision(ctx, r, "identity-unlink", decisionReject, decisionUnlink,
		func(ctx context.Context, lt *linkTx, in *decisionIn, ex *store.Pair) error {
			lt.save(steward(ctx, ex, in, store.PairDistinct))
			return lt.separate(ctx, in.a, in.b)
		})
}

// separate makes sure a and b are not in one linked set: while a path of
// linked pairs joins them, the engine's weakest link on it goes back to
// review. A path of stewards' links only is a conflict for a steward to
// resolve.
func (lt *linkTx) separate(ctx context.Context, a, b string) error {
	for range 4 * lt.s.ident.opts.MaxSet {
		comp, err := lt.component(ctx, a)
		if err != nil {
			return err
		}
		var ps []store.Pair
		for _, m := range comp {
			for o, p := range lt.pairs.of(m) {
				if m < o || !slices.Contains(comp, o) {
					ps = append(ps, *p)
				}
			}
		}
		path := linkedPath(ps, a, b)
		if path == nil {
			return nil
		}
		var weakest *store.Pair
		for _, p := range path {
			if !p.Manual && (weakest == nil || p.Score < weakest.Score) {
				weakest = p
			}
		}
		if weakest == nil {
			links := make([]string, len(path))
			for i, p := range path {
				links[i] = fmt.Sprintf("Patient/%s–Patient/%s (%s)", p.A, p.B, p.Actor)
			}
			return outcome.New(http.StatusConflict, outcome.CodeConflict,
				"Patient/%s and Patient/%s stay one person through links stewards made: %s; unlink one of those first",
				a, b, strings.Join(links, ", "))
		}
		d := *weakest
		d.State = store.PairReview
		d.Note = fmt.Sprintf("put back in review: it joined Patient/%s and Patient/%s, which a steward decided are different people", a, b)
		d.Updated = time.Now().UTC()
		lt.save(d)
		lt.stats.Queued++
	}
	return fmt.Errorf("rest: identity: could not separate two Patients in %d steps", 4*lt.s.ident.opts.MaxSet)
}

// linkedPath returns the linked pairs of a shortest path from a to b, or nil.
func linkedPath(ps []store.Pair, a, b string) []*store.Pair {
	adj := map[string][]*store.Pair{}
	for i := range ps {
		p := &ps[i]
		if p.State == store.PairLinked {
			adj[p.A] = append(adj[p.A], p)
			adj[p.B] = append(adj[p.B], p)
		}
	}
	via := map[string]*store.Pair{a: nil}
	queue := []string{a}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == b {
			var path []*store.Pair
			for at := b; via[at] != nil; at = via[at].Other(at) {
				path = append(path, via[at])
			}
			return path
		}
		for _, p := range adj[n] {
			o := p.Other(n)
			if _, seen := via[o]; !seen {
				via[o] = p
				queue = append(queue, o)
			}
		}
	}
	return nil
}
