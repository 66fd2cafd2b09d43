package rest

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/bundle"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// History paging limits.
const (
	DefaultHistoryCount = 50
	MaxHistoryCount     = 1000
)

// History: https://hl7.org/fhir/R4/http.html#history, for an instance (Type
// and ID set), a type (Type set) or the system. Newest first; next links carry
// an opaque cursor so pages stay correct while new versions arrive.
func (s *Service) History(ctx context.Context, r Request) (*Response, error) {
	if r.Type != "" {
		if err := s.checkType(r.Type); err != nil {
			return nil, err
		}
		if isRecordType(r.Type) {
			return nil, outcome.NotSupported(http.StatusMethodNotAllowed, "%s supports read and search, not history: its records are never changed", r.Type)
		}
	}
	var err error
	switch {
	case r.ID != "":
		ctx, err = s.authorize(ctx, r.Type, auth.Read)
	case r.Type != "":
		ctx, err = s.authorize(ctx, r.Type, auth.Search)
	default:
		ctx, _, err = s.authorizeTypes(ctx, s.Types(), false, auth.Search)
	}
	if err != nil {
		return nil, err
	}
	if r.ID != "" {
		if err := checkID(r.ID); err != nil {
			return nil, err
		}
		if _, err := s.store.Read(ctx, r.Type, r.ID); err != nil {
			return nil, err // 404 for an instance that never existed
		}
	}
	q := store.HistoryQuery{Type: r.Type, ID: r.ID, Count: DefaultHistoryCount}
	if r.Type == "" {
		// System history follows the clinical data, not the server's records of it.
		q.Exclude = RecordTypes
	}
	for name, vals := range r.Query {
		v := vals[len(vals)-1]
		switch name {
		case "_count":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, outcome.Invalid("_count %q must be a whole number from 1 to %d", v, MaxHistoryCount).At("_count")
			}
			q.Count = min(n, MaxHistoryCount)
		case "_since":
			t, err := ParseInstant(v)
			if err != nil {
				return nil, outcome.Invalid("_since %q: %v", v, err).At("_since")
			}
			q.Since = t
		case "_cursor":
			c, err := decodeCursor(v)
			if err != nil {
				return nil, outcome.Invalid("_cursor %q is not a cursor this server issued", v).At("_cursor")
			}
			q.Before = c
		case "_at", "_list":
			return nil, outcome.NotSupported(http.StatusBadRequest, "history parameter %s is not supported", name).At(name)
		}
	}
	page, err := s.store.History(ctx, q)
	if err != nil {
		return nil, err
	}
	noteAccess(ctx, audit.Event{Action: audit.ActionExecute, Interaction: historyInteraction(r), Type: r.Type, ID: r.ID,
		Query: r.Query.Encode()}, page.Versions)
	path := r.Base
	if r.Type != "" {
		path += "/" + r.Type
	}
	if r.ID != "" {
		path += "/" + r.ID
	}
	path += "/_history"
	b := bundle.Bundle{Type: "history", Timestamp: now()}
	b.Links = append(b.Links, bundle.Link{Relation: "self", URL: pageURL(path, r.Query, "")})
	if page.Next != 0 {
		b.Links = append(b.Links, bundle.Link{Relation: "next", URL: pageURL(path, r.Query, encodeCursor(page.Next))})
	}
	for i := range page.Versions {
		v := &page.Versions[i]
		e := bundle.Entry{FullURL: r.Base + "/" + v.Type + "/" + v.ID, Resource: v.Content,
			Request:  &bundle.Request{Method: string(v.Method), URL: v.Type + "/" + v.ID},
			Response: &bundle.Response{Status: historyStatus(v), Etag: ETag(v), LastModified: resource.FormatInstant(v.LastUpdated)}}
		if v.Method == store.MethodPost {
			e.Request.URL = v.Type
		}
		b.Entries = append(b.Entries, e)
	}
	return &Response{Status: http.StatusOK, Body: b.JSON()}, nil
}

func historyStatus(v *store.Version) string {
	switch {
	case v.Deleted:
		return "204 No Content"
	case v.VersionID == 1 || v.Method == store.MethodPost:
		return "201 Created"
	default:
		return "200 OK"
	}
}

// searchset starts a page of search results at path: its total (when
// counted, total >= 0) and its self, next and previous links.
func searchset(path string, query url.Values, total int, next, prev string) bundle.Bundle {
	b := bundle.Bundle{Type: "searchset", Timestamp: now()}
	if total >= 0 {
		b.Total = &total
	}
	b.Links = append(b.Links, bundle.Link{Relation: "self", URL: pageURL(path, query, query.Get("_cursor"))})
	if next != "" {
		b.Links = append(b.Links, bundle.Link{Relation: "next", URL: pageURL(path, query, next)})
	}
	if prev != "" {
		b.Links = append(b.Links, bundle.Link{Relation: "previous", URL: pageURL(path, query, prev)})
	}
	return b
}

// pageURL rebuilds the request URL with a new cursor, keeping the client's
// other parameters.
func pageURL(path string, query map[string][]string, cursor string) string {
	q := url.Values{}
	for k, vs := range query {
		if k != "_cursor" {
			q[k] = vs
		}
	}
	if cursor != "" {
		q.Set("_cursor", cursor)
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("h" + strconv.FormatInt(seq, 10)))
}

func decodeCursor(s string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != 'h' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(string(b[1:]), 10, 64)
}

// ParseInstant reads a FHIR instant, or a dateTime down to at least the day
// with a timezone; a bare date is midnight UTC.
func ParseInstant(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	if strings.Contains(v, " ") {
		return time.Time{}, errInstantPlus
	}
	// The right form naming a day or time that does not exist
	// ("2026-02-30"): say so, as search does.
	if _, err := search.ParseDate(v, time.UTC); err != nil {
		if m := err.Error(); strings.Contains(m, "does not exist") || strings.Contains(m, "out of range") {
			return time.Time{}, instantError(m)
		}
	}
	return time.Time{}, errInstant
}

type instantError string

func (e instantError) Error() string { return string(e) }

const (
	errInstant     = instantError("expected an instant such as 2026-11-24T08:00:00+07:00 or a date such as 2026-11-24")
	errInstantPlus = instantError("expected an instant; a '+' in a URL must be sent as %2B (it decodes to a space)")
)
