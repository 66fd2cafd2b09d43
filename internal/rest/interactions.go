package rest

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Read: https://hl7.org/fhir/R4/http.html#read
func (s *Service) Read(ctx context.Context, r Request) (*Response, error) {
	if err := s.checkType(r.Type); err != nil {
		return nil, err
	}
	if err := checkID(r.ID); err != nil {
		return nil, err
	}
	if err := checkAuditor(ctx, r.Type, auth.Read); err != nil {
		return nil, err
	}
	ctx, err := s.authorize(ctx, r.Type, auth.Read)
	if err != nil {
		return nil, err
	}
	if r.Type == "AuditEvent" {
		return s.readAuditEvent(ctx, r, "read")
	}
	v, err := s.store.Read(ctx, r.Type, r.ID)
	if err != nil {
		return nil, err
	}
	if v.Deleted {
		return nil, gone(v)
	}
	noteAccess(ctx, audit.Event{Action: audit.ActionRead, Interaction: "read", Type: v.Type, ID: v.ID, VersionID: v.VersionID}, []store.Version{*v})
	return &Response{Status: http.StatusOK, Version: v, Body: v.Content}, nil
}

// VRead: https://hl7.org/fhir/R4/http.html#vread
func (s *Service) VRead(ctx context.Context, r Request) (*Response, error) {
	if err := s.checkType(r.Type); err != nil {
		return nil, err
	}
	if err := checkID(r.ID); err != nil {
		return nil, err
	}
	if err := checkAuditor(ctx, r.Type, auth.Read); err != nil {
		return nil, err
	}
	ctx, err := s.authorize(ctx, r.Type, auth.Read)
	if err != nil {
		return nil, err
	}
	if r.Type == "AuditEvent" {
		return s.readAuditEvent(ctx, r, "vread")
	}
	v, err := s.store.VRead(ctx, r.Type, r.ID, r.VersionID)
	if err != nil {
		return nil, err
	}
	if v.Deleted {
		return nil, gone(v)
	}
	noteAccess(ctx, audit.Event{Action: audit.ActionRead, Interaction: "vread", Type: v.Type, ID: v.ID, VersionID: v.VersionID}, []store.Version{*v})
	return &Response{Status: http.StatusOK, Version: v, Body: v.Content}, nil
}

// Create: https://hl7.org/fhir/R4/http.html#create. Any id in the body is
// replaced by a server-assigned one.
func (s *Service) Create(ctx context.Context, r Request) (*Response, error) {
	if err := s.checkType(r.Type); err != nil {
		return nil, err
	}
	if err := s.checkWritable(r.Type); err != nil {
		return nil, err
	}
	ctx, err := s.authorize(ctx, r.Type, auth.Create)
	if err != nil {
		return nil, err
	}
	res, err := s.parse(r.Type, r.Body)
	if err != nil {
		return nil, err
	}
	w := store.Write{Type: r.Type, ID: s.NewID(), Method: store.MethodPost, Tenant: r.Tenant}
	if r.IfNoneExist != "" {
		if err := authorizeMatch(ctx, r.Type); err != nil {
			return nil, err
		}
		c, err := s.ifNoneExist(r)
		if err != nil {
			return nil, err
		}
		w.IfNoneExist = c
	}
	refs, err := s.prepare(ctx, &w, res)
	if err != nil {
		return nil, err
	}
	result, err := s.writeChecked(ctx, r.Base, w, refs)
	if err != nil {
		return nil, err
	}
	if result.Outcome == store.Unchanged {
		return &Response{Status: http.StatusOK, Version: result.Version, Body: result.Version.Content,
			Issues: outcome.Info("If-None-Exist matched %s/%s; nothing was created", result.Version.Type, result.Version.ID)}, nil
	}
	return &Response{Status: http.StatusCreated, Version: result.Version, Body: result.Version.Content,
		Location: Location(r.Base, result.Version), Issues: outcome.Info("created %s/%s", r.Type, w.ID)}, nil
}

// Update: https://hl7.org/fhir/R4/http.html#update, including update as
// create, If-Match and If-None-Match: *.
func (s *Service) Update(ctx context.Context, r Request) (*Response, error) {
	if err := s.checkType(r.Type); err != nil {
		return nil, err
	}
	if err := s.checkWritable(r.Type); err != nil {
		return nil, err
	}
	if err := checkID(r.ID); err != nil {
		return nil, err
	}
	ctx, err := s.authorize(ctx, r.Type, auth.Update)
	if err != nil {
		return nil, err
	}
	res, err := s.parse(r.Type, r.Body)
	if err != nil {
		return nil, err
	}
	if res.ID == "" {
		return nil, outcome.Invalid("the resource must carry the id %q of the URL (https://hl7.org/fhir/R4/http.html#update)", r.ID).At(r.Type + ".id")
	}
	if res.ID != r.ID {
		return nil, outcome.Invalid("body id %q does not match URL id %q", res.ID, r.ID).At(r.Type + ".id")
	}
	w := store.Write{Type: r.Type, ID: r.ID, Method: store.MethodPut, Tenant: r.Tenant}
	ifMatch, err := parseIfMatch(r.IfMatch)
	if err != nil {
		return nil, err
	}
	w.IfMatch = ifMatch
	if r.IfNoneMatch != "" {
		if strings.TrimSpace(r.IfNoneMatch) != "*" {
			return nil, outcome.Invalid("If-None-Match on update supports only \"*\" (create only if absent), got %q", r.IfNoneMatch)
		}
		w.IfNoneMatch = true
	}
	refs, err := s.prepare(ctx, &w, res)
	if err != nil {
		return nil, err
	}
	result, err := s.writeChecked(ctx, r.Base, w, refs)
	if err != nil {
		return nil, err
	}
	if result.Outcome == store.Created {
		return &Response{Status: http.StatusCreated, Version: result.Version, Body: result.Version.Content,
			Location: Location(r.Base, result.Version), Issues: outcome.Info("created %s/%s", r.Type, r.ID)}, nil
	}
	return &Response{Status: http.StatusOK, Version: result.Version, Body: result.Version.Content,
		Issues: outcome.Info("updated %s/%s to version %d", r.Type, r.ID, result.Version.VersionID)}, nil
}

// Delete: https://hl7.org/fhir/R4/http.html#delete. Logical and idempotent:
// deleting what is missing or already deleted succeeds without a new version.
func (s *Service) Delete(ctx context.Context, r Request) (*Response, error) {
	if err := s.checkType(r.Type); err != nil {
		return nil, err
	}
	if err := s.checkWritable(r.Type); err != nil {
		return nil, err
	}
	if err := checkID(r.ID); err != nil {
		return nil, err
	}
	ctx, err := s.authorize(ctx, r.Type, auth.Delete)
	if err != nil {
		return nil, err
	}
	w := store.Write{Type: r.Type, ID: r.ID, Method: store.MethodDelete, Tenant: r.Tenant}
	ifMatch, err := parseIfMatch(r.IfMatch)
	if err != nil {
		return nil, err
	}
	w.IfMatch = ifMatch
	result, err := s.store.Write(ctx, w)
	if err != nil {
		return nil, err
	}
	switch {
	case result.Version == nil:
		return &Response{Status: http.StatusOK, Issues: outcome.Info("%s/%s does not exist; nothing to delete", r.Type, r.ID)}, nil
	case result.Outcome == store.Unchanged:
		return &Response{Status: http.StatusOK, Version: result.Version, Issues: outcome.Info("%s/%s was already deleted", r.Type, r.ID)}, nil
	}
	return &Response{Status: http.StatusOK, Version: result.Version,
		Issues: outcome.Info("deleted %s/%s (version %d)", r.Type, r.ID, result.Version.VersionID)}, nil
}

// Validate: https://hl7.org/fhir/R4/resource-operation-validate.html. The
// answer is 200 with an OperationOutcome listing what is wrong (or "All OK");
// nothing is stored.
func (s *Service) Validate(ctx context.Context, r Request) (*Response, error) {
	if err := s.checkType(r.Type); err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, r.Type, auth.Create); err != nil {
		if _, uerr := s.authorize(ctx, r.Type, auth.Update); uerr != nil {
			return nil, err
		}
	}
	body, mode, err := validateInput(r.Body)
	if err != nil {
		return nil, err
	}
	res, err := s.parse(r.Type, body)
	if err != nil {
		e, ok := outcome.As(err)
		if !ok {
			return nil, err
		}
		return &Response{Status: http.StatusOK, Issues: e.Issues}, nil
	}
	if mode == "update" && res.ID == "" {
		return &Response{Status: http.StatusOK, Issues: []outcome.Issue{{Severity: outcome.SevError, Code: outcome.CodeRequired,
			Diagnostics: "an update needs the resource id", Expression: []string{r.Type + ".id"}}}}, nil
	}
	return &Response{Status: http.StatusOK, Issues: outcome.Info("All OK: the %s is valid FHIR R4", r.Type)}, nil
}

func (s *Service) parse(typ string, body []byte) (*resource.Resource, error) {
	if len(body) == 0 {
		return nil, outcome.Invalid("the request has no body; send a %s resource as JSON", typ)
	}
	res, err := s.parser.Parse(body)
	if err != nil {
		return nil, err
	}
	if res.Type != typ {
		return nil, outcome.Invalid("resourceType %q does not match the URL's type %q", res.Type, typ).At("resourceType")
	}
	return res, nil
}

// prepare fills a write's rendering and index rows from a validated
// resource, with meta.source naming the writing client (see audit.Source). The index does not depend on id, version or time, so it is
// extracted before the transaction.
func (s *Service) prepare(ctx context.Context, w *store.Write, res *resource.Resource) ([]search.ElementRef, error) {
	// An authenticated caller's writes carry its organization and client as
	// meta.source (verified, unlike what a body says); with --auth none the
	// body's own meta.source is kept.
	if p := auth.FromContext(ctx); p != nil && !p.Unauthenticated {
		if src := audit.Source(p); src != "" {
			res.SetSource(src)
		}
	}
	label(res, s.Policy.Labeling)
	if s.ident != nil && res.Type == store.LinkedType && w.Method != store.MethodPatch {
		// A patch keeps its links itself (patchIn): it starts from the current version.
		keepLinks(res, s.priorContent(ctx, w))
	}
	w.Render = func(id string, v int64, at time.Time) []byte { return res.Encode(id, v, at) }
	ix, refs, err := s.index(res, w.ID)
	if err != nil {
		return nil, err
	}
	w.Index = ix
	return refs, nil
}

// index extracts the search index rows of res and the references it holds
// (for referential integrity) from one decoding.
func (s *Service) index(res *resource.Resource, id string) (*search.Index, []search.ElementRef, error) {
	m, err := search.Decode(res.Encode(id, 1, time.Time{}))
	if err != nil {
		return nil, nil, err
	}
	ix, err := s.reg.Extract(res.Type, m)
	if err != nil {
		return nil, nil, err
	}
	ix.Tokens = append(ix.Tokens, s.matchKeys(res, id)...)
	return ix, search.References(res.Type, m), nil
}

// priorContent is the current content of the resource an update with a
// known id replaces (nil for a create, a conditional update, or a resource
// the caller cannot see, whose write fails anyway).
func (s *Service) priorContent(ctx context.Context, w *store.Write) []byte {
	if w.Method != store.MethodPut || w.ID == "" {
		return nil
	}
	v, err := s.store.Read(ctx, w.Type, w.ID)
	if err != nil || v.Deleted {
		return nil
	}
	return v.Content
}

// Prepare is the check and indexing every write goes through, for writers
// that store in bulk (import): the body is validated as a create or update
// would validate it, its type must be served, and the search index rows it
// would get under id are extracted. Errors are *outcome.Error naming the
// element.
func (s *Service) Prepare(body []byte, id string) (*resource.Resource, *search.Index, error) {
	res, err := s.parser.Parse(body)
	if err != nil {
		return nil, nil, err
	}
	if !s.Writable(res.Type) {
		// The server's records (AuditEvent, Provenance) cannot be loaded either.
		return nil, nil, outcome.NotSupported(http.StatusBadRequest, "resource type %q is not served here; supported types: %v", res.Type, s.DataTypes()).At("resourceType")
	}
	if id == "" {
		id = res.ID
	}
	// Bulk data is labelled like data written one by one, before indexing.
	label(res, s.Policy.Labeling)
	if s.ident != nil {
		keepLinks(res, nil) // the importer keeps a stored Patient's links (KeepLinks)
	}
	ix, _, err := s.index(res, id)
	if err != nil {
		return nil, nil, err
	}
	return res, ix, nil
}

// parseIfMatch reads an optional If-Match header: 0 when absent.
func parseIfMatch(h string) (int64, error) {
	if h == "" {
		return 0, nil
	}
	return ParseETag(h)
}

// ParseETag reads an If-Match value: W/"3", "3" or 3.
func ParseETag(h string) (int64, error) {
	s := strings.TrimSpace(h)
	s = strings.TrimPrefix(s, "W/")
	s = strings.Trim(s, `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, outcome.Invalid(`If-Match %q is not a version ETag such as W/"3"`, h)
	}
	return v, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
