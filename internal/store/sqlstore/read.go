package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/internal/store"
)

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Read implements store.Store.
func (db *DB) Read(ctx context.Context, typ, id string) (*store.Version, error) {
	return db.current(ctx, db.rq, typ, id)
}

// A resource hidden from the request is not known, exactly like one that
// never existed (https://hl7.org/fhir/R4/security.html#AccessDenied).
func (db *DB) current(ctx context.Context, q queryer, typ, id string) (*store.Version, error) {
	acc, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	query, args := db.q.readCurrent, []any{typ, id}
	if acc != nil {
		b := &builder{acc: acc}
		b.w("SELECT r.version_id, r.last_updated, r.deleted, r.content FROM resources r WHERE r.res_type = ")
		b.a(typ)
		b.w(" AND r.res_id = ")
		b.a(id)
		b.visible("r")
		query, args = rebind(db.d, b.sb.String()), b.args
	}
	v := &store.Version{Type: typ, ID: id}
	var updated int64
	err = q.QueryRowContext(ctx, query, args...).Scan(&v.VersionID, &updated, &v.Deleted, &v.Content)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, outcome.NotFound("%s/%s is not known", typ, id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore.Read: %w", err)
	}
	v.LastUpdated = fromMicros(updated)
	return v, nil
}

// VRead implements store.Store.
func (db *DB) VRead(ctx context.Context, typ, id string, versionID int64) (*store.Version, error) {
	return db.version(ctx, db.rq, typ, id, versionID)
}

func (db *DB) version(ctx context.Context, q queryer, typ, id string, versionID int64) (*store.Version, error) {
	acc, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	query, args := db.q.readVersion, []any{typ, id, versionID}
	if acc != nil {
		b := &builder{acc: acc}
		b.w("SELECT ", versionColsOf("v"), " FROM resource_versions v WHERE v.res_type = ")
		b.a(typ)
		b.w(" AND v.res_id = ")
		b.a(id)
		b.w(" AND v.version_id = ")
		b.a(versionID)
		b.visible("v")
		query, args = rebind(db.d, b.sb.String()), b.args
	}
	v, err := scanVersion(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, outcome.NotFound("%s/%s has no version %d", typ, id, versionID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore.VRead: %w", err)
	}
	return v, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanVersion(s scanner) (*store.Version, error) {
	var (
		v       store.Version
		updated int64
		method  string
	)
	if err := s.Scan(&v.Type, &v.ID, &v.VersionID, &updated, &method, &v.Deleted, &v.Content, &v.Seq); err != nil {
		return nil, err
	}
	v.LastUpdated, v.Method = fromMicros(updated), store.Method(method)
	return &v, nil
}

// History implements store.Store: newest first, keyset-paged on seq so a page
// boundary stays put while new versions arrive.
func (db *DB) History(ctx context.Context, hq store.HistoryQuery) (*store.HistoryPage, error) {
	acc, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	before := hq.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	count := hq.Count
	args := []any{before}
	var q string
	since := !hq.Since.IsZero()
	switch {
	case hq.ID != "":
		q = pick(since, db.q.historyInstSince, db.q.historyInstance)
		args = append(args, hq.Type, hq.ID)
	case hq.Type != "":
		q = pick(since, db.q.historyTypeSince, db.q.historyType)
		args = append(args, hq.Type)
	case len(hq.Exclude) > 0:
		cond := ` AND res_type NOT IN (?` + strings.Repeat(`, ?`, len(hq.Exclude)-1) + `)`
		if since {
			cond += ` AND last_updated >= ?`
		}
		q = rebind(db.d, `SELECT `+versionCols+` FROM resource_versions WHERE seq < ?`+cond+` ORDER BY seq DESC LIMIT ?`)
		for _, t := range hq.Exclude {
			args = append(args, t)
		}
	default:
		q = pick(since, db.q.historyAllSince, db.q.historyAll)
	}
	if since {
		args = append(args, toMicros(hq.Since))
	}
	if acc != nil {
		q, args = db.restrictedHistory(hq, acc, before, count)
	} else {
		args = append(args, count+1)
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore.History: %w", err)
	}
	defer rows.Close()
	page := &store.HistoryPage{}
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore.History: %w", err)
		}
		page.Versions = append(page.Versions, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore.History: %w", err)
	}
	if len(page.Versions) > count {
		page.Versions = page.Versions[:count]
		page.Next = page.Versions[count-1].Seq
	}
	return page, nil
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// restrictedHistory is the history query with each version checked against
// acc: versions the caller may not see are skipped inside the query, so a
// page is full whenever more visible versions exist.
func (db *DB) restrictedHistory(hq store.HistoryQuery, acc *store.Access, before int64, count int) (string, []any) {
	b := &builder{acc: acc}
	b.w("SELECT ", versionColsOf("v"), " FROM resource_versions v WHERE v.seq < ")
	b.a(before)
	if hq.Type != "" {
		b.w(" AND v.res_type = ")
		b.a(hq.Type)
	}
	if hq.ID != "" {
		b.w(" AND v.res_id = ")
		b.a(hq.ID)
	}
	if hq.Type == "" && len(hq.Exclude) > 0 {
		b.w(" AND v.res_type NOT IN ")
		b.list(hq.Exclude)
	}
	if !hq.Since.IsZero() {
		b.w(" AND v.last_updated >= ")
		b.a(toMicros(hq.Since))
	}
	b.visible("v")
	b.w(" ORDER BY v.seq DESC LIMIT ")
	b.a(count + 1)
	return rebind(db.d, b.sb.String()), b.args
}

// versionColsOf is versionCols qualified by alias.
func versionColsOf(alias string) string {
	cols := strings.Split(versionCols, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}
