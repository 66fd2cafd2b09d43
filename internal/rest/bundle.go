package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/mekong-fhir/mekong/fhir/bundle"
	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Bundle: POST [base] with a batch or transaction Bundle
// (https://hl7.org/fhir/R4/http.html#transaction).
func (s *Service) Bundle(ctx context.Context, r Request) (*Response, error) {
	b, err := decodeBundle(r.Body)
	if err != nil {
		return nil, err
	}
	ops := make([]*entryOp, len(b.Entry))
	for i := range b.Entry {
		op, err := s.entryOp(r.Base, i, &b.Entry[i])
		if err != nil {
			if b.Type == "batch" {
				ops[i] = &entryOp{index: i, entry: &b.Entry[i], err: err}
				continue
			}
			return nil, err
		}
		ops[i] = op
	}
	if b.Type == "batch" {
		return s.batch(ctx, r, ops), nil
	}
	return s.transaction(ctx, r, ops)
}

type entryIn struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *struct {
		Method          string `json:"method"`
		URL             string `json:"url"`
		IfNoneMatch     string `json:"ifNoneMatch"`
		IfModifiedSince string `json:"ifModifiedSince"`
		IfMatch         string `json:"ifMatch"`
		IfNoneExist     string `json:"ifNoneExist"`
	} `json:"request"`
}

type bundleIn struct {
	ResourceType string    `json:"resourceType"`
	Type         string    `json:"type"`
	Entry        []entryIn `json:"entry"`
}

func decodeBundle(body []byte) (*bundleIn, error) {
	if len(body) == 0 {
		return nil, outcome.Invalid("POST [base] needs a batch or transaction Bundle")
	}
	if _, err := fhirjson.Scan(body); err != nil {
		p, _ := resource.NewParser()
		_, perr := p.Parse(body) // renders the scanner's issues as an OperationOutcome
		return nil, perr
	}
	var b bundleIn
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, outcome.New(http.StatusBadRequest, outcome.CodeStructure, "the Bundle does not have the R4 shape: %v", err)
	}
	if b.ResourceType != "Bundle" {
		return nil, outcome.Invalid("POST [base] takes a Bundle, not a %s", b.ResourceType).At("resourceType")
	}
	if b.Type != "batch" && b.Type != "transaction" {
		return nil, outcome.Invalid("Bundle.type %q: POST [base] processes batch and transaction Bundles", b.Type).At("Bundle.type")
	}
	return &b, nil
}

// entryOp is one Bundle entry, decoded and (for writes) validated.
type entryOp struct {
	index  int
	entry  *entryIn
	method string
	typ    string
	id     string
	vid    int64
	query  url.Values
	path   string // "", "_history", "_search"
	res    *resource.Resource
	// a PATCH entry's document, its media type and the checked patch
	patchType string
	patchBody []byte
	patch     patcher
	// assigned by the transaction
	ctx      context.Context // the request's, restricted to the entry's action
	createID string
	write    store.Write
	refs     []search.ElementRef // the resource's references, for integrity
	result   *store.Result
	resp     *bundle.Response
	body     []byte
	err      error
}

func (op *entryOp) where() string {
	w := fmt.Sprintf("Bundle.entry[%d]", op.index)
	if op.entry != nil && op.entry.FullURL != "" {
		w += " (" + op.entry.FullURL + ")"
	}
	return w
}

// fail wraps an entry's error with where it happened.
func (op *entryOp) fail(err error) error {
	e, ok := outcome.As(err)
	if !ok {
		return err
	}
	out := &outcome.Error{Status: e.Status, Header: e.Header}
	entry := fmt.Sprintf("Bundle.entry[%d]", op.index)
	for _, is := range e.Issues {
		is.Diagnostics = op.where() + ": " + is.Diagnostics
		is.Expression = entryPaths(entry, is.Expression)
		out.Issues = append(out.Issues, is)
	}
	return out
}

// entryPaths roots an entry's issue expressions in the Bundle, so that each
// is one full FHIRPath: Patient.birthDate in entry 0 is
// Bundle.entry[0].resource.ofType(Patient).birthDate (the form FHIR
// validators use). An issue about the entry itself (its request, say), or
// without an expression, names Bundle.entry[i].
func entryPaths(entry string, exprs []string) []string {
	var out []string
	for _, x := range exprs {
		typ, rest, _ := strings.Cut(x, ".")
		if typ == "" || typ == "Bundle" || !isResourceTypeName(typ) {
			continue
		}
		p := entry + ".resource.ofType(" + typ + ")"
		if rest != "" {
			p += "." + rest
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return append([]string{entry}, exprs...)
	}
	return out
}

// isResourceTypeName reports whether s looks like a resource type (the
// root of a resource's FHIRPath): a capital ASCII letter, then letters.
func isResourceTypeName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// entryOp reads an entry's request (https://hl7.org/fhir/R4/bundle-definitions.html#Bundle.entry.request).
func (s *Service) entryOp(base string, i int, e *entryIn) (*entryOp, error) {
	op := &entryOp{index: i, entry: e}
	if e.Request == nil || e.Request.Method == "" || e.Request.URL == "" {
		return nil, op.fail(outcome.Invalid("entry.request with method and url is required in a batch or transaction"))
	}
	op.method = strings.ToUpper(e.Request.Method)
	raw := e.Request.URL
	// Only the path says whether the URL is absolute: criteria often hold
	// system URLs (identifier=http://...|N1).
	if p, _, _ := strings.Cut(raw, "?"); strings.Contains(p, "://") {
		if base == "" || !strings.HasPrefix(raw, strings.TrimRight(base, "/")+"/") {
			return nil, op.fail(outcome.Invalid("request.url %q is not on this server; use a relative URL such as Patient/123", raw))
		}
		raw = strings.TrimPrefix(raw, strings.TrimRight(base, "/")+"/")
	}
	path, rawQuery, _ := strings.Cut(strings.TrimPrefix(raw, "/"), "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, op.fail(outcome.Invalid("request.url %q has a malformed query: %v", e.Request.URL, err))
	}
	op.query = q
	parts := strings.Split(path, "/")
	if path == "" {
		parts = nil
	}
	switch {
	case len(parts) == 0:
	case len(parts) == 1:
		op.typ = parts[0]
	case len(parts) == 2 && (parts[1] == "_history" || parts[1] == "_search"):
		op.typ, op.path = parts[0], parts[1]
	case len(parts) == 2:
		op.typ, op.id = parts[0], parts[1]
	case len(parts) == 3 && parts[2] == "_history":
		op.typ, op.id, op.path = parts[0], parts[1], "_history"
	case len(parts) == 4 && parts[2] == "_history":
		n, err := strconv.ParseInt(parts[3], 10, 64)
		if err != nil || n < 1 {
			return nil, op.fail(outcome.Invalid("request.url %q: version %q is not a number", e.Request.URL, parts[3]))
		}
		op.typ, op.id, op.vid = parts[0], parts[1], n
	default:
		return nil, op.fail(outcome.Invalid("request.url %q is not an interaction Mekong serves in a Bundle", e.Request.URL))
	}
	if op.typ != "" && strings.HasPrefix(op.typ, "$") || strings.Contains(path, "$") {
		return nil, op.fail(outcome.NotSupported(http.StatusBadRequest, "operation %q is not supported in a Bundle", e.Request.URL))
	}
	if op.typ != "" {
		if err := s.checkType(op.typ); err != nil {
			return nil, op.fail(err)
		}
		if op.method != http.MethodGet && op.method != http.MethodHead {
			if err := s.checkWritable(op.typ); err != nil {
				return nil, op.fail(err)
			}
		}
	}
	needsResource := op.method == http.MethodPost || op.method == http.MethodPut
	switch op.method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if op.typ == "" || op.id != "" || op.path != "" {
			return nil, op.fail(outcome.Invalid("POST in a Bundle creates: request.url is the type, e.g. Patient"))
		}
	case http.MethodPut, http.MethodDelete:
		if op.typ == "" || op.path != "" || op.vid != 0 || (op.id == "" && len(q) == 0) {
			return nil, op.fail(outcome.Invalid("%s in a Bundle needs Type/id or Type?criteria", op.method))
		}
	case http.MethodPatch:
		if op.typ == "" || op.path != "" || op.vid != 0 || (op.id == "" && len(q) == 0) {
			return nil, op.fail(outcome.Invalid("PATCH in a Bundle needs Type/id or Type?criteria"))
		}
		if op.patchType, op.patchBody, err = patchEntry(e.Resource); err != nil {
			return nil, op.fail(err)
		}
		if op.patch, err = s.patcher(op.patchType, op.patchBody); err != nil {
			return nil, op.fail(err)
		}
	default:
		return nil, op.fail(outcome.Invalid("request.method %q is not GET, HEAD, POST, PUT, DELETE or PATCH", e.Request.Method))
	}
	if needsResource && len(e.Resource) == 0 {
		return nil, op.fail(outcome.Invalid("a %s entry needs a resource", op.method))
	}
	return op, nil
}

// batch processes each entry on its own (https://hl7.org/fhir/R4/http.html#brules).
func (s *Service) batch(ctx context.Context, r Request, ops []*entryOp) *Response {
	out := bundle.Bundle{Type: "batch-response", Timestamp: now()}
	for _, op := range ops {
		if op.err != nil { // already names its entry
			if op.entry != nil && op.entry.Request != nil {
				audit.Note(ctx, entryEvent(op, statusOf(op.err)))
			}
			out.Entries = append(out.Entries, entryResponse(r.Base, nil, op.err))
			continue
		}
		res, err := s.single(ctx, r, op)
		if err != nil && op.entry.Request != nil {
			audit.Note(ctx, entryEvent(op, statusOf(err)))
		}
		out.Entries = append(out.Entries, entryResponse(r.Base, res, op.fail(err)))
	}
	return &Response{Status: http.StatusOK, Body: out.JSON()}
}

// single runs one entry through the ordinary interaction.
func (s *Service) single(ctx context.Context, r Request, op *entryOp) (*Response, error) {
	req := Request{Base: r.Base, Type: op.typ, ID: op.id, VersionID: op.vid, Body: op.entry.Resource, Query: op.query,
		Tenant: r.Tenant, IfMatch: op.entry.Request.IfMatch, IfNoneMatch: op.entry.Request.IfNoneMatch, IfNoneExist: op.entry.Request.IfNoneExist}
	switch op.method {
	case http.MethodPost:
		return s.Create(ctx, req)
	case http.MethodPut:
		if op.id == "" {
			return s.ConditionalUpdate(ctx, req)
		}
		req.IfNoneMatch = op.entry.Request.IfNoneMatch
		return s.Update(ctx, req)
	case http.MethodDelete:
		if op.id == "" {
			return s.ConditionalDelete(ctx, req)
		}
		return s.Delete(ctx, req)
	case http.MethodPatch:
		req.Body, req.ContentType = op.patchBody, op.patchType
		if op.id == "" {
			return s.ConditionalPatch(ctx, req)
		}
		return s.Patch(ctx, req)
	}
	return s.get(ctx, req, op)
}

func (s *Service) get(ctx context.Context, req Request, op *entryOp) (*Response, error) {
	switch {
	case op.vid != 0:
		return s.VRead(ctx, req)
	case op.path == "_history":
		return s.History(ctx, req)
	case op.id != "":
		req.IfNoneMatch = ""
		res, err := s.Read(ctx, req)
		if err == nil && op.entry.Request.IfNoneMatch != "" && res.Version != nil && strings.TrimSpace(op.entry.Request.IfNoneMatch) == ETag(res.Version) {
			return &Response{Status: http.StatusNotModified, Version: res.Version}, nil
		}
		return res, err
	}
	return s.Search(ctx, req)
}

func entryResponse(base string, res *Response, err error) bundle.Entry {
	if err != nil {
		e, ok := outcome.As(err)
		if !ok {
			e = outcome.New(http.StatusInternalServerError, outcome.CodeException, "internal error processing this entry")
		}
		return bundle.Entry{Response: &bundle.Response{Status: statusLine(e.Status), Outcome: outcome.JSON(e.Issues)}}
	}
	e := bundle.Entry{Response: &bundle.Response{Status: statusLine(res.Status)}}
	if v := res.Version; v != nil {
		e.Response.Etag = ETag(v)
		e.Response.LastModified = resource.FormatInstant(v.LastUpdated)
		e.Response.Location = v.Type + "/" + v.ID + "/_history/" + itoa(v.VersionID)
		if len(res.Body) > 0 && !v.Deleted {
			e.FullURL = base + "/" + v.Type + "/" + v.ID
		}
	}
	if len(res.Body) > 0 {
		e.Resource = res.Body
	} else if res.Issues != nil {
		e.Response.Outcome = outcome.JSON(res.Issues)
	}
	return e
}

func statusLine(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }

// refPattern finds references in compact JSON.
var refPattern = regexp.MustCompile(`"reference":"([^"\\]*)"`)

// rewriteRefs replaces whole reference values found in m.
func rewriteRefs(b []byte, m map[string]string) []byte {
	if len(m) == 0 {
		return b
	}
	return refPattern.ReplaceAllFunc(b, func(match []byte) []byte {
		ref := string(match[len(`"reference":"`) : len(match)-1])
		if to, ok := m[ref]; ok {
			return []byte(`"reference":"` + to + `"`)
		}
		return match
	})
}

// compact removes whitespace so references appear as "reference":"...".
func compact(raw []byte) ([]byte, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// parallel runs fn over n items on every core: validating a transaction's
// resources (~150 µs each) is the bulk of its cost.
func parallel(n int, fn func(i int) error) error {
	workers := min(n, runtime.GOMAXPROCS(0))
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
