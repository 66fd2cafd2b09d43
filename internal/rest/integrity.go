package rest

import (
	"context"
	"net/http"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Referential integrity (README "Behaviour worth knowing"): a local
// reference ("Patient/p1", or an absolute URL under this server's base) to
// a type this server serves must name a live resource the writer may see,
// on create, update, patch and every batch or transaction entry. Targets
// of types Mekong does not serve (Encounter, Organization, Practitioner)
// live in other systems and are kept as written; so are absolute URLs of
// other servers, contained ("#x") and urn: references. Service.ReferentialIntegrity
// (serve --referential-integrity) turns the check off.

// reader is what the check reads through: the store, or a transaction.
type reader interface {
	Read(ctx context.Context, typ, id string) (*store.Version, error)
}

// checkReferences refuses a write (typ/id) whose local references in refs
// name nothing: 422, one issue per reference, each naming its element.
// remap rewrites placeholders a transaction resolved; self-references are
// fine.
func (s *Service) checkReferences(ctx context.Context, rd reader, base, typ, id string, refs []search.ElementRef, remap map[string]string) error {
	if !s.ReferentialIntegrity || len(refs) == 0 {
		return nil
	}
	var issues []outcome.Issue
	checked := map[string]string{} // Type/id -> why it does not resolve ("" when it does)
	for _, ref := range refs {
		target, ok := s.localTarget(base, ref.Reference, remap)
		if !ok || target == typ+"/"+id {
			continue
		}
		why, done := checked[target]
		if !done {
			var err error
			if why, err = s.resolve(ctx, rd, target); err != nil {
				return err
			}
			checked[target] = why
		}
		if why != "" {
			issues = append(issues, outcome.Issue{Severity: outcome.SevError, Code: outcome.CodeNotFound,
				Diagnostics: ref.Path + ": " + ref.Reference + " " + why + "; create it first, or refer to it by identifier " +
					"(referential integrity: see the README)",
				Expression: []string{ref.Path}})
		}
	}
	if len(issues) > 0 {
		return &outcome.Error{Status: http.StatusUnprocessableEntity, Issues: issues}
	}
	return nil
}

// localTarget reads a reference as "Type/id" of a served type, or false.
func (s *Service) localTarget(base, ref string, remap map[string]string) (string, bool) {
	if base != "" && strings.HasPrefix(ref, strings.TrimRight(base, "/")+"/") {
		ref = ref[len(strings.TrimRight(base, "/"))+1:]
	}
	typ, id, ok := search.LocalReference(ref)
	if !ok {
		return "", false
	}
	target := typ + "/" + id
	if to, ok := remap[target]; ok {
		target = to
		typ, _, _ = strings.Cut(to, "/")
	}
	if !s.types[typ] {
		return "", false
	}
	return target, true
}

// resolve says why target does not name a live resource the caller may
// see, or "" when it does. A caller without read access to the target's
// type (a write-only integration) is checked against every resource: it
// learns only whether the id exists.
func (s *Service) resolve(ctx context.Context, rd reader, target string) (string, error) {
	typ, id, _ := strings.Cut(target, "/")
	rctx, err := s.authorize(ctx, typ, auth.Read)
	if err != nil {
		rctx = store.WithAccess(ctx, &store.Access{All: true})
	}
	v, err := rd.Read(rctx, typ, id)
	if e, ok := outcome.As(err); ok && e.Status == http.StatusNotFound {
		return "does not exist (or is not visible to this client)", nil
	}
	if err != nil {
		return "", err
	}
	if v.Deleted {
		return "is deleted", nil
	}
	return "", nil
}

// writeChecked writes w, and when its resource has local references checks
// them in the same transaction after the write: the write's own checks
// (scopes, compartments, If-Match) answer first, and a dangling reference
// rolls the write back. Without local references it is a plain write.
func (s *Service) writeChecked(ctx context.Context, base string, w store.Write, refs []search.ElementRef) (*store.Result, error) {
	if !s.ReferentialIntegrity || !s.hasLocal(base, refs) {
		return s.store.Write(ctx, w)
	}
	var res *store.Result
	err := s.store.Transaction(ctx, func(tx store.Tx) error {
		r, err := tx.Write(ctx, w)
		if err != nil {
			return err
		}
		res = r
		if r.Outcome == store.Unchanged || r.Version == nil {
			return nil // nothing new was written
		}
		return s.checkReferences(ctx, tx, base, w.Type, r.Version.ID, refs, nil)
	})
	return res, err
}

func (s *Service) hasLocal(base string, refs []search.ElementRef) bool {
	for _, r := range refs {
		if _, ok := s.localTarget(base, r.Reference, nil); ok {
			return true
		}
	}
	return false
}
