package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

// criteria is one distinct set of conditional criteria of a batch.
type criteria struct {
	typ string
	q   *search.Query
	key int64
	ids []string
}

// resolveConditions settles a batch's conditional creates, updates and
// deletes against the state before the batch, as a FHIR transaction does
// (https://hl7.org/fhir/R4/http.html#trules). It takes the lock of every
// distinct criteria first, in key order so two batches cannot deadlock on
// them, then runs each distinct criteria once. A resolved write gets its
// ID; one that writes nothing gets its result.
func (db *DB) resolveConditions(ctx context.Context, tx *sql.Tx, ws []store.Write, results []*store.Result) error {
	byName := map[string]*criteria{}
	var list []*criteria
	for i := range ws {
		for _, q := range []*search.Query{ws[i].IfNoneExist, ws[i].Match} {
			name := criteriaName(ws[i].Type, q)
			if q == nil || byName[name] != nil {
				continue
			}
			c := &criteria{typ: ws[i].Type, q: q, key: lockKey(name)}
			byName[name] = c
			list = append(list, c)
		}
	}
	if len(list) == 0 {
		return nil
	}
	if err := db.lockMatch(ctx, tx, list); err != nil {
		return err
	}
	for i := range ws {
		w := &ws[i]
		if w.IfNoneExist != nil {
			res, err := db.ifNoneExist(ctx, tx, w, byName[criteriaName(w.Type, w.IfNoneExist)].ids)
			if err != nil {
				return &store.BatchError{Index: i, Err: err}
			}
			if res != nil {
				results[i] = res
				continue
			}
		}
		if w.Match != nil {
			id, err := resolveMatch(w, byName[criteriaName(w.Type, w.Match)].ids)
			if err != nil {
				return &store.BatchError{Index: i, Err: err}
			}
			if id == "" { // conditional delete with no match
				results[i] = &store.Result{Outcome: store.Unchanged}
				continue
			}
			w.ID = id
		}
	}
	return nil
}

// lockMatch takes the lock of every criteria, in key order so that two
// transactions cannot deadlock on them, then finds up to two matches of each.
func (db *DB) lockMatch(ctx context.Context, tx *sql.Tx, list []*criteria) error {
	sorted := slices.Clone(list)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].key < sorted[j].key })
	if db.d.Lock != nil {
		for i, c := range sorted {
			if i > 0 && c.key == sorted[i-1].key {
				continue
			}
			if err := db.d.Lock(ctx, tx, c.key); err != nil {
				return fmt.Errorf("sqlstore.Write: lock: %w", err)
			}
		}
	}
	for _, c := range list {
		ids, err := db.matchIDs(ctx, tx, c.q, 2)
		if err != nil {
			return err
		}
		c.ids = ids
	}
	return nil
}

// LockMatch implements store.Tx: identical criteria are locked and run once.
func (t *txStore) LockMatch(ctx context.Context, qs []*search.Query) ([][]string, error) {
	byName := map[string]*criteria{}
	var list []*criteria
	for _, q := range qs {
		name := criteriaName(q.Types[0], q)
		if byName[name] == nil {
			byName[name] = &criteria{typ: q.Types[0], q: q, key: lockKey(name)}
			list = append(list, byName[name])
		}
	}
	if err := t.db.lockMatch(ctx, t.tx, list); err != nil {
		return nil, err
	}
	out := make([][]string, len(qs))
	for i, q := range qs {
		out[i] = byName[criteriaName(q.Types[0], q)].ids
	}
	return out, nil
}

func criteriaName(typ string, q *search.Query) string {
	if q == nil {
		return ""
	}
	return typ + "?" + q.Canonical
}

// lockKey is the transaction lock of a type and its criteria, so identical
// conditional writes run one after the other and the second sees what the
// first wrote.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// lockCriteria takes the lock of typ and q's criteria (store.Tx.Lock).
func (db *DB) lockCriteria(ctx context.Context, tx *sql.Tx, typ string, q *search.Query) error {
	if db.d.Lock == nil {
		return nil
	}
	if err := db.d.Lock(ctx, tx, lockKey(criteriaName(typ, q))); err != nil {
		return fmt.Errorf("sqlstore.Write: lock: %w", err)
	}
	return nil
}

// ifNoneExist implements conditional create
// (https://hl7.org/fhir/R4/http.html#ccreate): no match creates (nil), one
// match returns it untouched, several matches are 412.
func (db *DB) ifNoneExist(ctx context.Context, tx *sql.Tx, w *store.Write, ids []string) (*store.Result, error) {
	switch len(ids) {
	case 0:
		return nil, nil
	case 1:
		cur, err := db.current(ctx, tx, w.Type, ids[0])
		if err != nil {
			return nil, err
		}
		return &store.Result{Outcome: store.Unchanged, Version: cur}, nil
	default:
		return nil, outcome.New(412, outcome.CodeMultiple,
			"If-None-Exist %q matches more than one %s; make the criteria more selective", w.IfNoneExist.Canonical, w.Type)
	}
}

// resolveMatch finds the resource a conditional update or delete applies to
// (https://hl7.org/fhir/R4/http.html#cond-update): "" when there is none and
// the write is a delete.
func resolveMatch(w *store.Write, ids []string) (string, error) {
	switch {
	case len(ids) > 1:
		return "", outcome.New(412, outcome.CodeMultiple, "the criteria %q match more than one %s; make them more selective", w.Match.Canonical, w.Type)
	case len(ids) == 1:
		if w.Method != store.MethodDelete && w.ID != "" && w.ID != ids[0] {
			return "", outcome.Invalid("the resource id %q differs from %s/%s, which the criteria match", w.ID, w.Type, ids[0]).At(w.Type + ".id")
		}
		return ids[0], nil
	case w.Method == store.MethodDelete:
		return "", nil
	case w.ID == "":
		return w.CreateID, nil
	}
	return w.ID, nil
}
