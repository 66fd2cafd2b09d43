package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// errNoAccess is a programming error: a request with a principal reached a
// read without the Access derived from it. Refusing is safer than serving
// everything.
var errNoAccess = errors.New("sqlstore: a request with a principal carries no store.Access")

// accessOf returns the restriction of ctx's request: nil when nothing is
// restricted (no principal: the command line, tests of the store).
func accessOf(ctx context.Context) (*store.Access, error) {
	if a := store.AccessFrom(ctx); a != nil {
		if a.All {
			return nil, nil
		}
		return a, nil
	}
	if p := auth.FromContext(ctx); p != nil && !p.Unauthenticated {
		return nil, errNoAccess
	}
	return nil, nil
}

// visible writes " AND <the version of alias is visible under b.acc>"; alias
// has res_type, res_id and version_id columns (resources or
// resource_versions). Nothing is written when b.acc is nil.
func (b *builder) visible(alias string) {
	a := b.acc
	if a == nil {
		return
	}
	b.n++
	t := fmt.Sprintf("t%d", b.n)
	tagOf := func() {
		b.w("SELECT 1 FROM access_tags ", t, " WHERE ", t, ".res_type = ", alias, ".res_type AND ",
			t, ".res_id = ", alias, ".res_id AND ", t, ".version_id = ", alias, ".version_id AND ", t, ".tag")
	}
	types := make([]string, 0, len(a.Types))
	for typ := range a.Types {
		types = append(types, typ)
	}
	sort.Strings(types) // stable SQL text, so statement caches hit
	var open []string
	for _, typ := range types {
		if a.Types[typ] == "" {
			open = append(open, typ)
		}
	}
	b.w(" AND (")
	first := true
	or := func() {
		if !first {
			b.w(" OR ")
		}
		first = false
	}
	if len(open) > 0 {
		or()
		b.w(alias, ".res_type IN ")
		b.list(open)
	}
	for _, typ := range types {
		patient := a.Types[typ]
		if patient == "" {
			continue
		}
		or()
		b.w("(", alias, ".res_type = ")
		b.a(typ)
		b.w(" AND EXISTS (")
		tagOf()
		b.w(" = ")
		b.a(store.TagPatient + patient)
		b.w(b.fence, "))")
	}
	if first {
		b.w("1 = 0") // no type at all
	}
	b.w(")")
	if len(a.Hidden) > 0 {
		b.w(" AND (NOT EXISTS (")
		tagOf()
		b.w(" IN ")
		b.list(prefixed(store.TagLabel, a.Hidden))
		b.w(b.fence, ")")
		if len(a.Exempt) > 0 {
			// Break-the-glass (CONTRACTS §3): the labels do not hide what
			// is in the compartment of a patient the caller holds a live
			// grant for.
			b.w(" OR EXISTS (")
			tagOf()
			b.w(" IN ")
			b.list(prefixed(store.TagPatient, a.Exempt))
			b.w(b.fence, ")")
		}
		b.w(")")
	}
}

// prefixed returns the tags prefix+v of vs.
func prefixed(prefix string, vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = prefix + v
	}
	return out
}

// restricts reports whether a hides anything of types: some label, a
// compartment limit, or a type itself.
func restricts(a *store.Access, types []string) bool {
	if a == nil {
		return false
	}
	if len(a.Hidden) > 0 {
		return true
	}
	for _, t := range types {
		if p, ok := a.Types[t]; !ok || p != "" {
			return true
		}
	}
	return false
}

// visibleResource writes " AND EXISTS (a live resource typCol/idCol visible
// under b.acc)", for the resources a chain or _has goes through: a
// criterion must not match by way of a resource the caller cannot see.
func (b *builder) visibleResource(typCol, idCol string) {
	if b.acc == nil {
		return
	}
	b.n++
	v := fmt.Sprintf("v%d", b.n)
	b.w(" AND EXISTS (SELECT 1 FROM resources ", v, " WHERE ", v, ".res_type = ", typCol, " AND ", v, ".res_id = ", idCol)
	b.visible(v)
	b.w(")")
}

// checkWrite enforces a write's Access inside its transaction: the current
// version (when there is one) must be visible, so no one changes what they
// cannot see, and a compartment-limited caller may only write resources in
// its patient's compartment.
func (db *DB) checkWrite(ctx context.Context, tx *sql.Tx, a *store.Access, typ, id string, exists bool, tags []string, deleting bool) error {
	if a == nil {
		return nil
	}
	patient, ok := a.Types[typ]
	if !ok {
		return forbidden("this token grants no write access to %s", typ)
	}
	if !exists && !deleting && !a.MayCreate {
		return forbidden("%s/%s does not exist, and this token may not create %s (update as create needs a create scope)", typ, id, typ)
	}
	if exists {
		b := &builder{acc: a}
		b.w("SELECT COUNT(*) FROM resources r WHERE r.res_type = ")
		b.a(typ)
		b.w(" AND r.res_id = ")
		b.a(id)
		b.visible("r")
		var n int
		if err := tx.QueryRowContext(ctx, rebind(db.d, b.sb.String()), b.args...).Scan(&n); err != nil {
			return fmt.Errorf("sqlstore.Write: access: %w", err)
		}
		if n == 0 {
			return forbidden("%s/%s may not be changed with this token", typ, id)
		}
	}
	if patient == "" || deleting {
		return nil
	}
	for _, t := range tags {
		if t == store.TagPatient+patient {
			return nil
		}
	}
	return forbidden("a patient-scoped token may only write resources in the compartment of Patient/%s", patient)
}

func forbidden(format string, args ...any) error {
	return outcome.New(http.StatusForbidden, outcome.CodeForbidden, format, args...)
}

// insertTags writes the access tags of one version.
func (db *DB) insertTags(ctx context.Context, tx *sql.Tx, typ, id string, version int64, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO access_tags (res_type, res_id, version_id, tag) VALUES ")
	args := make([]any, 0, 4*len(tags))
	for i, t := range tags {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?)")
		args = append(args, typ, id, version, t)
	}
	if _, err := tx.ExecContext(ctx, rebind(db.d, q.String()), args...); err != nil {
		return fmt.Errorf("sqlstore: access tags: %w", err)
	}
	return nil
}

// copyTags gives a delete version the tags of the version it deletes, so
// the deletion is hidden from whoever could not see the resource.
func (db *DB) copyTags(ctx context.Context, tx *sql.Tx, typ, id string, from, to int64) error {
	_, err := tx.ExecContext(ctx, rebind(db.d, `INSERT INTO access_tags (res_type, res_id, version_id, tag)
		SELECT res_type, res_id, ?, tag FROM access_tags WHERE res_type = ? AND res_id = ? AND version_id = ?`), to, typ, id, from)
	if err != nil {
		return fmt.Errorf("sqlstore: access tags: %w", err)
	}
	return nil
}
