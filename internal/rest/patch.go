package rest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/patch"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// JSONPatchType is the media type of a JSON Patch (RFC 6902). A PATCH in
// FHIR JSON is a FHIRPath Patch (https://hl7.org/fhir/R4/fhirpatch.html).
const JSONPatchType = "application/json-patch+json"

// fhirJSONTypes are the media types a FHIRPath Patch may come in.
var fhirJSONTypes = map[string]bool{"application/fhir+json": true, "application/json": true, "application/json+fhir": true, "text/json": true}

// patcher applies a client's patch document to a resource's JSON.
type patcher func(content []byte) ([]byte, error)

// patchJob is one patch of one resource, as an instance or conditional
// PATCH or a Bundle entry.
type patchJob struct {
	typ, id, tenant string
	base            string // the service base, for absolute references to this server
	ifMatch         int64  // the client's If-Match, 0 when none
	apply           patcher
	// refs (fullUrls to placeholders) and remap (placeholders to the
	// resources a transaction resolved them to) are set inside a
	// transaction Bundle, whose patch values may refer to its other entries.
	refs, remap map[string]string
}

// Patch: PATCH [type]/[id] (https://hl7.org/fhir/R4/http.html#patch). The
// current version is read, patched, validated and indexed like any update,
// and written only if it is still current, all in one database transaction:
// a concurrent write in between makes the patch start again from the new
// version, unless the client pinned a version with If-Match, which is then
// 412.
func (s *Service) Patch(ctx context.Context, r Request) (*Response, error) {
	if err := s.checkType(r.Type); err != nil {
		return nil, err
	}
	if err := checkID(r.ID); err != nil {
		return nil, err
	}
	if err := s.checkWritable(r.Type); err != nil {
		return nil, err
	}
	// A patch is an update (SMART u); what the token may not see it cannot
	// patch (the read inside finds nothing: 404).
	ctx, err := s.authorize(ctx, r.Type, auth.Update)
	if err != nil {
		return nil, err
	}
	job, err := s.patchJob(r)
	if err != nil {
		return nil, err
	}
	job.id = r.ID
	var result *store.Result
	err = s.store.Transaction(ctx, func(tx store.Tx) error {
		res, err := s.patchIn(ctx, tx, job)
		result = res
		return err
	})
	if err != nil {
		return nil, err
	}
	return patchResponse(result), nil
}

// ConditionalPatch: PATCH [type]?criteria
// (https://hl7.org/fhir/R4/http.html#patch): one match is patched, none is
// 404, several are 412.
func (s *Service) ConditionalPatch(ctx context.Context, r Request) (*Response, error) {
	ctx, q, err := s.conditional(ctx, r, auth.Update)
	if err != nil {
		return nil, err
	}
	job, err := s.patchJob(r)
	if err != nil {
		return nil, err
	}
	var result *store.Result
	err = s.store.Transaction(ctx, func(tx store.Tx) error {
		if err := tx.Lock(ctx, r.Type, q); err != nil {
			return err
		}
		ids, err := tx.Match(ctx, q, 2)
		switch {
		case err != nil:
			return err
		case len(ids) == 0:
			return outcome.NotFound("no %s matches %s; a conditional patch changes an existing resource", r.Type, q.Canonical)
		case len(ids) > 1:
			return outcome.New(http.StatusPreconditionFailed, outcome.CodeMultiple, "the criteria %q match more than one %s; make them more selective", q.Canonical, r.Type)
		}
		job.id = ids[0]
		res, err := s.patchIn(ctx, tx, job)
		result = res
		return err
	})
	if err != nil {
		return nil, err
	}
	return patchResponse(result), nil
}

func (s *Service) patchJob(r Request) (patchJob, error) {
	apply, err := s.patcher(r.ContentType, r.Body)
	if err != nil {
		return patchJob{}, err
	}
	ifMatch, err := parseIfMatch(r.IfMatch)
	if err != nil {
		return patchJob{}, err
	}
	return patchJob{typ: r.Type, tenant: r.Tenant, base: r.Base, ifMatch: ifMatch, apply: apply}, nil
}

// patcher picks the patch format by media type; the document is checked
// before anything is read.
func (s *Service) patcher(contentType string, body []byte) (patcher, error) {
	if len(body) == 0 {
		return nil, outcome.Invalid("PATCH needs a body: a JSON Patch (%s) or a FHIRPath Patch Parameters resource (application/fhir+json)", JSONPatchType)
	}
	switch {
	case contentType == JSONPatchType:
		return func(content []byte) ([]byte, error) { return patch.JSONPatch(content, body) }, nil
	case fhirJSONTypes[contentType]:
		params, err := s.parser.Parse(body)
		if err != nil {
			return nil, err
		}
		if params.Type != "Parameters" {
			return nil, outcome.Invalid("a PATCH in FHIR JSON is a FHIRPath Patch, a Parameters resource, not a %s (https://hl7.org/fhir/R4/fhirpatch.html)", params.Type).At("resourceType")
		}
		return func(content []byte) ([]byte, error) { return patch.FHIRPathPatch(content, body) }, nil
	}
	return nil, outcome.NotSupported(http.StatusUnsupportedMediaType,
		"PATCH takes a JSON Patch (%s) or a FHIRPath Patch (application/fhir+json), not %q", JSONPatchType, contentType)
}

// patchIn patches one resource inside tx.
func (s *Service) patchIn(ctx context.Context, tx store.Tx, job patchJob) (*store.Result, error) {
	// Concurrent patches of one resource queue on a lock keyed on its id
	// rather than all but one failing the version check and starting over.
	byID, err := s.reg.Parse([]string{job.typ}, url.Values{"_id": {job.id}}, search.Options{Strict: true})
	if err != nil {
		return nil, err
	}
	if err := tx.Lock(ctx, job.typ, byID); err != nil {
		return nil, err
	}
	cur, err := tx.Read(ctx, job.typ, job.id)
	if err != nil {
		return nil, err
	}
	if cur.Deleted {
		return nil, gone(cur)
	}
	if job.ifMatch != 0 && job.ifMatch != cur.VersionID {
		return nil, outcome.PreconditionFailed("If-Match W/\"%d\" is stale: the current version of %s/%s is W/\"%d\"", job.ifMatch, job.typ, job.id, cur.VersionID)
	}
	patched, err := job.apply(cur.Content)
	if err != nil {
		return nil, err
	}
	if err := keepsIdentity(patched, job.typ, job.id); err != nil {
		return nil, err
	}
	res, err := s.parse(job.typ, rewriteRefs(patched, job.refs))
	if err != nil {
		return nil, invalidResult(err)
	}
	// Conditional on the version patched, whatever the client sent: a
	// write in between must not be overwritten.
	w := store.Write{Type: job.typ, ID: job.id, Method: store.MethodPatch, Tenant: job.tenant, IfMatch: cur.VersionID}
	if s.ident != nil {
		keepLinks(res, cur.Content) // a patch cannot change the links the server maintains
	}
	refs, err := s.prepare(ctx, &w, res)
	if err != nil {
		return nil, err
	}
	if err := s.checkReferences(ctx, tx, job.base, job.typ, job.id, refs, job.remap); err != nil {
		return nil, err
	}
	w.Render = remapped(w.Render, job.remap)
	w.Index = remapIndex(w.Index, job.remap)
	result, err := tx.Write(ctx, w)
	if e, ok := outcome.As(err); ok && e.Status == http.StatusPreconditionFailed && job.ifMatch == 0 {
		return nil, store.ErrRetry // patch the new version instead
	}
	return result, err
}

// keepsIdentity refuses a patch that changes what resource this is
// (https://hl7.org/fhir/R4/http.html#patch: the patched resource must keep
// its type and id).
func keepsIdentity(patched []byte, typ, id string) error {
	var head struct {
		ResourceType any `json:"resourceType"`
		ID           any `json:"id"`
	}
	if err := json.Unmarshal(patched, &head); err != nil {
		return outcome.Unprocessable(outcome.CodeStructure, "the patched resource is not a JSON object")
	}
	if head.ResourceType != typ {
		return outcome.Invalid("the patch changes resourceType from %s to %v; a patch cannot change what a resource is", typ, describe(head.ResourceType)).At("resourceType")
	}
	if head.ID != id {
		return outcome.Invalid("the patch changes the id from %q to %v; a patch cannot change a resource's id", id, describe(head.ID)).At(typ + ".id")
	}
	return nil
}

func describe(v any) string {
	if v == nil {
		return "nothing"
	}
	b, _ := fhirjson.Marshal(v)
	return string(b)
}

// invalidResult turns the validation errors of a patched resource into a
// 422: the patch document was fine, its result is not
// (https://www.rfc-editor.org/rfc/rfc5789#section-2.2).
func invalidResult(err error) error {
	e, ok := outcome.As(err)
	if !ok {
		return err
	}
	out := &outcome.Error{Status: http.StatusUnprocessableEntity}
	for _, is := range e.Issues {
		is.Diagnostics = "the patched resource is invalid: " + is.Diagnostics
		out.Issues = append(out.Issues, is)
	}
	return out
}

func patchResponse(result *store.Result) *Response {
	v := result.Version
	return &Response{Status: http.StatusOK, Version: v, Body: v.Content,
		Issues: outcome.Info("patched %s/%s to version %d", v.Type, v.ID, v.VersionID)}
}

// patchEntryIn patches a transaction entry's resource inside the Bundle's
// database transaction; match locks and resolves conditional criteria.
func (s *Service) patchEntryIn(ctx context.Context, tx store.Tx, r Request, op *entryOp, refs, remap map[string]string,
	match func(*entryOp, *search.Query) ([]string, error)) (*store.Result, error) {
	id := op.id
	if id == "" {
		q, err := s.criteria(Request{Base: r.Base, Type: op.typ, Query: op.query})
		if err != nil {
			return nil, err
		}
		ids, err := match(op, q)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, outcome.NotFound("no %s matches %s; a conditional patch changes an existing resource", op.typ, q.Canonical)
		}
		id = ids[0]
	}
	ifMatch, err := parseIfMatch(op.entry.Request.IfMatch)
	if err != nil {
		return nil, err
	}
	return s.patchIn(ctx, tx, patchJob{typ: op.typ, id: id, tenant: r.Tenant, base: r.Base, ifMatch: ifMatch, apply: op.patch, refs: refs, remap: remap})
}

// patchEntry reads a Bundle entry's patch
// (https://hl7.org/fhir/R4/http.html#transaction): a JSON Patch travels as
// a Binary with contentType application/json-patch+json and the document
// base64 in data; a FHIRPath Patch as the Parameters resource itself.
func patchEntry(raw json.RawMessage) (contentType string, body []byte, err error) {
	var head struct {
		ResourceType string `json:"resourceType"`
		ContentType  string `json:"contentType"`
		Data         string `json:"data"`
	}
	if len(raw) == 0 {
		return "", nil, outcome.Invalid("a PATCH entry needs a resource: a Binary holding a JSON Patch, or a FHIRPath Patch Parameters")
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return "", nil, outcome.New(http.StatusBadRequest, outcome.CodeStructure, "the PATCH entry's resource is not a JSON object: %v", err)
	}
	switch head.ResourceType {
	case "Parameters":
		return "application/fhir+json", raw, nil
	case "Binary":
		if head.ContentType != JSONPatchType {
			return "", nil, outcome.NotSupported(http.StatusUnsupportedMediaType, "a Binary patch must have contentType %s, not %q", JSONPatchType, head.ContentType).At("Binary.contentType")
		}
		doc, err := base64.StdEncoding.DecodeString(head.Data)
		if err != nil || len(doc) == 0 {
			return "", nil, outcome.Invalid("Binary.data must hold the JSON Patch document, base64-encoded").At("Binary.data")
		}
		return JSONPatchType, doc, nil
	}
	return "", nil, outcome.Invalid("a PATCH entry's resource is a Binary (JSON Patch) or a Parameters (FHIRPath Patch), not a %q", head.ResourceType).At("resourceType")
}
